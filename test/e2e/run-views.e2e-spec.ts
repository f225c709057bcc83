import { finish, Graph, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';

/**
 * Issue 3, "Summaries and details" and "Clusters and reset": a run's summary, one task's record, the
 * cluster's current state, the diff of two runs, the clusters API, reset (with and without a run in
 * progress) and the explicit deletion of old runs. The real app on a fresh real database; every time
 * is given explicitly in the casts, so every expected value below is exact.
 */
describe('run views, clusters and reset', () => {
  let t: TestApp;
  const STATUSES = ['pending', 'running', 'ready', 'error', 'skipped'];

  /** Posts casts (applied in one database transaction) and returns the per-cast results. */
  async function cast(...casts: unknown[]): Promise<Array<Record<string, any>>> {
    const res = await t.http().post('/api/v1/casts').send(casts);
    if (res.status !== 200) throw new Error(`POST /casts answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }
  /** Starts a run (plus any further casts in the same request) and returns its id. */
  async function run(...casts: unknown[]): Promise<number> {
    const [first] = await cast(...casts);
    expect(first.outcome).toBe('started');
    return first.transaction_id;
  }
  const get = (path: string) => t.http().get(`/api/v1${path}`);
  /** Rows counted behind the API's back, the runs' tasks not yet reported stored first (as a read of their history does). */
  const rowCount = async (where: string, params: unknown[], table = 'deployment_history') => {
    await t.materialize();
    return (await t.sql.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params)).rows[0].n as number;
  };
  /** Counts with every status present (0 when none), so the comparison does not depend on absent keys. */
  const fill = (c: Record<string, number> | undefined) => Object.fromEntries(STATUSES.map((s) => [s, c?.[s] ?? 0]));
  const fillNodes = (n: Record<string, Record<string, number>>) => Object.fromEntries(Object.entries(n).map(([k, v]) => [k, fill(v)]));

  // Cluster 101: the summaries, details and diff. 102: pre-9.0. 107: another 9.0 cluster (diff across clusters).
  const summaries = { id: 101, name: 'summaries', release: 'mitaka-9.0' };
  const legacy = { id: 102, name: 'legacy', release: 'liberty-8.0' };
  const elsewhere = { id: 107, name: 'elsewhere', release: 'mitaka-9.0' };
  // Names the cluster (or the run and its cluster), the release and its version, and the 9.0 minimum.
  const PRE_90 = /[Cc]luster 102\b.*'liberty-8\.0' \(version 8\.0\).*9\.0 or later/;

  const netconfigDef = {
    id: 'netconfig',
    type: 'puppet',
    requires: ['hiera'],
    parameters: { puppet_manifest: '/etc/puppet/modules/osnailyfacter/modular/netconfig/netconfig.pp', timeout: 3600 },
  };
  const hieraDef = { id: 'hiera', type: 'puppet', requires: [], parameters: { puppet_manifest: 'hiera.pp', timeout: 120 } };
  const uploadDef = { id: 'upload_configuration', type: 'upload_file', parameters: { path: '/etc/astute.yaml' } };
  const graphA: Graph = {
    null: [
      { id: 'post_deployment_start', type: 'stage' },
      { id: 'pre_deployment_end', type: 'stage' },
    ],
    master: [uploadDef],
    '1': [hieraDef, netconfigDef, { id: 'globals', type: 'puppet' }],
    '2': [hieraDef, netconfigDef],
  };
  const at = (hms: string) => `2025-03-01T${hms}Z`;

  let runA: number; // finished with error; 8 rows
  let runSlow: number; // in progress; 14 rows on node 3
  let runLate: number; // ends with a task cut short; a real error arrives later
  let runB: number; // in progress; compared with A
  let runElsewhere: number;
  let oldRun: number;

  beforeAll(async () => {
    t = await startApp();
    runA = await run(
      start('sum-a', summaries, graphA, { time: at('10:00:00') }),
      resp('sum-a', [
        task(null, 'post_deployment_start', 'running', { time: at('10:00:00') }),
        task(null, 'post_deployment_start', 'ready', { time: at('10:00:05') }),
        task('master', 'upload_configuration', 'running', { time: at('10:00:10') }),
        task('master', 'upload_configuration', 'ready', { time: at('10:01:10'), custom: { attempt: 2 } }),
        task('1', 'hiera', 'running', { time: at('10:02:00') }),
        task('1', 'hiera', 'ready', { time: at('10:02:30') }),
        task('2', 'hiera', 'running', { time: at('10:02:00') }),
        task('1', 'netconfig', 'running', { time: at('10:02:50') }),
        task('2', 'hiera', 'error', { time: at('10:04:00'), error_msg: 'Task hiera failed on node-2' }),
        task('2', 'netconfig', 'running', { time: at('10:04:30') }),
        task('1', 'netconfig', 'error', {
          time: at('10:05:00'),
          error_msg: 'Task netconfig failed on node-1',
          summary: { resources: { failed: 1 } },
          custom: { attempt: 1 },
        }),
        task('1', 'globals', 'skipped', { time: at('10:05:30') }),
      ]),
      finish('sum-a', 'error', { time: at('10:06:00'), error: 'Deployment failed' }),
    );

    // 12 tasks finished on node 3, in an order unrelated to their durations; one still running, one pending.
    const durations = [5, 12, 1, 9, 3, 11, 7, 2, 10, 4, 8, 6];
    const name = (i: number) => `t${String(i).padStart(2, '0')}`;
    const slowGraph: Graph = { '3': Array.from({ length: 14 }, (_, i) => ({ id: name(i + 1), type: 'shell' })) };
    const slowReports = durations.flatMap((d, i) => {
      const begin = Date.parse('2025-03-02T10:00:00Z') + (i + 1) * 60_000;
      return [
        task('3', name(i + 1), 'running', { time: new Date(begin).toISOString() }),
        task('3', name(i + 1), 'ready', { time: new Date(begin + d * 1000).toISOString() }),
      ];
    });
    runSlow = await run(
      start('sum-slow', summaries, slowGraph, { time: '2025-03-02T10:00:00Z' }),
      resp('sum-slow', [...slowReports, task('3', 't13', 'running', { time: '2025-03-02T10:00:00Z' })]),
    );

    runLate = await run(
      start(
        'sum-late',
        summaries,
        {
          '1': [
            { id: 'a', type: 'shell' },
            { id: 'b', type: 'shell' },
          ],
        },
        { time: '2025-03-03T11:00:00Z' },
      ),
      resp('sum-late', [task('1', 'a', 'running', { time: '2025-03-03T11:00:10Z' })]),
      finish('sum-late', 'error', { time: '2025-03-03T11:01:00Z' }),
    );

    runB = await run(
      start(
        'diff-b',
        summaries,
        {
          null: [{ id: 'post_deployment_start', type: 'stage' }],
          master: [uploadDef],
          '1': [hieraDef, netconfigDef],
          '2': [hieraDef, netconfigDef],
          '3': [{ id: 'globals', type: 'puppet' }],
        },
        { time: '2025-03-04T10:00:00Z' },
      ),
      resp('diff-b', [
        task(null, 'post_deployment_start', 'ready', { time: '2025-03-04T10:00:05Z' }),
        task('master', 'upload_configuration', 'ready', { time: '2025-03-04T10:01:00Z' }),
        task('1', 'hiera', 'ready', { time: '2025-03-04T10:02:00Z' }),
        task('1', 'netconfig', 'ready', { time: '2025-03-04T10:03:00Z' }),
        task('2', 'hiera', 'error', { time: '2025-03-04T10:04:00Z', error_msg: 'hiera again' }),
      ]),
    );

    runElsewhere = await run(start('elsewhere-1', elsewhere, { '1': [{ id: 'hiera', type: 'puppet' }] }, { time: '2025-03-05T10:00:00Z' }));
    oldRun = await run(start('old-1', legacy, { '1': [netconfigDef] }, { time: '2025-03-05T10:00:00Z' }));
  });
  afterAll(() => t?.close());

  describe('GET /clusters and /clusters/:id', () => {
    /** Nailgun's cluster keys (issue 13: fuel2 env list|show read them), with the status the cluster's runs give. */
    const nailgun = (status: string, fuelVersion: string) => ({
      mode: 'ha_compact',
      changes: [],
      status,
      ui_settings: { view_mode: 'standard', filter: {}, sort: [{ roles: 'asc' }], filter_by_labels: {}, sort_by_labels: [], search: '' },
      is_customized: false,
      net_provider: 'neutron',
      release_id: expect.any(Number),
      fuel_version: fuelVersion,
      is_locked: status === 'deployment',
      components: [],
    });
    const cluster101 = () => ({
      id: 101,
      name: 'summaries',
      ...nailgun('deployment', '9.0'),
      release: 'mitaka-9.0',
      version: '9.0',
      history_enabled: true,
      epoch: 1,
      transactions: 4,
      running_transactions: 2,
      history_rows: 8 + 14 + 2 + 7,
      last_transaction_id: runB,
      last_transaction_status: 'running',
    });
    const cluster102 = () => ({
      id: 102,
      name: 'legacy',
      ...nailgun('deployment', '8.0'),
      release: 'liberty-8.0',
      version: '8.0',
      history_enabled: false,
      epoch: 1,
      transactions: 1,
      running_transactions: 1,
      history_rows: 0,
      last_transaction_id: oldRun,
      last_transaction_status: 'running',
    });

    it('lists every cluster by id with release, version, history_enabled, epoch and counts', async () => {
      const res = await get('/clusters/').expect(200);
      const ids = res.body.map((c: { id: number }) => c.id);
      expect(ids).toEqual([...ids].sort((a: number, b: number) => a - b));
      expect(ids).toEqual(expect.arrayContaining([101, 102, 107]));
      expect(res.body.find((c: { id: number }) => c.id === 101)).toEqual(cluster101());
      expect(res.body.find((c: { id: number }) => c.id === 102)).toEqual(cluster102());
      expect(res.body.find((c: { id: number }) => c.id === 107)).toMatchObject({
        transactions: 1,
        running_transactions: 1,
        history_rows: 1,
      });
    });

    it('shows one cluster; 404 naming an unknown one; 400 for an id that is not one', async () => {
      expect((await get('/clusters/101').expect(200)).body).toEqual(cluster101());
      expect((await t.http().get('/api/clusters/102/').expect(200)).body).toEqual(cluster102());
      expect((await get('/clusters/999').expect(404)).body.message).toBe('Cluster 999 not found');
      expect((await get('/clusters/abc').expect(400)).body.message).toMatch(/cluster id/);
    });
  });

  describe('PUT /clusters/:id', () => {
    it('registers a cluster (201), then changes its release keeping its name (200)', async () => {
      const created = await t.http().put('/api/v1/clusters/108').send({ name: 'fresh', release: 'mitaka-9.0' }).expect(201);
      expect(created.body).toEqual({
        id: 108,
        name: 'fresh',
        // Nailgun's cluster keys (issue 13: fuel2 env list|show read them)
        mode: 'ha_compact',
        changes: [],
        status: 'new',
        ui_settings: expect.objectContaining({ view_mode: 'standard' }),
        is_customized: false,
        net_provider: 'neutron',
        release_id: expect.any(Number),
        fuel_version: '9.0',
        is_locked: false,
        components: [],
        release: 'mitaka-9.0',
        version: '9.0',
        history_enabled: true,
        epoch: 1,
        transactions: 0,
        running_transactions: 0,
        history_rows: 0,
        last_transaction_id: null,
        last_transaction_status: null,
      });
      const changed = await t.http().put('/api/v1/clusters/108').send({ release: 'newton-10.0' }).expect(200);
      expect(changed.body).toMatchObject({ id: 108, name: 'fresh', release: 'newton-10.0', version: '10.0', history_enabled: true });
      expect((await get('/clusters/108').expect(200)).body).toMatchObject({ name: 'fresh', release: 'newton-10.0' });
      const unnamed = await t.http().put('/api/v1/clusters/109').send({ release: 'liberty-8.0' }).expect(201);
      expect(unnamed.body).toMatchObject({ id: 109, name: 'cluster-109', version: '8.0', history_enabled: false });
    });

    it('400 for a missing or malformed release, and nothing is registered', async () => {
      for (const body of [{}, { name: 'x' }, { release: '' }, { release: 'banana' }, { release: 42 }, { release: 'mitaka-' }]) {
        const res = await t.http().put('/api/v1/clusters/110').send(body).expect(400);
        expect(res.body.message).toMatch(/release/);
      }
      await get('/clusters/110').expect(404);
      // An existing cluster keeps its release after a bad PUT.
      await t.http().put('/api/v1/clusters/108').send({ release: 'banana' }).expect(400);
      expect((await get('/clusters/108').expect(200)).body.release).toBe('newton-10.0');
    });

    let before: number; // run of cluster 106 started while it was on liberty-8.0
    let after: number; // run started after its upgrade to mitaka-9.0

    it('upgrading liberty-8.0 to mitaka-9.0 enables history from then on; the earlier run answers 409', async () => {
      const upgraded = { id: 106, name: 'upgraded', release: 'liberty-8.0' };
      const graph = { '1': [netconfigDef] };
      const [started] = await cast(start('up-1', upgraded, graph, { time: '2025-07-01T10:00:00Z' }));
      expect(started).toMatchObject({ outcome: 'started', history_recorded: false, rows_created: 0 });
      before = started.transaction_id as number;
      expect((await get('/clusters/106').expect(200)).body).toMatchObject({ history_enabled: false, version: '8.0' });
      expect((await get(`/transactions/${before}/deployment_history`).expect(409)).body.message).toMatch(
        /[Cc]luster 106\b.*liberty-8\.0.*9\.0/,
      );

      const put = await t.http().put('/api/v1/clusters/106').send({ release: 'mitaka-9.0' }).expect(200);
      expect(put.body).toMatchObject({ id: 106, name: 'upgraded', release: 'mitaka-9.0', version: '9.0', history_enabled: true });

      // The run started before the upgrade: still not recorded, and its history is a 409 naming why.
      await cast(resp('up-1', [task('1', 'netconfig', 'ready', { time: '2025-07-01T10:05:00Z' })]));
      expect(await rowCount('transaction_id = $1', [before])).toBe(0);
      for (const path of [
        `/transactions/${before}/deployment_history`,
        `/transactions/${before}/deployment_history/summary`,
        `/transactions/${before}/deployment_history/1/netconfig`,
      ]) {
        const res = await get(path).expect(409);
        expect(res.body.message).toMatch(new RegExp(`Transaction ${before} of cluster 106\\b.*9\\.0.*not recorded`));
      }

      // A run started after the upgrade has rows.
      const [next] = await cast(
        start('up-2', { ...upgraded, release: 'mitaka-9.0' }, graph, { time: '2025-07-02T10:00:00Z' }),
        resp('up-2', [task('1', 'netconfig', 'ready', { time: '2025-07-02T10:01:00Z' })]),
      );
      expect(next).toMatchObject({ outcome: 'started', history_recorded: true, rows_created: 1 });
      after = next.transaction_id as number;
      const rows = (await get(`/transactions/${after}/deployment_history`).expect(200)).body;
      expect(rows).toEqual([expect.objectContaining({ node_id: '1', task_name: 'netconfig', status: 'ready' })]);
      expect((await get(`/transactions/${after}/deployment_history/summary`).expect(200)).body.statuses.ready).toBe(1);
      expect((await get('/clusters/106/state').expect(200)).body).toEqual([
        expect.objectContaining({ node_id: '1', task_name: 'netconfig', transaction_id: after }),
      ]);
      expect((await get('/clusters/106').expect(200)).body).toMatchObject({ transactions: 2, history_rows: 1 });
      // The unrecorded run's own diff is a 409 like the rest of its history.
      await get(`/transactions/${before}/diff/${after}`).expect(409);
    });

    it('diff against the run recorded before the upgrade is a 409 too (its history does not exist)', async () => {
      expect(before && after).toBeTruthy();
      // Comparing with the unrecorded run would claim every task vanished: that run's history is not available.
      const diff = await get(`/transactions/${after}/diff/${before}`);
      expect({ status: diff.status, message: diff.body.message }).toEqual({
        status: 409,
        message: expect.stringMatching(new RegExp(`Transaction ${before} .*not recorded`)),
      });
    });
  });

  describe('GET /transactions/:id/deployment_history/summary', () => {
    it('counts per status and per node, duration, first real failure by time, slowest finished tasks', async () => {
      const res = await get(`/transactions/${runA}/deployment_history/summary`).expect(200);
      const s = res.body;
      expect(s.transaction).toMatchObject({ id: runA, uuid: 'sum-a', cluster: 101, status: 'error' });
      expect(s.total).toBe(8);
      expect(s.statuses).toEqual({ pending: 0, running: 0, ready: 3, error: 3, skipped: 2 });
      expect(fillNodes(s.nodes)).toEqual({
        null: fill({ ready: 1, skipped: 1 }),
        master: fill({ ready: 1 }),
        '1': fill({ ready: 1, error: 1, skipped: 1 }),
        '2': fill({ error: 2 }),
      });
      expect(s.duration_s).toBe(360);
      // 2/hiera failed at 10:04, before 1/netconfig (10:05); 2/netconfig was only cut short by the run's end.
      expect(s.first_failure).toEqual({
        node_id: '2',
        task_name: 'hiera',
        time_start: at('10:02:00.000'),
        time_end: at('10:04:00.000'),
        error_message: 'Task hiera failed on node-2',
      });
      // Longest first; closed-out rows (2/netconfig, 90 s) and never-started rows are not "finished".
      expect(s.slowest).toEqual([
        {
          node_id: '1',
          task_name: 'netconfig',
          status: 'error',
          time_start: at('10:02:50.000'),
          time_end: at('10:05:00.000'),
          duration_s: 130,
        },
        {
          node_id: '2',
          task_name: 'hiera',
          status: 'error',
          time_start: at('10:02:00.000'),
          time_end: at('10:04:00.000'),
          duration_s: 120,
        },
        {
          node_id: 'master',
          task_name: 'upload_configuration',
          status: 'ready',
          time_start: at('10:00:10.000'),
          time_end: at('10:01:10.000'),
          duration_s: 60,
        },
        { node_id: '1', task_name: 'hiera', status: 'ready', time_start: at('10:02:00.000'), time_end: at('10:02:30.000'), duration_s: 30 },
        {
          node_id: null,
          task_name: 'post_deployment_start',
          status: 'ready',
          time_start: at('10:00:00.000'),
          time_end: at('10:00:05.000'),
          duration_s: 5,
        },
        {
          node_id: '1',
          task_name: 'globals',
          status: 'skipped',
          time_start: at('10:05:30.000'),
          time_end: at('10:05:30.000'),
          duration_s: 0,
        },
      ]);
    });

    it('a run in progress: all five statuses, duration up to now, no failure, at most 10 slowest', async () => {
      const startMs = Date.parse('2025-03-02T10:00:00Z');
      const lo = (Date.now() - startMs) / 1000;
      const s = (await get(`/transactions/${runSlow}/deployment_history/summary/`).expect(200)).body;
      const hi = (Date.now() - startMs) / 1000;
      expect(s.statuses).toEqual({ pending: 1, running: 1, ready: 12, error: 0, skipped: 0 });
      expect(s.total).toBe(14);
      expect(fillNodes(s.nodes)).toEqual({ '3': fill({ pending: 1, running: 1, ready: 12 }) });
      expect(s.duration_s).toBeGreaterThanOrEqual(lo);
      expect(s.duration_s).toBeLessThanOrEqual(hi);
      expect(s.first_failure).toBeNull();
      // A run in progress is summed up afresh each time: nothing kept.
      expect(await rowCount('id = $1 AND summary_cache IS NOT NULL', [runSlow], 'transactions')).toBe(0);
      expect(s.slowest.map((x: { task_name: string; duration_s: number }) => [x.task_name, x.duration_s])).toEqual([
        ['t02', 12],
        ['t06', 11],
        ['t09', 10],
        ['t04', 9],
        ['t11', 8],
        ['t07', 7],
        ['t12', 6],
        ['t01', 5],
        ['t10', 4],
        ['t05', 3],
      ]);
    });

    it('first_failure: a close-out only when nothing really failed; a real error wins even when later', async () => {
      const before = (await get(`/transactions/${runLate}/deployment_history/summary`).expect(200)).body;
      expect(before.first_failure).toEqual({
        node_id: '1',
        task_name: 'a',
        time_start: '2025-03-03T11:00:10.000Z',
        time_end: '2025-03-03T11:01:00.000Z',
        error_message: 'did not finish: transaction ended with error',
      });
      expect(before.statuses).toEqual({ pending: 0, running: 0, ready: 0, error: 1, skipped: 1 });
      // The run ended: its summary is kept; the writer clears it when a late report changes the rows.
      expect(await rowCount('id = $1 AND summary_cache IS NOT NULL', [runLate], 'transactions')).toBe(1);
      // A real failure reported after the run ended (later than the close-out) is the first real failure.
      await cast(resp('sum-late', [task('1', 'b', 'error', { time: '2025-03-03T11:02:00Z', error_msg: 'b broke' })]));
      expect(await rowCount('id = $1 AND summary_cache IS NOT NULL', [runLate], 'transactions')).toBe(0);
      const after = (await get(`/transactions/${runLate}/deployment_history/summary`).expect(200)).body;
      expect((await get(`/transactions/${runLate}/deployment_history/summary`).expect(200)).body).toEqual(after);
      expect(after.first_failure).toEqual({
        node_id: '1',
        task_name: 'b',
        time_start: '2025-03-03T11:02:00.000Z',
        time_end: '2025-03-03T11:02:00.000Z',
        error_message: 'b broke',
      });
      expect(after.statuses).toEqual({ pending: 0, running: 0, ready: 0, error: 2, skipped: 0 });
      expect(after.slowest).toEqual([expect.objectContaining({ task_name: 'b', duration_s: 0 })]);
    });

    it("a finished large run's whole list is kept once built, and cleared when a late report changes a row", async () => {
      const graph: Graph = {};
      for (let n = 1; n <= 15; n++) graph[String(n)] = Array.from({ length: 100 }, (_, k) => ({ id: `t-${k}` }));
      const id = await run(start('big-list', elsewhere, graph, { time: '2025-03-07T10:00:00Z' }));
      await cast(
        resp('big-list', [task('1', 't-0', 'ready', { time: '2025-03-07T10:00:10Z' })]),
        finish('big-list', 'ready', { time: '2025-03-07T10:05:00Z' }),
      );
      const kept = () => rowCount('id = $1 AND list_cache IS NOT NULL', [id], 'transactions');
      const first = (await get(`/transactions/${id}/deployment_history`).expect(200)).body;
      expect(first).toHaveLength(1500);
      expect(await kept()).toBe(1);
      // Served from what was kept: the same list; a filtered list is built afresh and agrees with it.
      expect((await get(`/transactions/${id}/deployment_history`).expect(200)).body).toEqual(first);
      const filtered = (await get(`/transactions/${id}/deployment_history?statuses=pending,running,ready,error,skipped`).expect(200)).body;
      expect(filtered).toEqual(first);
      // A late report changes a row: the kept list is cleared, and the next one shows the change.
      await cast(resp('big-list', [task('2', 't-1', 'error', { time: '2025-03-07T10:06:00Z', error_msg: 'late' })]));
      expect(await kept()).toBe(0);
      const after = (await get(`/transactions/${id}/deployment_history`).expect(200)).body;
      expect(after.find((r: { node_id: string; task_name: string }) => r.node_id === '2' && r.task_name === 't-1')).toMatchObject({
        status: 'error',
        error_message: 'late',
      });
      expect(after).toEqual(
        (await get(`/transactions/${id}/deployment_history?statuses=pending,running,ready,error,skipped`).expect(200)).body,
      );
      // A small run's list is not worth keeping.
      await get(`/transactions/${runLate}/deployment_history`).expect(200);
      expect(await rowCount('id = $1 AND list_cache IS NOT NULL', [runLate], 'transactions')).toBe(0);
    });

    it('a run without tasks: zero counts for all five statuses, no nodes, no failure, nothing slow', async () => {
      const empty = await run(
        start('empty-1', elsewhere, {}, { time: '2025-03-06T10:00:00Z' }),
        finish('empty-1', 'ready', { time: '2025-03-06T10:00:30Z' }),
      );
      const s = (await get(`/transactions/${empty}/deployment_history/summary`).expect(200)).body;
      expect(s).toMatchObject({ total: 0, nodes: {}, duration_s: 30, first_failure: null, slowest: [] });
      expect(s.statuses).toEqual({ pending: 0, running: 0, ready: 0, error: 0, skipped: 0 });
    });

    it("404 for an unknown run; 409 for a pre-9.0 cluster's run", async () => {
      expect((await get('/transactions/999999/deployment_history/summary').expect(404)).body.message).toBe('Transaction not found');
      expect((await get(`/transactions/${oldRun}/deployment_history/summary`).expect(409)).body.message).toMatch(PRE_90);
    });
  });

  describe('GET /transactions/:id/deployment_history/:node_id/:task_name', () => {
    it('the full record of a failed task: times, duration, error, summary, custom, definition, run and cluster', async () => {
      const res = await get(`/transactions/${runA}/deployment_history/1/netconfig`).expect(200);
      expect(res.body).toMatchObject({
        task_name: 'netconfig',
        node_id: '1',
        status: 'error',
        type: 'puppet',
        time_start: at('10:02:50.000'),
        time_end: at('10:05:00.000'),
        duration_s: 130,
        error_message: 'Task netconfig failed on node-1',
        closed_reason: null,
        summary: { resources: { failed: 1 } },
        custom: { attempt: 1 },
        cluster: { id: 101, name: 'summaries', release: 'mitaka-9.0' },
      });
      expect(res.body.definition).toEqual(netconfigDef);
      expect(res.body.transaction).toMatchObject({ id: runA, uuid: 'sum-a', cluster: 101, status: 'error', time_end: at('10:06:00.000') });
    });

    it('master and cluster-level (null) tasks are addressable; a closed-out row shows its reason', async () => {
      const master = (await get(`/transactions/${runA}/deployment_history/master/upload_configuration`).expect(200)).body;
      expect(master).toMatchObject({
        node_id: 'master',
        status: 'ready',
        type: 'upload_file',
        duration_s: 60,
        error_message: null,
        summary: null,
        custom: { attempt: 2 },
        definition: uploadDef,
      });
      const stage = (await get(`/transactions/${runA}/deployment_history/null/post_deployment_start`).expect(200)).body;
      expect(stage).toMatchObject({ node_id: null, task_name: 'post_deployment_start', status: 'ready', duration_s: 5, custom: {} });
      expect(stage.definition).toEqual({ id: 'post_deployment_start', type: 'stage' });
      const never = (await get(`/transactions/${runA}/deployment_history/null/pre_deployment_end`).expect(200)).body;
      expect(never).toMatchObject({
        status: 'skipped',
        time_start: null,
        duration_s: null,
        error_message: null,
        closed_reason: 'not reached: transaction ended with error (Deployment failed)',
      });
      const cut = (await get(`/transactions/${runA}/deployment_history/2/netconfig`).expect(200)).body;
      expect(cut).toMatchObject({
        status: 'error',
        error_message: null,
        closed_reason: 'did not finish: transaction ended with error (Deployment failed)',
      });
    });

    it('404 naming the task, the node and the run when absent; 404 for an unknown run; 409 pre-9.0', async () => {
      for (const [node, name] of [
        ['1', 'no_such_task'],
        ['9', 'netconfig'],
        ['master', 'netconfig'],
        ['1', 'post_deployment_start'], // cluster-level only
        ['null', 'netconfig'],
      ]) {
        const res = await get(`/transactions/${runA}/deployment_history/${node}/${name}`).expect(404);
        expect(res.body.message).toContain(name);
        expect(res.body.message).toContain(`'${node}'`);
        expect(res.body.message).toContain(String(runA));
      }
      expect((await get('/transactions/999999/deployment_history/1/netconfig').expect(404)).body.message).toBe('Transaction not found');
      expect((await get(`/transactions/${oldRun}/deployment_history/1/netconfig`).expect(409)).body.message).toMatch(PRE_90);
    });
  });

  describe('GET /transactions/:id/diff/:other_id', () => {
    it('lists only differing statuses, and tasks of one run only, in node order', async () => {
      const d = (await get(`/transactions/${runA}/diff/${runB}`).expect(200)).body;
      expect(d.transaction).toMatchObject({ id: runA, uuid: 'sum-a' });
      expect(d.other).toMatchObject({ id: runB, uuid: 'diff-b' });
      expect(d.changed).toEqual([
        { node_id: '1', task_name: 'netconfig', status: 'error', other_status: 'ready' },
        { node_id: '2', task_name: 'netconfig', status: 'error', other_status: 'pending' },
      ]);
      expect(d.only_in_transaction).toEqual([
        { node_id: null, task_name: 'pre_deployment_end', status: 'skipped' },
        { node_id: '1', task_name: 'globals', status: 'skipped' },
      ]);
      expect(d.only_in_other).toEqual([{ node_id: '3', task_name: 'globals', status: 'pending' }]);

      const back = (await get(`/transactions/${runB}/diff/${runA}`).expect(200)).body;
      expect(back.changed).toEqual([
        { node_id: '1', task_name: 'netconfig', status: 'ready', other_status: 'error' },
        { node_id: '2', task_name: 'netconfig', status: 'pending', other_status: 'error' },
      ]);
      expect(back.only_in_transaction).toEqual(d.only_in_other);
      expect(back.only_in_other).toEqual(d.only_in_transaction);

      const same = (await get(`/transactions/${runA}/diff/${runA}`).expect(200)).body;
      expect([same.changed, same.only_in_transaction, same.only_in_other]).toEqual([[], [], []]);
    });

    it('400 for runs of different clusters; 404 for an unknown run; 409 pre-9.0', async () => {
      const res = await get(`/transactions/${runA}/diff/${runElsewhere}`).expect(400);
      expect(res.body.message).toMatch(new RegExp(`${runA} and ${runElsewhere} belong to different clusters \\(101 and 107\\)`));
      expect((await get(`/transactions/${runA}/diff/999999`).expect(404)).body.message).toBe('Transaction not found');
      expect((await get(`/transactions/999999/diff/${runA}`).expect(404)).body.message).toBe('Transaction not found');
      expect((await get(`/transactions/${runA}/diff/abc`).expect(400)).body.message).toMatch(/other transaction id/);
      expect((await get(`/transactions/${oldRun}/diff/${oldRun}`).expect(409)).body.message).toMatch(PRE_90);
    });
  });

  describe('GET /clusters/:id/state, then a reset without a run in progress', () => {
    const stateCluster = { id: 103, name: 'state', release: 'mitaka-9.0' };
    let s1: number;
    let s2: number;
    let s3: number;

    beforeAll(async () => {
      s1 = await run(
        start(
          'state-1',
          stateCluster,
          { null: [{ id: 'post_deployment_start', type: 'stage' }], '1': [netconfigDef, hieraDef, { id: 'globals', type: 'puppet' }] },
          {
            time: '2025-04-01T10:00:00Z',
          },
        ),
        resp('state-1', [
          task(null, 'post_deployment_start', 'ready', { time: '2025-04-01T10:00:30Z' }),
          task('1', 'netconfig', 'running', { time: '2025-04-01T10:00:40Z' }),
          task('1', 'netconfig', 'ready', { time: '2025-04-01T10:01:00Z' }),
          task('1', 'hiera', 'ready', { time: '2025-04-01T10:02:00Z' }),
          task('1', 'globals', 'error', { time: '2025-04-01T10:03:00Z', error_msg: 'globals failed' }),
        ]),
        finish('state-1', 'error', { time: '2025-04-01T10:05:00Z' }),
      );
      s2 = await run(
        start(
          'state-2',
          stateCluster,
          { '1': [netconfigDef, hieraDef, { id: 'globals', type: 'puppet' }], '2': [netconfigDef] },
          { time: '2025-04-02T10:00:00Z' },
        ),
        resp('state-2', [
          task('1', 'netconfig', 'ready', { time: '2025-04-02T10:01:00Z' }),
          task('1', 'hiera', 'error', { time: '2025-04-02T10:02:00Z', error_msg: 'hiera failed' }),
          task('1', 'globals', 'ready', { time: '2025-04-02T10:03:00Z' }),
          task('2', 'netconfig', 'ready', { time: '2025-04-02T10:04:00Z' }),
        ]),
        finish('state-2', 'ready', { time: '2025-04-02T10:05:00Z' }),
      );
      // A later dry run: its ready results do not count.
      s3 = await run(
        start(
          'state-3',
          stateCluster,
          { '1': [hieraDef], '2': [hieraDef] },
          { time: '2025-04-03T10:00:00Z', dry_run: true, name: 'dry_run_deployment' },
        ),
        resp('state-3', [
          task('1', 'hiera', 'ready', { time: '2025-04-03T10:01:00Z' }),
          task('2', 'hiera', 'ready', { time: '2025-04-03T10:02:00Z' }),
        ]),
        finish('state-3', 'ready', { time: '2025-04-03T10:03:00Z' }),
      );
    });

    const row = (node: string | null, name: string, type: string, time: string, txId: number, uuid: string) => ({
      node_id: node,
      task_name: name,
      type,
      status: 'ready',
      time_start: time,
      time_end: time,
      transaction_id: txId,
      transaction_uuid: uuid,
      transaction_name: 'deployment',
    });
    const expectedState = () => [
      row(null, 'post_deployment_start', 'stage', '2025-04-01T10:00:30.000Z', s1, 'state-1'),
      row('1', 'globals', 'puppet', '2025-04-02T10:03:00.000Z', s2, 'state-2'),
      // hiera failed in state-2 and was ready in the dry run state-3: state-1's ready still stands.
      row('1', 'hiera', 'puppet', '2025-04-01T10:02:00.000Z', s1, 'state-1'),
      row('1', 'netconfig', 'puppet', '2025-04-02T10:01:00.000Z', s2, 'state-2'),
      row('2', 'netconfig', 'puppet', '2025-04-02T10:04:00.000Z', s2, 'state-2'),
    ];

    it('per (node, task): the last ready of a real run (later run wins; dry runs and later errors do not count)', async () => {
      const res = await get('/clusters/103/state').expect(200);
      expect(res.body).toEqual(expectedState());
      // netconfig on node 1 ran in both runs: the later one (state-2) wins, with both times of that run.
      expect(res.body[3].time_start).toBe('2025-04-02T10:01:00.000Z');
    });

    it('filters by nodes (null = cluster-level, master) and tasks_names; an empty value is no filter', async () => {
      const names = async (q: string) =>
        (await get(`/clusters/103/state?${q}`).expect(200)).body.map(
          (r: { node_id: string | null; task_name: string }) => `${r.node_id}/${r.task_name}`,
        );
      expect(await names('nodes=1')).toEqual(['1/globals', '1/hiera', '1/netconfig']);
      expect(await names('nodes=null')).toEqual(['null/post_deployment_start']);
      expect(await names('nodes=null,2')).toEqual(['null/post_deployment_start', '2/netconfig']);
      expect(await names('nodes=master')).toEqual([]);
      expect(await names('tasks_names=netconfig')).toEqual(['1/netconfig', '2/netconfig']);
      expect(await names('nodes=1&tasks_names=hiera,netconfig')).toEqual(['1/hiera', '1/netconfig']);
      expect(await names('nodes=&tasks_names=')).toHaveLength(5);
    });

    it('404 for an unknown cluster; 409 for a pre-9.0 cluster', async () => {
      expect((await get('/clusters/999/state').expect(404)).body.message).toBe('Cluster 999 not found');
      expect((await get('/clusters/102/state').expect(409)).body.message).toMatch(PRE_90);
    });

    it('reset: 200, a new epoch, empty state; the old runs stay listed with their epoch and rows', async () => {
      const rowsBefore = await rowCount('cluster_id = $1', [103]);
      const res = await t.http().post('/api/v1/clusters/103/reset').expect(200);
      expect(res.body).toEqual({ cluster_id: 103, previous_epoch: 1, epoch: 2, stopped_transactions: [] });
      expect((await get('/clusters/103/state').expect(200)).body).toEqual([]);
      expect((await get('/clusters/103').expect(200)).body).toMatchObject({ epoch: 2, transactions: 3, history_rows: rowsBefore });

      const runs = (await get('/transactions?cluster_id=103').expect(200)).body;
      expect(runs.map((r: { id: number; epoch: number; status: string }) => [r.id, r.epoch, r.status])).toEqual([
        [s1, 1, 'error'],
        [s2, 1, 'ready'],
        [s3, 1, 'ready'],
      ]);
      expect(await rowCount('cluster_id = $1', [103])).toBe(rowsBefore);
      expect((await get(`/transactions/${s2}/deployment_history`).expect(200)).body).toHaveLength(4);

      // A run of the new epoch fills the state again, with its own results only.
      const created = await t
        .http()
        .post('/api/v1/transactions')
        .send({ task_uuid: 'state-4', cluster: stateCluster, tasks_graph: { '1': [netconfigDef] }, time: '2025-04-10T10:00:00Z' })
        .expect(201);
      expect(created.body).toMatchObject({ uuid: 'state-4', epoch: 2 });
      await cast(resp('state-4', [task('1', 'netconfig', 'ready', { time: '2025-04-10T10:01:00Z' })]));
      expect((await get('/clusters/103/state').expect(200)).body).toEqual([
        row('1', 'netconfig', 'puppet', '2025-04-10T10:01:00.000Z', created.body.id, 'state-4'),
      ]);

      // Each reset starts a new epoch (once the new run has ended).
      await t.http().post('/api/v1/clusters/103/reset').expect(409);
      await cast(finish('state-4', 'ready', { time: '2025-04-10T10:02:00Z' }));
      expect((await t.http().post('/api/v1/clusters/103/reset?force=false').expect(200)).body).toMatchObject({
        previous_epoch: 2,
        epoch: 3,
      });
      expect((await get('/clusters/103/state').expect(200)).body).toEqual([]);
    });
  });

  describe('POST /clusters/:id/reset with a run in progress', () => {
    const resetCluster = { id: 104, name: 'reset', release: 'mitaka-9.0' };
    let r1: number;

    beforeAll(async () => {
      r1 = await run(
        start(
          'reset-1',
          resetCluster,
          { '1': ['a', 'b', 'c', 'd'].map((id) => ({ id, type: 'puppet' })) },
          { time: '2025-05-01T10:00:00Z' },
        ),
        resp('reset-1', [
          task('1', 'a', 'running', { time: '2025-05-01T10:00:30Z' }),
          task('1', 'a', 'ready', { time: '2025-05-01T10:01:00Z' }),
          task('1', 'b', 'running', { time: '2025-05-01T10:02:00Z' }),
          task('1', 'd', 'error', { time: '2025-05-01T10:03:00Z', error_msg: 'd failed' }),
        ]),
      );
    });
    const rows = async () =>
      Object.fromEntries(
        (await get(`/transactions/${r1}/deployment_history`).expect(200)).body.map((r: { task_name: string }) => [r.task_name, r]),
      );

    it('409 naming the run, and nothing changes; force=banana is a 400; unknown cluster 404', async () => {
      const res = await t.http().post('/api/v1/clusters/104/reset').expect(409);
      expect(res.body.message).toMatch(new RegExp(`transaction ${r1}\\b`));
      expect(res.body.message).toMatch(/force=true/);
      expect((await get(`/transactions/${r1}`).expect(200)).body).toMatchObject({ status: 'running', time_end: null });
      expect((await get('/clusters/104').expect(200)).body).toMatchObject({ epoch: 1, running_transactions: 1 });
      expect((await t.http().post('/api/v1/clusters/104/reset?force=banana').expect(400)).body.message).toMatch(/force must be one of/);
      expect((await get('/clusters/104').expect(200)).body.epoch).toBe(1);
      expect((await t.http().post('/api/v1/clusters/999/reset').expect(404)).body.message).toBe('Cluster 999 not found');
      expect((await t.http().post('/api/v1/clusters/999/reset?force=true').expect(404)).body.message).toBe('Cluster 999 not found');
    });

    it('force=true stops the run and closes out its open rows; finished rows are untouched; a late report still wins', async () => {
      const t0 = Date.now();
      const res = await t.http().post('/api/v1/clusters/104/reset?force=true').expect(200);
      expect(res.body).toEqual({ cluster_id: 104, previous_epoch: 1, epoch: 2, stopped_transactions: [r1] });

      const stopped = (await get(`/transactions/${r1}`).expect(200)).body;
      expect(stopped).toMatchObject({ status: 'stopped', epoch: 1, message: expect.stringMatching(/reset/) });
      expect(Date.parse(stopped.time_end)).toBeGreaterThanOrEqual(t0 - 1000);

      const r = await rows();
      expect(r.a).toMatchObject({
        status: 'ready',
        time_start: '2025-05-01T10:00:30.000Z',
        time_end: '2025-05-01T10:01:00.000Z',
        closed_reason: null,
      });
      expect(r.d).toMatchObject({ status: 'error', time_end: '2025-05-01T10:03:00.000Z', error_message: 'd failed', closed_reason: null });
      expect(r.b).toMatchObject({ status: 'error', time_start: '2025-05-01T10:02:00.000Z', error_message: null });
      expect(r.b.closed_reason).toMatch(/^did not finish: transaction ended with stopped.*reset/);
      expect(r.c).toMatchObject({ status: 'skipped', time_start: null });
      expect(r.c.closed_reason).toMatch(/^not reached: transaction ended with stopped.*reset/);
      expect((await get('/clusters/104').expect(200)).body).toMatchObject({ epoch: 2, running_transactions: 0, history_rows: 4 });
      expect((await get('/clusters/104/state').expect(200)).body).toEqual([]);

      // The orchestrator's real report, arriving after the forced reset, wins on that row.
      await cast(resp('reset-1', [task('1', 'b', 'ready', { time: '2025-05-01T10:04:00Z' })]));
      const late = await rows();
      expect(late.b).toMatchObject({
        status: 'ready',
        time_start: '2025-05-01T10:02:00.000Z',
        time_end: '2025-05-01T10:04:00.000Z',
        closed_reason: null,
      });
      expect(late.c.status).toBe('skipped');
      // The stopped run belongs to the epoch before the reset: its late ready does not enter the current state.
      expect((await get('/clusters/104/state').expect(200)).body).toEqual([]);
      expect((await get(`/transactions/${r1}`).expect(200)).body.status).toBe('stopped');
      // History is kept: the run is still listed, with its epoch.
      expect((await get('/transactions?cluster_id=104').expect(200)).body).toEqual([expect.objectContaining({ id: r1, epoch: 1 })]);
    });
  });

  describe('DELETE /clusters/:id/deployment_history?before=', () => {
    const delCluster = { id: 105, name: 'deletions', release: 'mitaka-9.0' };
    const graph = (n: number): Graph => ({ '1': Array.from({ length: n }, (_, i) => ({ id: `task-${i}`, type: 'shell' })) });
    const ids: Record<string, number> = {};

    beforeAll(async () => {
      ids.d1 = await run(
        start('del-1', delCluster, graph(2), { time: '2025-06-01T10:00:00Z' }),
        finish('del-1', 'ready', { time: '2025-06-01T11:00:00Z' }),
      );
      ids.d2 = await run(
        start('del-2', delCluster, graph(3), { time: '2025-06-02T10:00:00Z' }),
        finish('del-2', 'error', { time: '2025-06-02T11:00:00Z' }),
      );
      ids.d3 = await run(
        start('del-3', delCluster, graph(2), { time: '2025-06-03T10:00:00Z' }),
        resp('del-3', [task('1', 'task-0', 'running', { time: '2025-06-03T10:01:00Z' })]),
      );
      ids.d4 = await run(
        start('del-4', delCluster, graph(1), { time: '2025-06-05T10:00:00Z' }),
        finish('del-4', 'ready', { time: '2025-06-05T11:00:00Z' }),
      );
      ids.d5 = await run(
        start('del-5', delCluster, graph(4), { time: '2025-06-04T10:00:00Z' }),
        finish('del-5', 'stopped', { time: '2025-06-06T10:00:00Z' }),
      );
    });

    it('400 for a missing or invalid before; 404 unknown cluster; 409 pre-9.0; nothing removed', async () => {
      for (const q of ['', '?before=', '?before=banana', '?before=2025-13-01T00:00:00Z', '?before=yesterday']) {
        const res = await t.http().delete(`/api/v1/clusters/105/deployment_history${q}`).expect(400);
        expect(res.body.message).toMatch(/before/);
      }
      expect((await t.http().delete('/api/v1/clusters/999/deployment_history?before=2030-01-01T00:00:00Z').expect(404)).body.message).toBe(
        'Cluster 999 not found',
      );
      const old = await t.http().delete('/api/v1/clusters/102/deployment_history?before=2030-01-01T00:00:00Z').expect(409);
      expect(old.body.message).toMatch(PRE_90);
      await get(`/transactions/${oldRun}`).expect(200);
      expect((await get('/transactions?cluster_id=105').expect(200)).body).toHaveLength(5);
    });

    it('removes whole finished runs that ended before the time, with their rows; keeps runs in progress and later ones', async () => {
      // "Before" is strict: a run that ended exactly then stays.
      const exact = (await t.http().delete('/api/v1/clusters/105/deployment_history?before=2025-06-01T11:00:00Z').expect(200)).body;
      expect(exact).toMatchObject({ removed: [], removed_rows: 0, kept_in_progress: [] });
      expect(await rowCount('transaction_id = $1', [ids.d1])).toBe(2);

      const res = await t.http().delete('/api/v1/clusters/105/deployment_history/?before=2025-06-04T12:00:00Z').expect(200);
      expect(res.body).toEqual({
        cluster_id: 105,
        before: '2025-06-04T12:00:00.000Z',
        removed: [
          { id: ids.d1, uuid: 'del-1', name: 'deployment', status: 'ready', time_end: '2025-06-01T11:00:00.000Z', rows: 2 },
          { id: ids.d2, uuid: 'del-2', name: 'deployment', status: 'error', time_end: '2025-06-02T11:00:00.000Z', rows: 3 },
        ],
        removed_rows: 5,
        kept_in_progress: [ids.d3],
      });

      expect(await rowCount('transaction_id = ANY($1)', [[ids.d1, ids.d2]])).toBe(0);
      const gone = await t.sql.query('SELECT count(*)::int AS n FROM transactions WHERE id = ANY($1)', [[ids.d1, ids.d2]]);
      expect(gone.rows[0].n).toBe(0);
      expect(await rowCount('transaction_id = $1', [ids.d3])).toBe(2);
      expect(await rowCount('transaction_id = $1', [ids.d4])).toBe(1);
      expect(await rowCount('transaction_id = $1', [ids.d5])).toBe(4);
      await get(`/transactions/${ids.d1}`).expect(404);
      const left = (await get('/transactions?cluster_id=105').expect(200)).body;
      expect(left.map((r: { id: number; status: string }) => [r.id, r.status])).toEqual([
        [ids.d3, 'running'],
        [ids.d4, 'ready'],
        [ids.d5, 'stopped'],
      ]);
      const d3 = (await get(`/transactions/${ids.d3}/deployment_history`).expect(200)).body;
      expect(d3.map((r: { status: string }) => r.status).sort()).toEqual(['pending', 'running']);
      // Other clusters' runs that ended earlier are not touched.
      await get(`/transactions/${runA}`).expect(200);
      expect(await rowCount('transaction_id = $1', [runA])).toBe(8);
      expect((await get('/clusters/105').expect(200)).body).toMatchObject({ transactions: 3, history_rows: 7 });

      // Again: nothing more to remove.
      const again = (await t.http().delete('/api/v1/clusters/105/deployment_history?before=2025-06-04T12:00:00Z').expect(200)).body;
      expect(again).toMatchObject({ removed: [], removed_rows: 0, kept_in_progress: [ids.d3] });
    });

    it('a later time removes runs that ended by then but never the run in progress', async () => {
      const res = (await t.http().delete('/api/v1/clusters/105/deployment_history?before=2030-01-01T00:00:00%2B02:00').expect(200)).body;
      expect(res.removed.map((r: { id: number }) => r.id)).toEqual([ids.d4, ids.d5]);
      expect(res.removed_rows).toBe(5);
      expect(res.kept_in_progress).toEqual([ids.d3]);
      expect(res.before).toBe('2029-12-31T22:00:00.000Z');
      expect((await get('/transactions?cluster_id=105').expect(200)).body.map((r: { id: number }) => r.id)).toEqual([ids.d3]);
      expect(await rowCount('cluster_id = $1', [105])).toBe(2);
    });
  });
});
