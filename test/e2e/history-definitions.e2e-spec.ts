import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { request as httpRequest } from 'node:http';
import { finish, Graph, resp, start, task } from '../support/casts';
import { castRunId, startApp, TestApp } from '../support/app';
import { listen } from '../support/app-hooks';
import { waitFor } from '../support/services';

/**
 * Each history row carries its task's definition (issue #13, part 4): Nailgun 10 merged every task's
 * definition from the run's graph snapshot (without `id`) into each row, and `fuel2 task history show ID
 * -p` prints what it got (it folds every key that is not a history column into a per-task table; the
 * request is the same with or without -p: `GET /api/v1/transactions/ID/deployment_history/?include_summary=0`).
 * Astute's graph is per node, and a task's definition may differ from node to node (its `requires` name
 * nodes): each row carries its own node's.
 */
describe('history rows carry their task definition, per node (fuel2 task history show -p)', () => {
  let t: TestApp;
  let port: number;
  const manifest = (id: string) => ({
    puppet_manifest: `/etc/puppet/modules/osnailyfacter/modular/netconfig/${id}.pp`,
    puppet_modules: '/etc/puppet/modules',
    timeout: 3600,
  });
  // As Nailgun's task_based_deployment serializer sends them: relations per node, naming nodes.
  const hiera = (node: string) => ({
    id: 'hiera',
    type: 'puppet',
    version: '2.1.0',
    roles: ['/.*/'],
    parameters: manifest('hiera'),
    requires: [],
    required_for: [{ name: 'netconfig', node_id: node }],
  });
  const netconfig = (node: string, role: string) => ({
    id: 'netconfig',
    type: 'puppet',
    version: '2.1.0',
    roles: [role],
    parameters: manifest('netconfig'),
    requires: [{ name: 'hiera', node_id: node }],
    required_for: [],
  });
  const graph: Graph = {
    '1': [hiera('1'), netconfig('1', 'primary-controller')],
    '2': [hiera('2'), netconfig('2', 'compute')],
    master: [{ id: 'upload_configuration', type: 'upload_file', parameters: { path: '/etc/fuel/cluster/astute.yaml', timeout: 180 } }],
    null: [{ id: 'post_deployment_start', type: 'stage' }],
  };
  const definitionOf = (def: Record<string, unknown>) => {
    const { id: _id, ...rest } = def;
    return rest;
  };
  /** The history columns of node 2's netconfig, never reported: its light row (include_definition=0). */
  const NETCONFIG_2_COLUMNS = {
    task_name: 'netconfig',
    node_id: '2',
    status: 'pending',
    type: 'puppet',
    time_start: null,
    time_end: null,
    error_message: null,
    closed_reason: null,
  };
  let id: number;
  const history = (q = '') => t.http().get(`/api/v1/transactions/${id}/deployment_history/${q}`);

  beforeAll(async () => {
    t = await startApp();
    port = await listen(t);
    const res = await t
      .http()
      .post('/api/v1/casts')
      .send([
        start('def-1', { id: 1, name: 'east', release: 'mitaka-9.0' }, graph, { time: '2020-02-01T10:00:00Z' }),
        resp('def-1', [
          task('1', 'hiera', 'ready', { time: '2020-02-01T10:01:00Z', summary: { resources: { changed: 2 } } }),
          task('2', 'hiera', 'ready', { time: '2020-02-01T10:01:30Z' }),
          task('1', 'netconfig', 'error', {
            time: '2020-02-01T10:02:00Z',
            error_msg: 'netconfig failed',
            custom: { attempt: 2, parameters: 'reported' },
          }),
          // A task the run did not announce: recorded, with no definition.
          task('2', 'unannounced', 'ready', { time: '2020-02-01T10:03:00Z' }),
        ]),
      ])
      .expect(200);
    id = res.body[0].transaction_id;
  });
  afterAll(() => t?.close());

  const byKey = (rows: Array<Record<string, unknown>>) => new Map(rows.map((r) => [`${String(r.node_id)}/${String(r.task_name)}`, r]));

  it("fuel2's exact request: every row carries its node's definition (no id); the row's own fields and custom keys win", async () => {
    const res = await history('?include_summary=0').expect(200);
    const rows = byKey(res.body);
    expect(rows.get('1/netconfig')).toEqual({
      ...definitionOf(netconfig('1', 'primary-controller')),
      // custom keys over the definition's (the row's own report is the more specific)
      attempt: 2,
      parameters: 'reported',
      task_name: 'netconfig',
      node_id: '1',
      status: 'error',
      type: 'puppet',
      time_start: '2020-02-01T10:02:00.000Z',
      time_end: '2020-02-01T10:02:00.000Z',
      error_message: 'netconfig failed',
      closed_reason: null,
    });
    expect(rows.get('2/netconfig')).toEqual({ ...definitionOf(netconfig('2', 'compute')), ...NETCONFIG_2_COLUMNS });
    expect(rows.get('1/hiera')).toMatchObject({
      parameters: manifest('hiera'),
      requires: [],
      required_for: [{ name: 'netconfig', node_id: '1' }],
      roles: ['/.*/'],
      version: '2.1.0',
    });
    expect(rows.get('2/hiera')).toMatchObject({ required_for: [{ name: 'netconfig', node_id: '2' }] });
    expect(rows.get('master/upload_configuration')).toMatchObject({
      parameters: { path: '/etc/fuel/cluster/astute.yaml', timeout: 180 },
      type: 'upload_file',
    });
    expect(rows.get('null/post_deployment_start')).toEqual(expect.objectContaining({ type: 'stage', status: 'pending' }));
    expect(rows.get('2/unannounced')).toEqual({
      task_name: 'unannounced',
      node_id: '2',
      status: 'ready',
      type: null,
      time_start: '2020-02-01T10:03:00.000Z',
      time_end: '2020-02-01T10:03:00.000Z',
      error_message: null,
      closed_reason: null,
    });
    for (const r of res.body) {
      expect(r).not.toHaveProperty('id');
      expect(r).not.toHaveProperty('summary');
    }
  });

  it('with the filters fuel2 sends (nodes=1%2C2&statuses=...&tasks_names=...&include_summary=1)', async () => {
    const res = await history('?nodes=1%2C2&statuses=ready%2Cerror&tasks_names=hiera%2Cnetconfig&include_summary=1').expect(200);
    expect(res.body.map((r: { node_id: string; task_name: string }) => `${String(r.node_id)}/${String(r.task_name)}`)).toEqual([
      '1/hiera',
      '1/netconfig',
      '2/hiera',
    ]);
    expect(res.body[0]).toMatchObject({
      summary: { resources: { changed: 2 } },
      parameters: manifest('hiera'),
      required_for: [{ name: 'netconfig', node_id: '1' }],
    });
    expect(res.body[1]).toMatchObject({ summary: null, roles: ['primary-controller'], requires: [{ name: 'hiera', node_id: '1' }] });
  });

  it('include_definition=0 gives the light rows (the columns alone); a bad value is a 400', async () => {
    const light = (await history('?include_definition=0').expect(200)).body;
    expect(byKey(light).get('2/netconfig')).toEqual(NETCONFIG_2_COLUMNS);
    expect(byKey(light).get('1/netconfig')).toMatchObject({ attempt: 2, parameters: 'reported' });
    expect(byKey(light).get('1/hiera')).not.toHaveProperty('requires');
    expect((await history('?include_definition=1').expect(200)).body).toEqual((await history().expect(200)).body);
    const bad = await history('?include_definition=banana').expect(400);
    expect(bad.body.message).toMatch(/include_definition must be one of/);
  });

  it('a page of the run carries definitions too (unless include_definition=0), and the cursor goes on', async () => {
    const first = await history('?limit=2&order=time_start').expect(200);
    expect(first.body.map((r: { node_id: string; task_name: string }) => `${String(r.node_id)}/${String(r.task_name)}`)).toEqual([
      '1/hiera',
      '2/hiera',
    ]);
    expect(first.body[1]).toMatchObject({ required_for: [{ name: 'netconfig', node_id: '2' }] });
    const next = first.headers.link.match(/<([^>]+)>/)![1];
    const second = await t.http().get(next).expect(200);
    expect(second.body[0]).toMatchObject({ node_id: '1', task_name: 'netconfig', requires: [{ name: 'hiera', node_id: '1' }], attempt: 2 });
    const light = await history('?limit=2&order=time_start&include_definition=0').expect(200);
    expect(light.body[1]).not.toHaveProperty('required_for');
    // The same cursor serves either shape: the shape does not decide which rows come.
    expect((await t.http().get(`${next}&include_definition=0`).expect(200)).body[0]).not.toHaveProperty('requires');
  });

  it("CSV keeps Fuel's columns", async () => {
    const res = await history('?nodes=1').set('Accept', 'text/csv').expect(200);
    expect(res.text.split('\r\n')[0]).toBe('task_name,node_id,status,type,time_start,time_end');
    expect(res.text).not.toMatch(/puppet_manifest/);
  });

  it('cross-run lists carry no definition and refuse include_definition', async () => {
    const rows = (await t.http().get('/api/v1/clusters/1/deployment_history').expect(200)).body;
    expect(rows.find((r: { task_name: string; node_id: string }) => r.task_name === 'netconfig' && r.node_id === '1')).not.toHaveProperty(
      'requires',
    );
    const node = (await t.http().get('/api/v1/clusters/1/nodes/1/deployment_history').expect(200)).body;
    expect(node[0]).not.toHaveProperty('requires');
    const refused = await t.http().get('/api/v1/clusters/1/deployment_history?include_definition=0').expect(400);
    expect(refused.body.details.parameters).toEqual(['include_definition']);
  });

  it("the task's detail gives its own node's definition, in both forms", async () => {
    const one = (await history('1/netconfig').expect(200)).body;
    expect(one.definition).toEqual(netconfig('1', 'primary-controller'));
    const two = (await t.http().get(`/api/v1/transactions/${id}/deployment_history/task?node_id=2&task_name=netconfig`).expect(200)).body;
    expect(two.definition).toEqual(netconfig('2', 'compute'));
    expect((await history('2/unannounced').expect(200)).body.definition).toBeNull();
    expect((await history('null/post_deployment_start').expect(200)).body.definition).toEqual({
      id: 'post_deployment_start',
      type: 'stage',
    });
  });

  it('the live stream sends the light rows (its clients show statuses; the definition is one request away)', async () => {
    const events: string[] = [];
    const req = httpRequest(
      { host: '127.0.0.1', port, path: `/api/v1/transactions/${id}/deployment_history/stream`, headers: { Accept: 'text/event-stream' } },
      (r) => {
        r.setEncoding('utf8');
        r.on('data', (chunk: string) => events.push(chunk));
      },
    );
    req.end();
    try {
      await waitFor(() => events.join('').includes('event: rows'), 'the first rows');
      const data = events
        .join('')
        .split('event: rows\n')[1]
        .split('\n')
        .find((l) => l.startsWith('data: '))!;
      const rows = JSON.parse(data.slice(6));
      expect(rows).toHaveLength(7);
      expect(byKey(rows).get('2/netconfig')).not.toHaveProperty('requires');
    } finally {
      req.destroy();
    }
  });

  describe("a finished large run's kept list", () => {
    let big: number;
    beforeAll(async () => {
      const g: Graph = {};
      for (let n = 1; n <= 15; n++)
        g[String(n)] = Array.from({ length: 100 }, (_, k) => ({
          id: `t-${k}`,
          type: 'puppet',
          requires: [{ name: `t-${k - 1}`, node_id: String(n) }],
        }));
      big = await castRunId(t, [start('def-big', { id: 2, release: 'mitaka-9.0' }, g), finish('def-big', 'ready')]);
    });

    it('is kept with definitions, in the current row shape, and served whole from there', async () => {
      const built = await t.http().get(`/api/v1/transactions/${big}/deployment_history/?include_summary=0`).expect(200);
      const first = built.body;
      expect(first).toHaveLength(1500);
      expect(first.find((r: { node_id: string; task_name: string }) => r.node_id === '7' && r.task_name === 't-3')).toMatchObject({
        requires: [{ name: 't-2', node_id: '7' }],
      });
      const [kept] = (await t.sql.query('SELECT list_cache IS NOT NULL AS kept, list_cache_shape FROM transactions WHERE id = $1', [big]))
        .rows;
      expect(kept).toEqual({ kept: true, list_cache_shape: expect.any(Number) });
      // Kept as gzip and as brotli of the list served.
      const [{ list_cache: gz, list_cache_br: br }] = (
        await t.sql.query('SELECT list_cache, list_cache_br FROM transactions WHERE id = $1', [big])
      ).rows;
      expect(JSON.parse(gunzipSync(gz as Buffer).toString())).toEqual(first);
      expect(JSON.parse(brotliDecompressSync(br as Buffer).toString())).toEqual(first);
      // The answer that kept it was already the kept one (supertest takes gzip): the next has its ETag.
      expect(built.headers['content-encoding']).toBe('gzip');
      const next = await t.http().get(`/api/v1/transactions/${big}/deployment_history`).expect(200);
      expect(next.headers.etag).toBe(built.headers.etag);
      // What is kept is what is served (marked to tell it apart): as kept, in the encoding the client takes...
      const marked = { gzip: gzipSync('[{"kept": "gzip"}]'), br: brotliCompressSync('[{"kept": "br"}]') };
      await t.sql.query(`UPDATE transactions SET list_cache = $2, list_cache_br = $3 WHERE id = $1`, [big, marked.gzip, marked.br]);
      const get = (acceptEncoding: string) =>
        t.http().get(`/api/v1/transactions/${big}/deployment_history`).set('Accept-Encoding', acceptEncoding).expect(200);
      for (const [asked, encoding] of [
        ['gzip', 'gzip'],
        ['gzip, deflate', 'gzip'],
        ['gzip, deflate, br', 'br'],
        ['br', 'br'],
      ] as const) {
        const a = await get(asked);
        const sent = marked[encoding];
        expect({ asked, encoding: a.headers['content-encoding'], length: a.headers['content-length'] }).toEqual({
          asked,
          encoding,
          length: String(sent.length),
        });
        expect(a.headers['content-type']).toMatch(/^application\/json/);
        expect(a.headers.vary).toMatch(/Accept-Encoding/i);
        expect(a.body).toEqual([{ kept: encoding }]);
      }
      // ...inflated (from the gzip) for one that takes neither,
      const plain = await get('identity');
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.body).toEqual([{ kept: 'gzip' }]);
      // ...but never for light rows,
      expect((await t.http().get(`/api/v1/transactions/${big}/deployment_history?include_definition=0`).expect(200)).body).toHaveLength(
        1500,
      );
      // ...and revalidated as any other read: each kept encoding has its own ETag (of the bytes sent), a
      // client that names it gets 304 without the list; one that names another gets the list.
      for (const asked of ['gzip', 'br']) {
        const a = await get(asked);
        expect(a.headers.etag).toMatch(/^"[\w-]{20,}"$/);
        const again = await t
          .http()
          .get(`/api/v1/transactions/${big}/deployment_history`)
          .set('Accept-Encoding', asked)
          .set('If-None-Match', a.headers.etag)
          .expect(304);
        expect({ etag: again.headers.etag, vary: again.headers.vary, body: again.text ?? '' }).toEqual({
          etag: a.headers.etag,
          vary: expect.stringMatching(/Accept-Encoding/i),
          body: '',
        });
        await t
          .http()
          .get(`/api/v1/transactions/${big}/deployment_history`)
          .set('Accept-Encoding', asked)
          .set('If-None-Match', '"another"')
          .expect(200);
      }
      expect((await get('gzip')).headers.etag).not.toEqual((await get('br')).headers.etag);
      // What is kept changes (here by hand; in the service only by being forgotten and kept again): so does its ETag.
      const before = (await get('gzip')).headers.etag;
      await t.sql.query(`UPDATE transactions SET list_cache = $2 WHERE id = $1`, [big, gzipSync('[{"kept": "again"}]')]);
      const changed = await t
        .http()
        .get(`/api/v1/transactions/${big}/deployment_history`)
        .set('Accept-Encoding', 'gzip')
        .set('If-None-Match', before)
        .expect(200);
      expect(changed.body).toEqual([{ kept: 'again' }]);
      expect(changed.headers.etag).not.toEqual(before);
      await t.sql.query(`UPDATE transactions SET list_cache = $2 WHERE id = $1`, [big, marked.gzip]);
      // ...and never when kept in another shape (before this version, or by an older instance): built afresh.
      await t.sql.query(`UPDATE transactions SET list_cache_shape = NULL WHERE id = $1`, [big]);
      expect((await t.http().get(`/api/v1/transactions/${big}/deployment_history`).expect(200)).body).toEqual(first);
      await t.sql.query(
        `UPDATE transactions SET list_cache = $2, list_cache_br = $3, list_cache_shape = list_cache_shape - 1 WHERE id = $1 AND list_cache_shape IS NOT NULL`,
        [big, marked.gzip, marked.br],
      );
      expect((await t.http().get(`/api/v1/transactions/${big}/deployment_history`).expect(200)).body).toEqual(first);
    });
  });

  it('deleting the run removes its per-node definitions with it', async () => {
    const [{ n }] = (await t.sql.query('SELECT count(*)::int AS n FROM node_task_definitions WHERE transaction_id = $1', [id])).rows;
    expect(n).toBeGreaterThan(0);
    await t.http().post('/api/v1/casts').send(finish('def-1', 'error')).expect(200);
    await t.http().delete(`/api/v1/clusters/1/deployment_history?before=2100-01-01T00:00:00Z`).expect(200);
    expect((await t.sql.query('SELECT count(*)::int AS n FROM node_task_definitions WHERE transaction_id = $1', [id])).rows[0].n).toBe(0);
  });
});
