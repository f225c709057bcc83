import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { finish, Graph, oneTaskRun, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';

/**
 * Issue #16 item 8 ("lists do not scale") and item 10's node identity, on the API side: a cluster's runs
 * paged with a status filter and each run's counts and first failure from the list query itself
 * (GET /clusters/:id/runs), a run's nodes with roles and host names (GET /transactions/:id/nodes), and
 * the status of a cluster's last run in its answer. The real app on a fresh database; every expected value
 * is exact.
 */
describe('runs page, run nodes, last run status', () => {
  let t: TestApp;
  const get = (path: string) => t.http().get(`/api/v1${path}`);

  async function cast(...casts: unknown[]): Promise<Array<Record<string, any>>> {
    const res = await t.http().post('/api/v1/casts').send(casts);
    if (res.status !== 200) throw new Error(`POST /casts answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }
  async function run(...casts: unknown[]): Promise<number> {
    const [first] = await cast(...casts);
    expect(first.outcome).toBe('started');
    return first.transaction_id;
  }

  const paged = { id: 301, name: 'paged', release: 'mitaka-9.0' };
  const legacy = { id: 302, name: 'legacy', release: 'liberty-8.0' };
  const empty = { id: 303, name: 'empty', release: 'mitaka-9.0' };
  const at = (hms: string) => `2025-06-01T${hms}Z`;
  const graph: Graph = {
    null: [{ id: 'post_deployment_start', type: 'stage' }],
    master: [{ id: 'upload_configuration', type: 'upload_file' }],
    '1': [
      { id: 'hiera', type: 'puppet' },
      { id: 'netconfig', type: 'puppet' },
    ],
    '2': [
      { id: 'hiera', type: 'puppet' },
      { id: 'netconfig', type: 'puppet' },
    ],
    '10': [{ id: 'hiera', type: 'puppet' }],
  };
  const NODES = {
    '10': { roles: ['compute'], hostname: 'node-10.domain.tld' },
    '2': { roles: ['compute', 'ceph-osd'] },
    '1': { roles: ['controller'], hostname: 'node-1.domain.tld' },
    master: { roles: ['master'], hostname: 'fuel.domain.tld' },
  };

  // Runs of cluster 301, oldest first: r[0] ready … r[6] just started.
  const r: number[] = [];
  let legacyRun: number;

  beforeAll(async () => {
    t = await startApp();
    await t.http().put('/api/v1/clusters/303').send({ name: empty.name, release: empty.release }).expect(201);
    // r0: ready, every task ready; its nodes described (args.nodes).
    r.push(
      await run(
        start('p0', paged, graph, { time: at('10:00:00'), nodes: NODES }),
        resp('p0', [
          task(null, 'post_deployment_start', 'ready', { time: at('10:00:01') }),
          task('master', 'upload_configuration', 'ready', { time: at('10:00:02') }),
          task('1', 'hiera', 'ready', { time: at('10:00:03') }),
          task('1', 'netconfig', 'ready', { time: at('10:00:04') }),
          task('2', 'hiera', 'ready', { time: at('10:00:05') }),
          task('2', 'netconfig', 'ready', { time: at('10:00:06') }),
          task('10', 'hiera', 'ready', { time: at('10:00:07') }),
        ]),
        finish('p0', 'ready', { time: at('10:00:08') }),
      ),
    );
    // r1: error on node 2's hiera; its netconfig never ran (skipped when the run ended).
    r.push(
      await run(
        start('p1', paged, graph, { time: at('11:00:00') }),
        resp('p1', [
          task('1', 'hiera', 'ready', { time: at('11:00:03') }),
          task('2', 'hiera', 'running', { time: at('11:00:03') }),
          task('2', 'hiera', 'error', { time: at('11:00:09'), error_msg: 'hiera failed on node-2' }),
        ]),
        finish('p1', 'error', { time: at('11:00:10') }),
      ),
    );
    // r2: stopped with node 1's netconfig running: closed out as an error whose message is the close-out reason.
    r.push(
      await run(
        start('p2', paged, graph, { time: at('12:00:00') }),
        resp('p2', [task('1', 'netconfig', 'running', { time: at('12:00:01') })]),
        finish('p2', 'stopped', { time: at('12:00:05'), error: 'stopped by the operator' }),
      ),
    );
    // r3: ready.
    r.push(
      await run(
        start('p3', paged, graph, { time: at('13:00:00') }),
        resp('p3', [task('1', 'hiera', 'ready', { time: at('13:00:01') })]),
        finish('p3', 'ready', { time: at('13:00:02') }),
      ),
    );
    // r4: error: a task closed out earlier and a reported failure later; the reported one is the first failure.
    r.push(
      await run(
        start('p4', paged, graph, { time: at('14:00:00') }),
        resp('p4', [
          task('1', 'hiera', 'running', { time: at('14:00:01') }),
          task('10', 'hiera', 'running', { time: at('14:00:01') }),
          task('10', 'hiera', 'error', { time: at('14:00:20'), error_msg: 'ceph-deploy failed' }),
        ]),
        finish('p4', 'error', { time: at('14:00:30') }),
      ),
    );
    // r5: running, one task done, one running.
    r.push(
      await run(
        start('p5', paged, graph, { time: at('15:00:00') }),
        resp('p5', [task('1', 'hiera', 'ready', { time: at('15:00:01') }), task('2', 'hiera', 'running', { time: at('15:00:01') })]),
      ),
    );
    // r6: just started (running, no task reported yet).
    r.push(await run(start('p6', paged, graph, { time: at('16:00:00') })));
    legacyRun = await run(start('l0', legacy, { '1': [{ id: 'hiera', type: 'puppet' }] }, { time: at('09:00:00') }));
    // r1's summary is read (and kept: it is finished); r4's is not before the list: both ways of counting are used.
    await get(`/transactions/${r[1]}/deployment_history/summary`).expect(200);
  }, 60_000);

  afterAll(() => t?.close());

  const STATUSES = { pending: 0, running: 0, ready: 0, error: 0, skipped: 0 };
  const BY_STATUS = { pending: 0, running: 2, ready: 2, error: 2, stopped: 1 };
  const ids = (body: { runs: Array<{ id: number }> }) => body.runs.map((x) => x.id);

  it('pages a cluster runs newest first, with totals and every run status counted', async () => {
    const kept = await t.sql.query(`SELECT id FROM transactions WHERE summary_cache IS NOT NULL AND cluster_id = 301 ORDER BY id`);
    expect(kept.rows.map((x) => x.id)).toEqual([r[1]]); // so the list reads both a kept summary and rows

    const p1 = await get('/clusters/301/runs?limit=3').expect(200);
    expect({ ...p1.body, runs: ids(p1.body) }).toEqual({
      total: 7,
      page: 1,
      limit: 3,
      pages: 3,
      by_status: BY_STATUS,
      runs: [r[6], r[5], r[4]],
    });
    const p2 = await get('/clusters/301/runs?limit=3&page=2').expect(200);
    expect({ ...p2.body, runs: ids(p2.body) }).toEqual({
      total: 7,
      page: 2,
      limit: 3,
      pages: 3,
      by_status: BY_STATUS,
      runs: [r[3], r[2], r[1]],
    });
    const p3 = await get('/clusters/301/runs?limit=3&page=3').expect(200);
    expect({ ...p3.body, runs: ids(p3.body) }).toEqual({ total: 7, page: 3, limit: 3, pages: 3, by_status: BY_STATUS, runs: [r[0]] });
    const past = await get('/clusters/301/runs?limit=3&page=4').expect(200);
    expect({ ...past.body, runs: ids(past.body) }).toEqual({ total: 7, page: 4, limit: 3, pages: 3, by_status: BY_STATUS, runs: [] });

    // The defaults: 50 a page, page 1; each run carries every field of GET /transactions/:id.
    const all = await get('/clusters/301/runs').expect(200);
    expect([all.body.page, all.body.limit, all.body.pages, all.body.total]).toEqual([1, 50, 1, 7]);
    expect(ids(all.body)).toEqual([...r].reverse());
    for (const item of all.body.runs) {
      const { tasks: _t, first_failure: _f, ...transaction } = item;
      expect(transaction).toEqual((await get(`/transactions/${item.id}`).expect(200)).body);
    }
  });

  it('filters by run status, by_status still counting every run', async () => {
    const res = await get('/clusters/301/runs?statuses=error,stopped').expect(200);
    expect({ ...res.body, runs: ids(res.body) }).toEqual({
      total: 3,
      page: 1,
      limit: 50,
      pages: 1,
      by_status: BY_STATUS,
      runs: [r[4], r[2], r[1]],
    });
    // The key repeated means the same; a status given twice is counted once.
    const again = await get('/clusters/301/runs?statuses=error&statuses=stopped&statuses=error').expect(200);
    expect(again.body).toEqual(res.body);
    const none = await get('/clusters/303/runs?statuses=ready').expect(200);
    expect(none.body).toEqual({ total: 0, page: 1, limit: 50, pages: 0, by_status: zeroRuns(), runs: [] });
  });

  it("gives each run's task counts and first failure exactly as its summary does", async () => {
    const res = await get('/clusters/301/runs').expect(200);
    const byId = new Map(res.body.runs.map((x: any) => [x.id, x]));
    const expected: Record<number, unknown> = {
      [r[0]]: { tasks: { total: 7, statuses: { ...STATUSES, ready: 7 } }, first_failure: null },
      [r[1]]: {
        tasks: { total: 7, statuses: { ...STATUSES, ready: 1, error: 1, skipped: 5 } },
        first_failure: { node_id: '2', task_name: 'hiera', error_message: 'hiera failed on node-2' },
      },
      [r[4]]: {
        tasks: { total: 7, statuses: { ...STATUSES, error: 2, skipped: 5 } },
        first_failure: { node_id: '10', task_name: 'hiera', error_message: 'ceph-deploy failed' },
      },
      [r[5]]: { tasks: { total: 7, statuses: { ...STATUSES, pending: 5, running: 1, ready: 1 } }, first_failure: null },
      [r[6]]: { tasks: { total: 7, statuses: { ...STATUSES, pending: 7 } }, first_failure: null },
    };
    for (const [id, want] of Object.entries(expected)) {
      const item = byId.get(Number(id)) as any;
      expect({ id: item.id, tasks: item.tasks, first_failure: item.first_failure }).toEqual({ id: Number(id), ...(want as object) });
    }
    // Every run against its own summary (r2's failure is a close-out: its message is the reason).
    for (const item of res.body.runs) {
      const s = (await get(`/transactions/${item.id}/deployment_history/summary`).expect(200)).body;
      expect(item.tasks).toEqual({ total: s.total, statuses: s.statuses });
      const f = s.first_failure;
      expect(item.first_failure).toEqual(f && { node_id: f.node_id, task_name: f.task_name, error_message: f.error_message });
    }
    const stopped = byId.get(r[2]) as any;
    expect(stopped.first_failure).toMatchObject({ node_id: '1', task_name: 'netconfig' });
    expect(stopped.first_failure.error_message).toMatch(/stopped by the operator/);
    // Now that every finished run keeps its summary, the list reads them and still says the same.
    const again = await get('/clusters/301/runs').expect(200);
    expect(again.body).toEqual(res.body);
  });

  it('counts a page of 50 runs in as many statements as a page of 2 (never one per run)', async () => {
    const many = { id: 304, name: 'many', release: 'mitaka-9.0' };
    await cast(...Array.from({ length: 60 }, (_, i) => oneTaskRun(`many-${i}`, many)).flat());
    // Half of them keep their summary (read once), half are counted from their rows.
    const first = (await get('/clusters/304/runs?limit=60').expect(200)).body.runs as Array<{ id: number }>;
    for (const x of first.filter((_, i) => i % 2)) await get(`/transactions/${x.id}/deployment_history/summary`).expect(200);
    const statements = async (query: string) => {
      const spy = jest.spyOn(PostgresQueryRunner.prototype, 'query');
      try {
        const res = await get(`/clusters/304/runs?${query}`).expect(200);
        return { runs: res.body.runs.length, statements: spy.mock.calls.length };
      } finally {
        spy.mockRestore();
      }
    };
    const [small, page] = [await statements('limit=2'), await statements('limit=50')];
    console.log(`statements for a page of 2 runs: ${small.statements}, of 50 runs: ${page.statements}`);
    expect({ small: small.runs, page: page.runs }).toEqual({ small: 2, page: 50 });
    expect(page.statements).toBe(small.statements);
    // Five for the list, and one that finds no run's plan waiting to be stored (PlansMaterialized).
    expect(page.statements).toBeLessThanOrEqual(6);
  });

  it('says null for the tasks of a run whose tasks were not recorded (pre-9.0)', async () => {
    const res = await get('/clusters/302/runs').expect(200);
    expect(res.body.total).toBe(1);
    expect(res.body.runs).toHaveLength(1);
    expect(res.body.runs[0]).toMatchObject({ id: legacyRun, cluster: 302, status: 'running', tasks: null, first_failure: null });
  });

  it.each([
    ['limit=0', /limit must be an integer from 1 to 200/],
    ['limit=201', /limit must be an integer from 1 to 200/],
    ['limit=ten', /limit must be an integer from 1 to 200/],
    ['page=0', /page must be an integer/],
    ['page=1.5', /page must be an integer/],
    ['statuses=error,broken', /statuses must be among: pending, running, ready, error, stopped/],
    ['sort=id', /\bsort\b/],
    ['limit=3&limit=4', /\blimit\b/],
  ])('answers 400 naming the parameter for ?%s', async (query, message) => {
    const res = await get(`/clusters/301/runs?${query}`).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect([res.body.message].flat().join('; ')).toMatch(message);
  });

  it('answers 404 for an unknown cluster or run, 400 for a malformed id', async () => {
    expect((await get('/clusters/999/runs').expect(404)).body.message).toMatch(/999/);
    expect((await get('/transactions/999999/nodes').expect(404)).body.message).toBe('Transaction not found');
    await get('/clusters/abc/runs').expect(400);
    await get('/transactions/abc/nodes').expect(400);
  });

  it("lists a run's nodes with roles and host names in node order, [] when never described", async () => {
    const res = await get(`/transactions/${r[0]}/nodes`).expect(200);
    expect(res.body).toEqual([
      { node_id: 'master', roles: ['master'], hostname: 'fuel.domain.tld' },
      { node_id: '1', roles: ['controller'], hostname: 'node-1.domain.tld' },
      { node_id: '2', roles: ['compute', 'ceph-osd'], hostname: null },
      { node_id: '10', roles: ['compute'], hostname: 'node-10.domain.tld' },
    ]);
    expect((await get(`/transactions/${r[1]}/nodes`).expect(200)).body).toEqual([]);
    expect((await get(`/transactions/${legacyRun}/nodes`).expect(200)).body).toEqual([]);
  });

  it('gives each cluster the status of its last run (null without one)', async () => {
    expect((await get('/clusters/301').expect(200)).body).toMatchObject({ last_transaction_id: r[6], last_transaction_status: 'running' });
    const list = (await get('/clusters').expect(200)).body as Array<{ id: number; last_transaction_status: string | null }>;
    expect(Object.fromEntries(list.map((c) => [c.id, c.last_transaction_status]))).toEqual({
      301: 'running',
      302: 'running',
      303: null,
      304: 'ready',
    });
    await cast(finish('p6', 'error', { time: at('16:00:10') }));
    expect((await get('/clusters/301').expect(200)).body.last_transaction_status).toBe('error');
  });

  function zeroRuns() {
    return { pending: 0, running: 0, ready: 0, error: 0, stopped: 0 };
  }
});
