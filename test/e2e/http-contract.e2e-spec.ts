import { finish, resp, SMALL_GRAPH, start, task } from '../support/casts';
import { postCasts, startApp, TestApp } from '../support/app';

/** The HTTP contract: Fuel's shapes and every error answer, on the real app and database. */
describe('HTTP contract', () => {
  let t: TestApp;
  let txId: number;
  let oldTxId: number;

  beforeAll(async () => {
    t = await startApp();
    const started = await postCasts(t, [
      start('http-1', { id: 10, name: 'east', release: 'mitaka-9.0' }, SMALL_GRAPH),
      resp('http-1', [
        task('1', 'netconfig', 'running', { time: '2026-01-01T10:00:00Z' }),
        task('1', 'netconfig', 'ready', { time: '2026-01-01T10:01:00Z', summary: { resources: { changed: 3 } }, custom: { attempt: 1 } }),
        task('2', 'netconfig', 'error', { time: '2026-01-01T10:02:00Z', error_msg: 'Task netconfig failed on node node-2' }),
        task(null, 'post_deployment_start', 'ready', { time: '2026-01-01T09:59:00Z' }),
      ]),
      start('http-old', { id: 11, name: 'legacy', release: 'liberty-8.0' }, SMALL_GRAPH),
    ]);
    txId = started[0].transaction_id!;
    oldTxId = started[2].transaction_id!;
  });
  afterAll(() => t?.close());

  describe('version and health', () => {
    it('GET /api/v1/version says no auth is required (fuel2 asks first)', async () => {
      const res = await t.http().get('/api/v1/version').expect(200);
      expect(res.body.auth_required).toBe(false);
    });
    it('GET /health and /health/ready answer ok with the database up', async () => {
      await t.http().get('/health').expect(200);
      const ready = await t.http().get('/health/ready').expect(200);
      expect(ready.body.info.database.status).toBe('up');
    });
  });

  describe('paths', () => {
    it.each(['/api/v1/transactions', '/api/v1/transactions/', '/api/transactions', '/api/transactions/'])('serves %s', async (path) => {
      const res = await t.http().get(path).expect(200);
      expect(res.body.map((x: { uuid: string }) => x.uuid)).toEqual(['http-1', 'http-old']);
    });
    it('serves the history under /api/ and /api/v1/, with or without trailing slash', async () => {
      for (const p of [`/api/v1/transactions/${txId}/deployment_history`, `/api/transactions/${txId}/deployment_history/`]) {
        const res = await t.http().get(p).expect(200);
        expect(res.body).toHaveLength(5);
      }
    });
  });

  describe('transactions', () => {
    /** Every key of Nailgun 10's TransactionSerializer (nailgun/objects/serializers/transaction.py), in its order. */
    const NAILGUN_KEYS = [
      'id',
      'cluster',
      'uuid',
      'name',
      'result',
      'message',
      'status',
      'progress',
      'dry_run',
      'graph_type',
      'time_start',
      'time_end',
    ];
    it("lists runs with every key of Nailgun 10's transaction serializer, plus parent_id and epoch", async () => {
      const res = await t.http().get('/api/v1/transactions/?cluster_id=10').expect(200);
      expect(res.body).toHaveLength(1);
      expect(Object.keys(res.body[0]).sort()).toEqual([...NAILGUN_KEYS, 'parent_id', 'epoch'].sort());
      expect(res.body[0]).toMatchObject({
        id: txId,
        cluster: 10,
        uuid: 'http-1',
        name: 'deployment',
        status: 'running',
        dry_run: false,
        graph_type: 'default',
      });
      expect(res.body[0].time_start).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });
    it("result is Nailgun's default, {}, in the list and in one run (fuel2's task list and task show columns)", async () => {
      // fuel2 task list: id status name graph_type cluster result dry_run progress; task show adds uuid and message.
      const FUEL2_COLUMNS = ['id', 'uuid', 'status', 'name', 'graph_type', 'cluster', 'result', 'dry_run', 'progress', 'message'];
      const list = (await t.http().get('/api/v1/transactions/').expect(200)).body;
      const one = (await t.http().get(`/api/v1/transactions/${txId}/`).expect(200)).body;
      for (const run of [...list, one]) {
        expect(run.result).toEqual({});
        for (const column of FUEL2_COLUMNS) expect(run).toHaveProperty(column);
      }
      expect(one).toEqual(list.find((r: { id: number }) => r.id === txId));
    });
    it('filters by status and type', async () => {
      expect((await t.http().get('/api/v1/transactions?statuses=running,ready').expect(200)).body).toHaveLength(2);
      expect((await t.http().get('/api/v1/transactions?statuses=error').expect(200)).body).toHaveLength(0);
      expect((await t.http().get('/api/v1/transactions?transaction_types=provision').expect(200)).body).toHaveLength(0);
      expect((await t.http().get('/api/v1/transactions?transaction_types=deployment&statuses=').expect(200)).body).toHaveLength(2);
    });
    it('400 for a bad filter value, with a clear message', async () => {
      const bad = await t.http().get('/api/v1/transactions?statuses=running,banana').expect(400);
      expect(bad.body.message).toBe('Statuses parameter could only be one of: pending, running, ready, error, stopped');
      const badCluster = await t.http().get('/api/v1/transactions?cluster_id=abc').expect(400);
      expect(badCluster.body.message).toMatch(/cluster_id must be an integer/);
    });
    it("GET one; 404 with Fuel's message; 400 for an id that is not one", async () => {
      expect((await t.http().get(`/api/v1/transactions/${txId}`).expect(200)).body.uuid).toBe('http-1');
      expect((await t.http().get('/api/v1/transactions/999999').expect(404)).body.message).toBe('Transaction not found');
      expect((await t.http().get('/api/v1/transactions/abc').expect(400)).body.message).toMatch(/transaction id/);
      expect((await t.http().get('/api/v1/transactions/99999999999').expect(400)).body.message).toMatch(/transaction id/);
    });
  });

  describe('deployment history of a run', () => {
    it("returns Fuel's bare list in a stable order: cluster-level, master, nodes; then start time, then name", async () => {
      const res = await t.http().get(`/api/v1/transactions/${txId}/deployment_history`).expect(200);
      expect(res.body.map((r: { node_id: string; task_name: string }) => [r.node_id, r.task_name])).toEqual([
        [null, 'post_deployment_start'],
        ['master', 'upload_configuration'],
        ['1', 'netconfig'],
        ['1', 'hiera'],
        ['2', 'netconfig'],
      ]);
      const netconfig = res.body[2];
      expect(netconfig).toEqual({
        task_name: 'netconfig',
        node_id: '1',
        status: 'ready',
        type: 'puppet',
        time_start: '2026-01-01T10:00:00.000Z',
        time_end: '2026-01-01T10:01:00.000Z',
        error_message: null,
        closed_reason: null,
        attempt: 1,
      });
      expect(res.body[4]).toMatchObject({ status: 'error', error_message: 'Task netconfig failed on node node-2' });
      expect(res.body[3]).toMatchObject({ status: 'pending', time_start: null, time_end: null });
    });

    it('filters by nodes (null = cluster-level), statuses and tasks_names; empty value = no filter', async () => {
      const get = async (q: string) => (await t.http().get(`/api/v1/transactions/${txId}/deployment_history?${q}`).expect(200)).body;
      expect(await get('nodes=1')).toHaveLength(2);
      expect(await get('nodes=null,master')).toHaveLength(2);
      expect(await get('statuses=error')).toEqual([expect.objectContaining({ node_id: '2', task_name: 'netconfig' })]);
      expect(await get('tasks_names=netconfig&nodes=1,2&statuses=ready,error')).toHaveLength(2);
      expect(await get('nodes=&statuses=&tasks_names=')).toHaveLength(5);
    });

    it('adds summary only with include_summary; include_summary=banana is a 400, not a 500', async () => {
      const plain = (await t.http().get(`/api/v1/transactions/${txId}/deployment_history?tasks_names=netconfig&nodes=1`).expect(200)).body;
      expect(plain[0]).not.toHaveProperty('summary');
      const withSummary = (
        await t.http().get(`/api/v1/transactions/${txId}/deployment_history?tasks_names=netconfig&nodes=1&include_summary=1`).expect(200)
      ).body;
      expect(withSummary[0].summary).toEqual({ resources: { changed: 3 } });
      const bad = await t.http().get(`/api/v1/transactions/${txId}/deployment_history?include_summary=banana`).expect(400);
      expect(bad.body.message).toMatch(/include_summary must be one of/);
    });

    it("400 with Fuel's message for a bad status", async () => {
      const res = await t.http().get(`/api/v1/transactions/${txId}/deployment_history?statuses=ready,done`).expect(400);
      expect(res.body.message).toBe('Statuses parameter could be only: pending, ready, running, error, skipped');
    });

    it('404 for an unknown transaction', async () => {
      expect((await t.http().get('/api/v1/transactions/424242/deployment_history').expect(404)).body).toMatchObject({
        message: 'Transaction not found',
      });
    });

    it("Accept: text/csv gives Fuel's columns, text/csv and a filename", async () => {
      const res = await t.http().get(`/api/v1/transactions/${txId}/deployment_history?nodes=1,2`).set('Accept', 'text/csv').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toMatch(/attachment; filename="transaction-\d+-deployment-history\.csv"/);
      expect(res.text.trim().split('\r\n')).toEqual([
        'task_name,node_id,status,type,time_start,time_end',
        'netconfig,1,ready,puppet,2026-01-01T10:00:00.000Z,2026-01-01T10:01:00.000Z',
        'hiera,1,pending,puppet,,',
        'netconfig,2,error,puppet,2026-01-01T10:02:00.000Z,2026-01-01T10:02:00.000Z',
      ]);
    });

    it('409 naming the cluster, its release and the 9.0 minimum for a pre-9.0 cluster, on JSON and CSV', async () => {
      const res = await t.http().get(`/api/v1/transactions/${oldTxId}/deployment_history`).expect(409);
      expect(res.body.message).toMatch(/Transaction \d+ of cluster 11 ran on release 'liberty-8.0' \(version 8\.0\).*9\.0 or later/);
      await t.http().get(`/api/transactions/${oldTxId}/deployment_history/`).set('Accept', 'text/csv').expect(409);
      // The run itself is recorded and listed.
      expect((await t.http().get(`/api/v1/transactions/${oldTxId}`).expect(200)).body.cluster).toBe(11);
    });
  });

  describe('POST /casts', () => {
    it('400 naming the bad cast, and nothing of the request is applied', async () => {
      const before = (await t.sql.query('SELECT count(*)::int AS n FROM transactions')).rows[0].n;
      const res = await t
        .http()
        .post('/api/v1/casts')
        .send([start('http-new', { id: 12, release: 'mitaka-9.0' }, {}), { method: 'deploy_resp', args: {} }])
        .expect(400);
      expect(res.body.message).toMatch(/casts\[1\]: deploy_resp: args.task_uuid must be a non-empty string/);
      expect((await t.sql.query('SELECT count(*)::int AS n FROM transactions')).rows[0].n).toBe(before);
    });
    it('404 for a report on an unknown task_uuid, nothing applied', async () => {
      const res = await t
        .http()
        .post('/api/v1/casts')
        .send([resp('http-1', [task('1', 'hiera', 'running')]), finish('no-such-uuid', 'ready')])
        .expect(404);
      expect(res.body.message).toMatch(/casts\[1\]: unknown transaction.*no-such-uuid/);
      const hiera = await t.sql.query(`SELECT status FROM deployment_history WHERE task_name = 'hiera'`);
      expect(hiera.rows.map((r) => r.status)).toEqual(['pending']);
    });
    it('400 for an unknown method, a non-object, an empty list and malformed JSON', async () => {
      expect((await t.http().post('/api/v1/casts').send({ method: 'reboot', args: {} }).expect(400)).body.message).toMatch(
        /unknown method "reboot"/,
      );
      expect((await t.http().post('/api/v1/casts').send([]).expect(400)).body.message).toMatch(/non-empty list/);
      await t.http().post('/api/v1/casts').set('Content-Type', 'application/json').send('{"method": ').expect(400);
      expect((await t.http().post('/api/v1/casts').send([42]).expect(400)).body.message).toMatch(
        /casts\[0\]: a cast must be a JSON object/,
      );
    });
    it('reports skipped entries and applies the rest of the cast', async () => {
      const res = await t
        .http()
        .post('/api/v1/casts')
        .send(
          resp('http-1', [
            task('1', 'hiera', 'bogus'),
            { uid: '1', task_status: 'ready' },
            task('master', 'upload_configuration', 'ready'),
          ]),
        )
        .expect(200);
      expect(res.body[0].skipped).toEqual([
        { entry: 'nodes[0]', reason: expect.stringMatching(/unknown task_status "bogus"/) },
        { entry: 'nodes[1]', reason: 'missing deployment_graph_task_name' },
      ]);
      expect(res.body[0].tasks_applied).toBe(1);
      const row = await t.sql.query(`SELECT status FROM deployment_history WHERE node_id = 'master'`);
      expect(row.rows[0].status).toBe('ready');
    });
  });

  describe('large runs', () => {
    it('accepts a 200-node × 150-task run (30,000 rows, ~2 MB of JSON) and closes it out', async () => {
      const tasks = Array.from({ length: 150 }, (_, i) => ({
        id: `openstack-task-${i}`,
        type: 'puppet',
        requires: [`openstack-task-${i - 1}`],
      }));
      const graph = Object.fromEntries(Array.from({ length: 200 }, (_, n) => [String(n + 1), tasks]));
      const res = await t
        .http()
        .post('/api/v1/casts')
        .send(start('http-large', { id: 14, release: 'mitaka-9.0' }, graph))
        .expect(200);
      expect(res.body[0]).toMatchObject({ outcome: 'started', rows_created: 30000 });
      await t.http().post('/api/v1/casts').send(finish('http-large', 'stopped')).expect(200);
      const rows = (
        await t.http().get(`/api/v1/transactions/${res.body[0].transaction_id}/deployment_history?statuses=skipped`).expect(200)
      ).body;
      expect(rows).toHaveLength(30000);
      expect(rows[0].closed_reason).toBe('not reached: transaction ended with stopped');
    });
  });

  describe('POST /transactions', () => {
    it('starts a run like transaction_start (201), and a second start changes nothing (200)', async () => {
      const args = {
        task_uuid: 'http-post',
        cluster: { id: 13, name: 'west', release: 'mitaka-9.0' },
        tasks_graph: { '3': [{ id: 'globals', type: 'puppet' }] },
      };
      const created = await t.http().post('/api/v1/transactions/').send(args).expect(201);
      expect(created.body).toMatchObject({ uuid: 'http-post', cluster: 13, status: 'running' });
      const again = await t
        .http()
        .post('/api/v1/transactions')
        .send({ ...args, name: 'renamed', tasks_graph: { '4': [{ id: 'x' }] } })
        .expect(200);
      expect(again.body).toEqual(created.body);
      const rows = await t.http().get(`/api/v1/transactions/${created.body.id}/deployment_history`).expect(200);
      expect(rows.body).toEqual([expect.objectContaining({ node_id: '3', task_name: 'globals', status: 'pending', type: 'puppet' })]);
      expect((await t.http().post('/api/v1/transactions').send({ task_uuid: 'x' }).expect(400)).body.message).toMatch(
        /args.cluster must be an object/,
      );
    });
  });

  describe('Swagger', () => {
    it('documents every endpoint', async () => {
      const doc = (await t.http().get('/api/docs-json').expect(200)).body;
      expect(Object.keys(doc.paths).sort()).toEqual(
        [
          '/health',
          '/health/ready',
          '/api/v1/version',
          '/api/v1/transactions',
          '/api/v1/transactions/{transaction_id}',
          '/api/v1/transactions/{transaction_id}/critical_path',
          '/api/v1/transactions/{transaction_id}/deployment_info',
          '/api/v1/transactions/{transaction_id}/settings',
          '/api/v1/transactions/{transaction_id}/network_configuration',
          '/api/v1/transactions/{transaction_id}/deployment_history',
          '/api/v1/transactions/{transaction_id}/deployment_history/summary',
          '/api/v1/transactions/{transaction_id}/deployment_history/stream',
          '/api/v1/transactions/{transaction_id}/deployment_history/task',
          '/api/v1/transactions/{transaction_id}/deployment_history/{node_id}/{task_name}',
          '/api/v1/transactions/{transaction_id}/diff/{other_id}',
          '/api/v1/transactions/{transaction_id}/regressions',
          '/api/v1/transactions/{transaction_id}/nodes',
          '/api/v1/clusters',
          '/api/v1/clusters/{cluster_id}',
          '/api/v1/clusters/{cluster_id}/reset',
          '/api/v1/clusters/{cluster_id}/deployment_history',
          '/api/v1/clusters/{cluster_id}/nodes/{node_id}/deployment_history',
          '/api/v1/clusters/{cluster_id}/state',
          '/api/v1/clusters/{cluster_id}/task_stats',
          '/api/v1/clusters/{cluster_id}/flaky_tasks',
          '/api/v1/clusters/{cluster_id}/runs',
          '/api/v1/releases',
          '/api/v1/releases/{release_id}',
          '/api/v1/casts',
          '/api/v1/receiver/stats',
          '/api/v1/retention',
          '/keystone/v2.0/tokens',
        ].sort(),
      );
      await t.http().get('/api/docs').expect(200);
    });
  });
});
