import { startApp, TestApp } from '../support/app';
import { finish, Graph, resp, start, task } from '../support/casts';

/**
 * Issue #15's answers across runs: GET /clusters/:id/task_stats, GET /transactions/:id/regressions,
 * GET /clusters/:id/flaky_tasks. Histories sent as casts (POST /casts) whose answers are known, asserted exactly.
 * Real app, real PostgreSQL.
 */

const RELEASE = 'mitaka-9.0';

/** One row of a run: on `node`, `task` ran `dur` seconds from the run's minute 1 and ended `status` (`running`: never ended). */
interface Row {
  node: string | null;
  task: string;
  dur: number;
  status?: 'ready' | 'error' | 'running';
  msg?: string;
}

/** 2026-03-DD at `hh:mm:ss`. */
const at = (day: number, time = '10:00:00') => `2026-03-${String(day).padStart(2, '0')}T${time}Z`;
const plus = (iso: string, seconds: number) => new Date(Date.parse(iso) + seconds * 1000).toISOString();

describe('insights: task_stats, regressions, flaky_tasks', () => {
  let t: TestApp;
  const ids: Record<string, number> = {};

  async function cast(body: object): Promise<Array<{ transaction_id?: number }>> {
    const res = await t.http().post('/api/v1/casts').send(body);
    if (res.status !== 200) throw new Error(`POST /casts answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /**
   * A run of `cluster` started at `begin`; each row runs from begin + 60 s for its `dur`. `end`: the run's
   * final status (at begin + 1 h), none for a run still in progress.
   */
  async function run(
    uuid: string,
    cluster: { id: number; release?: string },
    begin: string,
    rows: Row[],
    opts: { end?: 'ready' | 'error'; dry?: boolean; nodes?: Record<string, unknown> } = {},
  ): Promise<number> {
    const graph: Graph = {};
    for (const r of rows) (graph[r.node ?? 'null'] ??= []).push({ id: r.task, type: 'puppet' });
    const taskStart = plus(begin, 60);
    const reports = rows.flatMap((r) => [
      task(r.node, r.task, 'running', { time: taskStart }),
      ...(r.status === 'running'
        ? []
        : [task(r.node, r.task, r.status ?? 'ready', { time: plus(taskStart, r.dur), ...(r.msg ? { error_msg: r.msg } : {}) })]),
    ]);
    const out = await cast([
      start(uuid, { name: `env-${cluster.id}`, release: RELEASE, ...cluster }, graph, {
        time: begin,
        dry_run: opts.dry ?? false,
        ...(opts.nodes ? { nodes: opts.nodes } : {}),
      }),
      resp(uuid, reports),
      ...(opts.end ? [finish(uuid, opts.end, { time: plus(begin, 3600) })] : []),
    ]);
    ids[uuid] = out[0].transaction_id!;
    return ids[uuid];
  }

  const get = async (url: string) => (await t.http().get(url).expect(200)).body;

  /** Cluster 41, runs 1..10 (March 1..10): durations and failures chosen so every figure is known. */
  async function statsHistory() {
    const nodes = { '1': { roles: ['controller', 'mongo'], hostname: 'node-1' }, '2': { roles: ['compute'], hostname: 'node-2' } };
    const flakyMessage: Record<number, string> = { 3: 'timeout', 6: 'boom', 9: 'timeout' };
    for (let k = 1; k <= 10; k++) {
      await run(
        `s41-${k}`,
        { id: 41 },
        at(k),
        [
          { node: '1', task: 'netconfig', dur: k },
          { node: '2', task: 'netconfig', dur: 10 + k },
          { node: '2', task: 'always_fail', dur: 1, status: 'error', msg: 'no route to host' },
          { node: '1', task: 'flaky', dur: 2, ...(flakyMessage[k] ? { status: 'error' as const, msg: flakyMessage[k] } : {}) },
          { node: 'master', task: 'upload_configuration', dur: 4 },
        ],
        { end: 'error', nodes },
      );
    }
    // Neither a dry run nor a run in progress counts, however slow or failing.
    const wild = [
      { node: '1', task: 'netconfig', dur: 500 },
      { node: '1', task: 'flaky', dur: 2, status: 'error' as const, msg: 'dry' },
      { node: '2', task: 'always_fail', dur: 1 },
    ];
    await run('s41-dry', { id: 41 }, at(11), wild, { end: 'ready', dry: true, nodes });
    await run('s41-open', { id: 41 }, at(12), wild, { nodes });
  }

  /** Cluster 42: five runs, then a dry run and a run in progress (both ignored), then run 6 (in progress) with slow_task slower on node 2. */
  async function regressionHistory() {
    const node1 = [30, 30, 10, 10, 11];
    for (let k = 1; k <= 5; k++) {
      await run(
        `r42-${k}`,
        { id: 42 },
        at(k),
        [
          { node: '1', task: 'slow_task', dur: node1[k - 1] },
          { node: '2', task: 'slow_task', dur: 9 },
          { node: '1', task: 'steady', dur: 20 },
          ...(k === 5 ? [{ node: '1', task: 'young', dur: 3 }] : []),
        ],
        { end: 'ready' },
      );
    }
    const noise = [{ node: '1', task: 'slow_task', dur: 100 }];
    await run('r42-dry', { id: 42 }, at(5, '12:00:00'), noise, { end: 'ready', dry: true });
    await run('r42-open', { id: 42 }, at(5, '13:00:00'), noise);
    await run('r42-6', { id: 42 }, at(6), [
      { node: '1', task: 'slow_task', dur: 10 },
      { node: '2', task: 'slow_task', dur: 40 },
      { node: '1', task: 'steady', dur: 20 },
      { node: '1', task: 'young', dur: 3 },
      { node: '1', task: 'new_task', dur: 3 },
      { node: '2', task: 'still_running', dur: 0, status: 'running' },
    ]);
  }

  /** Cluster 43: two runs, a reset, a run whose task `y` never ends (closed out when the run ends). */
  async function epochHistory() {
    await run('e43-a', { id: 43 }, at(1), [{ node: '1', task: 'x', dur: 5 }], { end: 'ready' });
    await run('e43-b', { id: 43 }, at(2), [{ node: '1', task: 'x', dur: 5 }], { end: 'ready' });
    await t.http().post('/api/v1/clusters/43/reset').expect(200);
    await run(
      'e43-c',
      { id: 43 },
      at(3),
      [
        { node: '1', task: 'x', dur: 7 },
        { node: '1', task: 'y', dur: 0, status: 'running' },
      ],
      { end: 'error' },
    );
  }

  beforeAll(async () => {
    t = await startApp();
    await statsHistory();
    await regressionHistory();
    await epochHistory();
    const [old] = await cast(start('old-1', { id: 44, name: 'legacy', release: 'liberty-8.0' }, { '1': [{ id: 'x', type: 'puppet' }] }));
    ids['old-1'] = old.transaction_id!;
  });
  afterAll(() => t?.close());

  /** The figures of a group with no failure and no trend. */
  const clean = (runs: number, timed: number, p50: number, p95: number, max: number) => ({
    runs,
    timed_rows: timed,
    p50,
    p95,
    max,
    failure_rate: 0,
    errors: 0,
    terminal_rows: timed,
    last_failure: null,
    trend: null,
  });

  describe('task_stats', () => {
    it('per task and per role: p50/p95/max (nearest rank), failure rate, last failure; dry runs and runs in progress ignored', async () => {
      const body = await get('/api/v1/clusters/41/task_stats');
      const alwaysFail = {
        runs: 10,
        timed_rows: 10,
        p50: 1,
        p95: 1,
        max: 1,
        failure_rate: 1,
        errors: 10,
        terminal_rows: 10,
        last_failure: { transaction_id: ids['s41-10'], node_id: '2', time: plus(at(10), 61) },
        trend: null,
      };
      const flaky = {
        ...clean(10, 10, 2, 2, 2),
        failure_rate: 0.3,
        errors: 3,
        last_failure: { transaction_id: ids['s41-9'], node_id: '1', time: plus(at(9), 62) },
      };
      expect(body).toEqual({
        cluster_id: 41,
        epoch: 'current',
        runs: 10,
        trend_runs: 10,
        tasks: [
          { task_name: 'always_fail', ...alwaysFail, by_role: [{ role: 'compute', ...alwaysFail }] },
          {
            task_name: 'flaky',
            ...flaky,
            by_role: [
              { role: 'controller', ...flaky },
              { role: 'mongo', ...flaky },
            ],
          },
          {
            // Node 1 took 1..10 s, node 2 11..20 s: p50 of the 20 is the 10th, p95 the 19th.
            task_name: 'netconfig',
            ...clean(10, 20, 10, 19, 20),
            by_role: [
              { role: 'compute', ...clean(10, 10, 15, 20, 20) },
              { role: 'controller', ...clean(10, 10, 5, 10, 10) },
              { role: 'mongo', ...clean(10, 10, 5, 10, 10) },
            ],
          },
          { task_name: 'upload_configuration', ...clean(10, 10, 4, 4, 4), by_role: [{ role: 'master', ...clean(10, 10, 4, 4, 4) }] },
        ],
      });
    });

    it('trend: the last trend_runs runs’ p50 against the trend_runs before', async () => {
      const body = await get('/api/v1/clusters/41/task_stats?trend_runs=5&tasks_names=netconfig,flaky');
      expect(body.trend_runs).toBe(5);
      const [flaky, netconfig] = body.tasks;
      expect(flaky.trend).toEqual({ runs: 5, recent_runs: 5, previous_runs: 5, recent_p50: 2, previous_p50: 2, ratio: 1 });
      // Runs 6..10: 6..10 and 16..20 s, p50 10; runs 1..5: 1..5 and 11..15 s, p50 5.
      expect(netconfig.trend).toEqual({ runs: 5, recent_runs: 5, previous_runs: 5, recent_p50: 10, previous_p50: 5, ratio: 2 });
      expect(netconfig.by_role.map((r: { role: string; trend: unknown }) => [r.role, r.trend])).toEqual([
        ['compute', { runs: 5, recent_runs: 5, previous_runs: 5, recent_p50: 18, previous_p50: 13, ratio: 18 / 13 }],
        ['controller', { runs: 5, recent_runs: 5, previous_runs: 5, recent_p50: 8, previous_p50: 3, ratio: 8 / 3 }],
        ['mongo', { runs: 5, recent_runs: 5, previous_runs: 5, recent_p50: 8, previous_p50: 3, ratio: 8 / 3 }],
      ]);
      // The 8 runs since March 3: the previous window is the 3 before the last 5 (3..5 and 13..15 s, p50 5).
      const since = await get(`/api/v1/clusters/41/task_stats?trend_runs=5&tasks_names=netconfig&since=${at(3)}`);
      expect(since.runs).toBe(8);
      expect(since.tasks[0].trend).toEqual({ runs: 5, recent_runs: 5, previous_runs: 3, recent_p50: 10, previous_p50: 5, ratio: 2 });
    });

    it('filters: since/until (the run’s start), nodes, tasks_names, roles (by_role then lists only those)', async () => {
      const since = await get(`/api/v1/clusters/41/task_stats?since=${at(6)}&tasks_names=netconfig`);
      expect(since.runs).toBe(5);
      expect(since.tasks.map((x: { task_name: string }) => x.task_name)).toEqual(['netconfig']);
      // 6..10 and 16..20: the 5th and the 10th of 10.
      expect(since.tasks[0]).toMatchObject({ runs: 5, timed_rows: 10, p50: 10, p95: 20, max: 20 });
      const until = await get(`/api/v1/clusters/41/task_stats?until=${at(3)}&tasks_names=netconfig`);
      expect(until.tasks[0]).toMatchObject({ runs: 2, timed_rows: 4, p50: 2, p95: 12, max: 12 });

      const node2 = await get('/api/v1/clusters/41/task_stats?nodes=2');
      expect(node2.tasks.map((x: { task_name: string; p50: number }) => [x.task_name, x.p50])).toEqual([
        ['always_fail', 1],
        ['netconfig', 15],
      ]);
      const master = await get('/api/v1/clusters/41/task_stats?nodes=master,null');
      expect(master.tasks.map((x: { task_name: string }) => x.task_name)).toEqual(['upload_configuration']);

      const controller = await get('/api/v1/clusters/41/task_stats?roles=controller');
      expect(controller.runs).toBe(10);
      expect(
        controller.tasks.map((x: { task_name: string; by_role: Array<{ role: string }> }) => [x.task_name, x.by_role.map((r) => r.role)]),
      ).toEqual([
        ['flaky', ['controller']],
        ['netconfig', ['controller']],
      ]);
      expect(controller.tasks[1]).toMatchObject({ p50: 5, p95: 10, max: 10, timed_rows: 10 });
      const masterRole = await get('/api/v1/clusters/41/task_stats?roles=master&roles=nobody');
      expect(masterRole.tasks.map((x: { task_name: string }) => x.task_name)).toEqual(['upload_configuration']);
      expect(await get('/api/v1/clusters/41/task_stats?roles=nobody')).toEqual({
        cluster_id: 41,
        epoch: 'current',
        runs: 0,
        trend_runs: 10,
        tasks: [],
      });
    });

    it('epoch current (default) counts the runs since the last reset, all across resets; rows closed out by the service are not counted', async () => {
      // y never reported an end: the service closed it out when its run ended (error, with a reason).
      const rows = await get(`/api/v1/transactions/${ids['e43-c']}/deployment_history`);
      expect(rows.find((r: { task_name: string }) => r.task_name === 'y')).toMatchObject({
        status: 'error',
        closed_reason: expect.any(String),
      });
      expect(await get('/api/v1/clusters/43/task_stats')).toEqual({
        cluster_id: 43,
        epoch: 'current',
        runs: 1,
        trend_runs: 10,
        tasks: [{ task_name: 'x', ...clean(1, 1, 7, 7, 7), by_role: [] }],
      });
      expect(await get('/api/v1/clusters/43/task_stats?epoch=all&trend_runs=1')).toEqual({
        cluster_id: 43,
        epoch: 'all',
        runs: 3,
        trend_runs: 1,
        tasks: [
          {
            task_name: 'x',
            ...clean(3, 3, 5, 7, 7),
            trend: { runs: 1, recent_runs: 1, previous_runs: 1, recent_p50: 7, previous_p50: 5, ratio: 1.4 },
            by_role: [],
          },
        ],
      });
    });
  });

  describe('regressions', () => {
    const rule = { percentile: 95, min_ratio: 1.5, min_extra_seconds: 5, min_runs: 3 };

    it('a task made slower in one run (in progress) is the one regression, with its baseline; new tasks and short histories apart', async () => {
      const id = ids['r42-6'];
      // Baseline: each previous real finished run's slowest slow_task, 30 30 10 10 11: p50 11, p95 30.
      expect(await get(`/api/v1/transactions/${id}/regressions`)).toEqual({
        transaction_id: id,
        cluster_id: 42,
        baseline: 20,
        rule,
        regressions: [
          {
            task_name: 'slow_task',
            node_id: '2',
            duration: 40,
            baseline: { runs: 5, p50: 11, p95: 30 },
            excess_seconds: 29,
            ratio: 40 / 11,
          },
        ],
        new_tasks: [{ task_name: 'new_task', node_id: '1', duration: 3, baseline_runs: 0 }],
        not_enough_history: [{ task_name: 'young', node_id: '1', duration: 3, baseline_runs: 1 }],
      });
    });

    it('baseline=N takes the N previous real finished runs', async () => {
      const body = await get(`/api/v1/transactions/${ids['r42-6']}/regressions?baseline=3`);
      expect(body.baseline).toBe(3);
      // Runs 3 to 5 (not the dry run nor the run in progress, whose slow_task took 100 s): 10, 10, 11.
      expect(body.regressions).toEqual([
        { task_name: 'slow_task', node_id: '2', duration: 40, baseline: { runs: 3, p50: 10, p95: 11 }, excess_seconds: 30, ratio: 4 },
      ]);
      // Fewer baseline runs than the rule's minimum (3): nothing is judged.
      const two = await get(`/api/v1/transactions/${ids['r42-6']}/regressions?baseline=2`);
      expect(two).toMatchObject({
        regressions: [],
        new_tasks: [{ task_name: 'new_task', node_id: '1', duration: 3, baseline_runs: 0 }],
        not_enough_history: [
          { task_name: 'slow_task', node_id: '2', duration: 40, baseline_runs: 2 },
          { task_name: 'steady', node_id: '1', duration: 20, baseline_runs: 2 },
          { task_name: 'young', node_id: '1', duration: 3, baseline_runs: 1 },
        ],
      });
    });

    it("a cluster's first run has only new tasks; after a reset, the earlier epoch is not a baseline", async () => {
      const first = await get(`/api/v1/transactions/${ids['r42-1']}/regressions`);
      expect(first).toMatchObject({
        regressions: [],
        new_tasks: [
          { task_name: 'slow_task', node_id: '1', duration: 30, baseline_runs: 0 },
          { task_name: 'steady', node_id: '1', duration: 20, baseline_runs: 0 },
        ],
        not_enough_history: [],
      });
      const afterReset = await get(`/api/v1/transactions/${ids['e43-c']}/regressions`);
      expect(afterReset).toMatchObject({
        cluster_id: 43,
        regressions: [],
        new_tasks: [{ task_name: 'x', node_id: '1', duration: 7, baseline_runs: 0 }],
      });
    });
  });

  describe('flaky_tasks', () => {
    it('a task failing in 3 of 10 runs on a node is flaky, errors most frequent first; one always failing is not', async () => {
      const runs = Array.from({ length: 10 }, (_, i) => ids[`s41-${i + 1}`]);
      expect(await get('/api/v1/clusters/41/flaky_tasks')).toEqual({
        cluster_id: 41,
        epoch: 'current',
        last_runs: 20,
        runs,
        tasks: [
          {
            task_name: 'flaky',
            node_id: '1',
            failed: 3,
            succeeded: 7,
            failed_runs: [ids['s41-3'], ids['s41-6'], ids['s41-9']],
            errors: [
              { message: 'timeout', count: 2 },
              { message: 'boom', count: 1 },
            ],
          },
        ],
      });
    });

    it('last_runs=N looks at the last N real finished runs only', async () => {
      expect(await get('/api/v1/clusters/41/flaky_tasks?last_runs=3')).toEqual({
        cluster_id: 41,
        epoch: 'current',
        last_runs: 3,
        runs: [ids['s41-8'], ids['s41-9'], ids['s41-10']],
        tasks: [
          {
            task_name: 'flaky',
            node_id: '1',
            failed: 1,
            succeeded: 2,
            failed_runs: [ids['s41-9']],
            errors: [{ message: 'timeout', count: 1 }],
          },
        ],
      });
      expect((await get('/api/v1/clusters/41/flaky_tasks?last_runs=1')).tasks).toEqual([]);
    });

    it('epoch current (default) and all', async () => {
      expect((await get('/api/v1/clusters/43/flaky_tasks')).runs).toEqual([ids['e43-c']]);
      expect(await get('/api/v1/clusters/43/flaky_tasks?epoch=all')).toEqual({
        cluster_id: 43,
        epoch: 'all',
        last_runs: 20,
        runs: [ids['e43-a'], ids['e43-b'], ids['e43-c']],
        tasks: [],
      });
    });
  });

  describe('errors', () => {
    /** A 400 in the one JSON shape whose message names every one of `names`. */
    async function refused(url: string, names: string[]) {
      const res = await t.http().get(url);
      expect({ url, status: res.status, statusCode: res.body.statusCode }).toEqual({ url, status: 400, statusCode: 400 });
      for (const n of names) expect(res.body.message).toContain(n);
    }

    it('bad or unknown parameters are a 400 naming them', async () => {
      await refused('/api/v1/clusters/41/task_stats?trend_runs=0', ['trend_runs']);
      await refused('/api/v1/clusters/41/task_stats?trend_runs=1001', ['trend_runs']);
      await refused('/api/v1/clusters/41/task_stats?epoch=later', ['epoch']);
      await refused('/api/v1/clusters/41/task_stats?since=yesterday', ['since']);
      await refused('/api/v1/clusters/41/task_stats?until=2026-13-01', ['until']);
      await refused('/api/v1/clusters/41/task_stats?role=controller', ["'role'"]);
      await refused('/api/v1/clusters/41/flaky_tasks?last_runs=abc', ['last_runs']);
      await refused('/api/v1/clusters/41/flaky_tasks?since=2026-01-01T00:00:00Z', ["'since'"]);
      await refused(`/api/v1/transactions/${ids['r42-6']}/regressions?baseline=1.5`, ['baseline']);
      await refused(`/api/v1/transactions/${ids['r42-6']}/regressions?epoch=all`, ["'epoch'"]);
      await refused('/api/v1/clusters/x/task_stats', ['cluster id']);
    });

    it('404 for an unknown cluster or run, 409 for a pre-9.0 one', async () => {
      for (const url of [
        '/api/v1/clusters/999/task_stats',
        '/api/v1/clusters/999/flaky_tasks',
        '/api/v1/transactions/999999/regressions',
      ]) {
        const res = await t.http().get(url);
        expect({ url, status: res.status, statusCode: res.body.statusCode }).toEqual({ url, status: 404, statusCode: 404 });
      }
      for (const url of [
        '/api/v1/clusters/44/task_stats',
        '/api/v1/clusters/44/flaky_tasks',
        `/api/v1/transactions/${ids['old-1']}/regressions`,
      ]) {
        const res = await t.http().get(url);
        expect({ url, status: res.status, message: res.body.message }).toEqual({
          url,
          status: 409,
          message: expect.stringContaining('9.0'),
        });
      }
    });
  });
});
