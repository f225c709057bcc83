import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { Bus } from '../support/bus';
import { fuelEnvironmentGraph } from '../support/fuel-data';
import { waitFor } from '../support/services';

/**
 * Acceptance: three runs on two clusters, one of them pre-9.0, over RabbitMQ, using Fuel 9.0's real
 * 6-node environment (470 node tasks). Successes, failures, explicitly skipped tasks, tasks never
 * reached, a task that never finished, duplicates and shuffled delivery (the run's final status
 * included). Then the results are listed per run, per node within a run and per cluster, and every
 * row is checked against what the scenario says it must be.
 */
describe('acceptance: three runs on two clusters', () => {
  let t: TestApp;
  let bus: Bus;
  const graph = fuelEnvironmentGraph();
  const allRows = Object.entries(graph).flatMap(([node, tasks]) =>
    tasks.map((tk) => ({ node: node === 'null' ? null : node, id: tk.id, type: tk.type })),
  );
  const key = (node: string | null, id: string) => `${node ?? 'null'}/${id}`;

  /** Deterministic shuffle (mulberry32), so a failure can be replayed. */
  function shuffle<T>(items: T[], seed: number): T[] {
    const a = [...items];
    let s = seed;
    const rand = () => {
      s = (s + 0x6d2b79f5) | 0;
      let x = Math.imul(s ^ (s >>> 15), 1 | s);
      x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }

  interface Plan {
    casts: unknown[];
    expected: Map<string, { status: string; reason?: RegExp; error?: string }>;
  }

  /**
   * Run 1 fails: netconfig errors on node 4, so node 4's later tasks are never reached; node 5's
   * `openstack-network-compute-nova`-like last task starts and never finishes; `skipped`-type tasks are
   * reported skipped; everything else succeeds.
   */
  function failingRun(uuid: string): Plan {
    const casts: unknown[] = [];
    const expected: Plan['expected'] = new Map();
    const base = Date.parse('2026-03-01T08:00:00Z');
    let clock = 0;
    const at = () => new Date(base + 1000 * clock++).toISOString();
    for (const [node, tasks] of Object.entries(graph)) {
      const uid = node === 'null' ? null : node;
      let broken = false;
      tasks.forEach((tk, i) => {
        if (broken) {
          expected.set(key(uid, tk.id), {
            status: 'skipped',
            reason: /^not reached: transaction ended with error \(Deployment has failed\. Check the deployment history\.\)$/,
          });
          return;
        }
        casts.push(resp(uuid, [task(uid, tk.id, 'running', { time: at() })]));
        if (node === '4' && tk.id === 'netconfig') {
          casts.push(resp(uuid, [task(uid, tk.id, 'error', { time: at(), error_msg: 'Task netconfig failed on node node-4' })]));
          expected.set(key(uid, tk.id), { status: 'error', error: 'Task netconfig failed on node node-4' });
          broken = true;
        } else if (node === '5' && i === tasks.length - 1) {
          expected.set(key(uid, tk.id), {
            status: 'error',
            reason: /^did not finish: transaction ended with error \(Deployment has failed\. Check the deployment history\.\)$/,
          });
        } else if (tk.type === 'skipped') {
          casts.push(resp(uuid, [task(uid, tk.id, 'skipped', { time: at() })]));
          expected.set(key(uid, tk.id), { status: 'skipped' });
        } else {
          casts.push(resp(uuid, [task(uid, tk.id, 'ready', { time: at() })]));
          expected.set(key(uid, tk.id), { status: 'ready' });
        }
      });
    }
    casts.push(finish(uuid, 'error', { error: 'Deployment has failed. Check the deployment history.', time: at() }));
    return { casts, expected };
  }

  /** Run 2 succeeds everywhere, with Astute's raw status names for some nodes. */
  function succeedingRun(uuid: string): Plan {
    const casts: unknown[] = [];
    const expected: Plan['expected'] = new Map();
    for (const [node, tasks] of Object.entries(graph)) {
      const uid = node === 'null' ? null : node;
      for (const tk of tasks) {
        const done = tk.type === 'skipped' ? 'skipped' : node === '2' ? 'successful' : 'ready';
        casts.push(resp(uuid, [task(uid, tk.id, 'running')]), resp(uuid, [task(uid, tk.id, done)]));
        expected.set(key(uid, tk.id), { status: tk.type === 'skipped' ? 'skipped' : 'ready' });
      }
    }
    casts.push(finish(uuid, 'ready'));
    return { casts, expected };
  }

  /** Shuffled, with a fifth of the casts sent twice. */
  const deliver = (casts: unknown[], seed: number) => shuffle([...casts, ...casts.filter((_, i) => i % 5 === 0)], seed);

  const run1 = failingRun('acc-run-1');
  const run2 = succeedingRun('acc-run-2');
  let ids: Record<string, number>;

  beforeAll(async () => {
    t = await startApp({ amqp: true });
    bus = await Bus.connect();
    const ex = t.config.amqpExchange;
    const east = { id: 1, name: 'prod-east', release: 'mitaka-9.0' };
    // The starts go first (the orchestrator announces a run before casting its tasks); the rest is shuffled.
    await bus.publishAll(ex, 'nailgun', [
      start('acc-run-1', east, graph),
      start('acc-run-2', east, graph, { parent_task_uuid: 'acc-run-1' }),
      start('acc-run-legacy', { id: 2, name: 'legacy', release: 'liberty-8.0' }, graph),
      start('acc-run-1', east, { '9': [{ id: 'must-not-appear' }] }),
    ]);
    const legacy = [
      ...resp('acc-run-legacy', [task('1', 'netconfig', 'ready')]).args.nodes.map(() =>
        resp('acc-run-legacy', [task('1', 'netconfig', 'ready')]),
      ),
      finish('acc-run-legacy', 'ready'),
    ];
    await bus.publishAll(ex, 'nailgun', deliver([...run1.casts, ...run2.casts, ...legacy], 20261125));
    await waitFor(
      async () => {
        const list = (await t.http().get('/api/v1/transactions').expect(200)).body as Array<{ uuid: string; status: string }>;
        return list.length === 3 && list.every((x) => x.status !== 'running');
      },
      'all three runs to end',
      60000,
    );
    await waitFor(async () => (await bus.queueDepth(t.config.amqpQueue)).messages === 0, 'the queue to drain', 60000);
    const list = (await t.http().get('/api/v1/transactions').expect(200)).body as Array<{ uuid: string; id: number }>;
    ids = Object.fromEntries(list.map((x) => [x.uuid, x.id]));
  }, 120000);
  afterAll(async () => {
    if (t) await bus?.removeDeclared(t.config);
    await bus?.close();
    await t?.close();
  });

  async function checkRun(id: number, plan: Plan) {
    // Every row reaches its final state, even though the run's final status may have come first.
    const rows = await waitFor(async () => {
      const body = (await t.http().get(`/api/v1/transactions/${id}/deployment_history/`).expect(200)).body as Array<Record<string, any>>;
      return body.every((r) => r.status === plan.expected.get(key(r.node_id, r.task_name))?.status) && body;
    }, 'every row of the run in its expected status');
    expect(rows).toHaveLength(allRows.length);
    expect(new Set(rows.map((r) => key(r.node_id, r.task_name)))).toEqual(new Set(plan.expected.keys()));
    for (const r of rows) {
      const want = plan.expected.get(key(r.node_id, r.task_name))!;
      expect({ row: key(r.node_id, r.task_name), status: r.status }).toEqual({ row: key(r.node_id, r.task_name), status: want.status });
      if (want.reason) expect(r.closed_reason).toMatch(want.reason);
      else expect(r.closed_reason).toBeNull();
      if (want.error) expect(r.error_message).toBe(want.error);
      expect(r.type).toBe(graph[r.node_id ?? 'null'].find((tk) => tk.id === r.task_name)!.type);
      if (r.time_start && r.time_end) expect(Date.parse(r.time_start)).toBeLessThanOrEqual(Date.parse(r.time_end));
      if (r.status !== 'pending') expect(r.time_end).not.toBeNull();
    }
    return rows;
  }

  it('lists run 1 (failed) with every row as the scenario dictates', async () => {
    const rows = await checkRun(ids['acc-run-1'], run1);
    const counts = rows.reduce<Record<string, number>>((c, r) => ({ ...c, [r.status]: (c[r.status] ?? 0) + 1 }), {});
    expect(counts.error).toBe(2);
    expect(counts.skipped).toBeGreaterThan(10);
    expect(rows.some((r) => r.task_name === 'must-not-appear')).toBe(false);
  });

  it('lists run 2 (succeeded) with every row ready or skipped', async () => {
    const rows = await checkRun(ids['acc-run-2'], run2);
    expect(rows.filter((r) => r.status === 'ready').length).toBe(rows.filter((r) => r.type !== 'skipped').length);
  });

  it('lists one node within a run', async () => {
    const node4 = (await t.http().get(`/api/v1/transactions/${ids['acc-run-1']}/deployment_history?nodes=4`).expect(200)).body as Array<
      Record<string, any>
    >;
    expect(node4.map((r) => r.task_name).sort()).toEqual(graph['4'].map((tk) => tk.id).sort());
    const firstSkipped = graph['4'].findIndex((tk) => tk.id === 'netconfig') + 1;
    for (const tk of graph['4'].slice(firstSkipped)) expect(node4.find((r) => r.task_name === tk.id)!.status).toBe('skipped');
    const failed = (await t.http().get(`/api/v1/transactions/${ids['acc-run-1']}/deployment_history?statuses=error`).expect(200)).body;
    expect(failed.map((r: { node_id: string; task_name: string }) => r.node_id)).toEqual(['4', '5']);
    const master = (await t.http().get(`/api/v1/transactions/${ids['acc-run-2']}/deployment_history?nodes=master`).expect(200)).body;
    expect(master).toHaveLength(graph.master.length);
  });

  it('lists the runs of each cluster', async () => {
    const east = (await t.http().get('/api/v1/transactions?cluster_id=1').expect(200)).body;
    expect(east.map((x: Record<string, unknown>) => [x.uuid, x.status, x.progress])).toEqual([
      ['acc-run-1', 'error', 100],
      ['acc-run-2', 'ready', 100],
    ]);
    expect(east[0].message).toBe('Deployment has failed. Check the deployment history.');
    expect(east[1].parent_id).toBe(east[0].id);
    const legacy = (await t.http().get('/api/v1/transactions?cluster_id=2').expect(200)).body;
    expect(legacy.map((x: Record<string, unknown>) => [x.uuid, x.status])).toEqual([['acc-run-legacy', 'ready']]);
  });

  it('refuses the pre-9.0 run its history with 409, and stored none', async () => {
    const res = await t.http().get(`/api/v1/transactions/${ids['acc-run-legacy']}/deployment_history`).expect(409);
    expect(res.body.message).toMatch(/liberty-8\.0.*9\.0/);
    const n = (await t.sql.query('SELECT count(*)::int AS n FROM deployment_history WHERE transaction_id = $1', [ids['acc-run-legacy']]))
      .rows[0].n;
    expect(n).toBe(0);
  });

  it('lost nothing: no dead letters, every duplicate start ignored', async () => {
    expect((await bus.queueDepth(`${t.config.amqpQueue}.dead-letter`)).messages).toBe(0);
    const stats = (await t.http().get('/api/v1/receiver/stats').expect(200)).body;
    expect(stats.duplicates).toBe(1);
    expect(stats.dead_lettered).toBe(0);
  });
});
