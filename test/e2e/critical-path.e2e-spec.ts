import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTaskGraph, requiresOf, type NodeId, type TaskDefinition, type TasksGraph } from '../../src/history/task-graph';
import { finish, Graph, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { fuelEnvironmentGraph, fuelTasks } from '../support/fuel-data';

/**
 * Issue #15 §1: `GET /api/v1/transactions/:id/critical_path`, on the real app and a fresh database, the
 * runs posted as casts with every time given, so every expected value is exact: an Astute-form graph
 * with a known longest chain and known waits, a graph without dependencies (fallback), a running run,
 * the real Fuel 9.0 graph (fuel-library form, roles from args.nodes), the answer kept for a finished run
 * and forgotten by a late report, and the errors.
 */
describe('critical path of a run', () => {
  let t: TestApp;
  const cluster = { id: 301, name: 'paths', release: 'mitaka-9.0' };
  const legacy = { id: 302, name: 'legacy', release: 'liberty-8.0' };
  const T0 = Date.parse('2025-05-01T10:00:00Z');
  /** ISO time `s` seconds after T0. */
  const at = (s: number) => new Date(T0 + s * 1000).toISOString();

  async function run(...casts: unknown[]): Promise<number> {
    const res = await t.http().post('/api/v1/casts').send(casts);
    if (res.status !== 200) throw new Error(`POST /casts answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body[0].transaction_id as number;
  }
  /** A task that ran from `from` to `to` (seconds after T0), ending `status`. */
  const ran = (node: string | null, name: string, from: number, to: number, status = 'ready') => [
    task(node, name, 'running', { time: at(from) }),
    task(node, name, status, { time: at(to) }),
  ];
  const path = (id: number) => t.http().get(`/api/v1/transactions/${id}/critical_path`);
  const kept = async (id: number) =>
    (await t.sql.query('SELECT critical_path_cache AS c FROM transactions WHERE id = $1', [id])).rows[0].c as Record<
      string,
      unknown
    > | null;
  /** A step as the answer gives it, from seconds after T0. */
  const step = (
    node_id: string | null,
    task_name: string,
    from: number,
    to: number,
    wait: number,
    via: string | null,
    status = 'ready',
  ) => ({
    node_id,
    task_name,
    status,
    time_start: at(from),
    time_end: at(to),
    duration_s: to - from,
    wait_s: wait,
    via,
  });

  const KEYS = [
    'transaction_id',
    'status',
    'fallback',
    'running',
    'time_start',
    'time_end',
    'duration_s',
    'tasks_s',
    'waiting_s',
    'edges',
    'steps',
  ];
  const STEP_KEYS = ['node_id', 'task_name', 'status', 'time_start', 'time_end', 'duration_s', 'wait_s', 'via'];

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.close());

  describe('an Astute-form graph ({name, node_id} requires across nodes)', () => {
    const dep = (name: string, node_id: string | null) => ({ name, node_id });
    // netconfig differs between the nodes (so one of them is kept as the node's own definition);
    // deploy_start's required_for repeats an edge; a requirement on node 9 (not in the run) is dropped.
    const graph: Graph = {
      null: [{ id: 'deploy_start', type: 'stage', required_for: [dep('hiera', '1')] }],
      '1': [
        { id: 'hiera', type: 'puppet', requires: [dep('deploy_start', null)] },
        { id: 'netconfig', type: 'puppet', requires: [dep('hiera', '1')] },
        { id: 'ceph', type: 'puppet', requires: [dep('netconfig', '1'), dep('netconfig', '2'), dep('ceph', '9')] },
        { id: 'globals', type: 'puppet' },
      ],
      '2': [
        { id: 'hiera', type: 'puppet', requires: [dep('deploy_start', null)] },
        { id: 'netconfig', type: 'puppet', requires: [dep('hiera', '2')] },
      ],
    };
    let id: number;

    beforeAll(async () => {
      id = await run(
        start('astute-1', cluster, graph, { time: at(0) }),
        resp('astute-1', [
          ...ran(null, 'deploy_start', 0, 2),
          ...ran('1', 'hiera', 3, 10),
          ...ran('2', 'hiera', 2, 5),
          ...ran('1', 'netconfig', 12, 20),
          ...ran('2', 'netconfig', 6, 30),
          // Node 1's netconfig ended last on the node before ceph started, but node 2's, which ceph requires, ended later.
          ...ran('1', 'ceph', 33, 40),
          // No dependency in the graph: the task before it on its node.
          ...ran('1', 'globals', 41, 45),
        ]),
        finish('astute-1', 'ready', { time: at(50) }),
      );
    });

    it('walks back from the last end through the requirement that ended last, then the node', async () => {
      const res = await path(id).expect(200);
      expect(res.body).toEqual({
        transaction_id: id,
        status: 'ready',
        fallback: false,
        running: false,
        time_start: at(0),
        time_end: at(45),
        duration_s: 45,
        tasks_s: 2 + 3 + 24 + 7 + 4,
        waiting_s: 5,
        edges: 6,
        steps: [
          step(null, 'deploy_start', 0, 2, 0, null),
          step('2', 'hiera', 2, 5, 0, 'requires'),
          step('2', 'netconfig', 6, 30, 1, 'requires'),
          step('1', 'ceph', 33, 40, 3, 'requires'),
          step('1', 'globals', 41, 45, 1, 'node'),
        ],
      });
      // The keys in the contract's order, first computed or kept.
      expect(Object.keys(res.body)).toEqual(KEYS);
      expect(Object.keys(res.body.steps[0])).toEqual(STEP_KEYS);
      expect((await path(id).expect(200)).body).toEqual(res.body);
      expect(Object.keys((await path(id).expect(200)).body.steps[1])).toEqual(STEP_KEYS);
    });
  });

  it('without dependency information: the same-node chain, and says so', async () => {
    const id = await run(
      start('nodeps-1', cluster, { '1': [{ id: 'a' }, { id: 'b' }, { id: 'c' }], '2': [{ id: 'x' }] }, { time: at(0) }),
      resp('nodeps-1', [...ran('1', 'a', 0, 5), ...ran('2', 'x', 0, 8), ...ran('1', 'b', 6, 10), ...ran('1', 'c', 11, 25, 'error')]),
      finish('nodeps-1', 'error', { time: at(30) }),
    );
    expect((await path(id).expect(200)).body).toEqual({
      transaction_id: id,
      status: 'error',
      fallback: true,
      running: false,
      time_start: at(0),
      time_end: at(25),
      duration_s: 25,
      tasks_s: 5 + 4 + 14,
      waiting_s: 2,
      edges: 0,
      steps: [step('1', 'a', 0, 5, 0, null), step('1', 'b', 6, 10, 1, 'node'), step('1', 'c', 11, 25, 1, 'node', 'error')],
    });
  });

  it('a running run: the path so far, its open task up to the time of the answer, computed each time and never kept', async () => {
    const graph: Graph = { '1': [{ id: 'a' }, { id: 'b', requires: [{ name: 'a', node_id: '1' }] }] };
    const id = await run(
      start('running-1', cluster, graph, { time: at(0) }),
      resp('running-1', [...ran('1', 'a', 1, 10), task('1', 'b', 'running', { time: at(12) })]),
    );
    for (let i = 0; i < 2; i++) {
      const before = Date.now();
      const body = (await path(id).expect(200)).body;
      const after = Date.now();
      const end = Date.parse(body.time_end);
      expect(end).toBeGreaterThanOrEqual(before);
      expect(end).toBeLessThanOrEqual(after);
      const openMs = end - (T0 + 12_000);
      expect(body).toEqual({
        transaction_id: id,
        status: 'running',
        fallback: false,
        running: true,
        time_start: at(1),
        time_end: body.time_end,
        duration_s: (end - (T0 + 1000)) / 1000,
        tasks_s: (9000 + openMs) / 1000,
        waiting_s: 2,
        edges: 1,
        steps: [
          step('1', 'a', 1, 10, 0, null),
          { ...step('1', 'b', 12, 12, 2, 'requires', 'running'), time_end: body.time_end, duration_s: openMs / 1000 },
        ],
      });
      expect(await kept(id)).toBeNull();
    }
  });

  it('a running run whose tasks all ended so far is still running', async () => {
    const id = await run(start('running-2', cluster, { '1': [{ id: 'a' }] }, { time: at(0) }), resp('running-2', ran('1', 'a', 0, 4)));
    const body = (await path(id).expect(200)).body;
    expect([body.status, body.running, body.duration_s, body.steps.length]).toEqual(['running', true, 4, 1]);
    expect(await kept(id)).toBeNull();
  });

  it('a finished run: computed once, then served as kept; a late report forgets it and the answer changes', async () => {
    const graph: Graph = { '1': [{ id: 'a' }, { id: 'b', requires: [{ name: 'a', node_id: '1' }] }] };
    const id = await run(
      start('late-1', cluster, graph, { time: at(0) }),
      resp('late-1', [task('1', 'a', 'running', { time: at(10) })]),
      finish('late-1', 'error', { time: at(60) }),
    );
    // a was cut short by the run's end; b never started (not part of any chain).
    const first = (await path(id).expect(200)).body;
    expect(first).toMatchObject({ duration_s: 50, tasks_s: 50, waiting_s: 0, steps: [step('1', 'a', 10, 60, 0, null, 'error')] });
    expect(await kept(id)).toMatchObject({ duration_s: 50, edges: 1 });
    // Served from what is kept, not computed again: a value changed behind the API's back shows.
    await t.sql.query(`UPDATE transactions SET critical_path_cache = jsonb_set(critical_path_cache, '{tasks_s}', '49') WHERE id = $1`, [
      id,
    ]);
    expect((await path(id).expect(200)).body).toEqual({ ...first, tasks_s: 49 });

    await run(resp('late-1', [task('1', 'b', 'error', { time: at(120), error_msg: 'b broke' })]));
    expect(await kept(id)).toBeNull();
    const after = (await path(id).expect(200)).body;
    expect(after).toEqual({
      ...first,
      time_end: at(120),
      duration_s: 110,
      tasks_s: 50,
      waiting_s: 60,
      steps: [step('1', 'a', 10, 60, 0, null, 'error'), step('1', 'b', 120, 120, 60, 'requires', 'error')],
    });
    expect(await kept(id)).toMatchObject({ duration_s: 110 });
    expect((await path(id).expect(200)).body).toEqual(after);
  });

  describe('the real Fuel 9.0 graph (fuel-library form: same-node requires, cross_depends on roles)', () => {
    const env = JSON.parse(readFileSync(join(__dirname, '../../../shared/data/fuel-9.0/example-environment.json'), 'utf8')) as {
      nodes: Record<string, { roles: string[] }>;
    };
    const roles = new Map(Object.entries(env.nodes).map(([node, { roles: r }]) => [node, r]));
    const full = fuelTasks() as unknown as Map<string, TaskDefinition>;
    const graph: TasksGraph = Object.fromEntries(
      Object.entries(fuelEnvironmentGraph()).map(([node, list]) => [node, list.map((d) => ({ ...full.get(d.id)!, id: d.id }))]),
    );
    /** A chain's tasks last this long: more than every other task and wait of the run together. */
    const LONG = 10_000;

    it('the chosen chain, made long, is the path; every time from a forward pass over the graph', async () => {
      const deps = buildTaskGraph(graph, roles);
      const plan = planRun(deps.tasks, (n, k) => requiresOf(deps, n, k), LONG);
      expect(plan.chain.length).toBeGreaterThan(10);
      // Across nodes: through stages (null), and cross_depends resolved on the nodes' roles (node 2's controller tasks).
      expect(new Set(plan.chain.map((r) => r.node))).toEqual(new Set([null, '1', '2']));
      const reports = deps.tasks.flatMap((r) => ran(r.node, r.task, plan.start.get(key(r))!, plan.end.get(key(r))!));
      const nodes = Object.fromEntries([...roles].filter(([n]) => /^\d+$/.test(n)).map(([n, r]) => [n, { roles: r }]));
      const id = await run(
        start('fuel-1', cluster, graph as Graph, { time: at(0), nodes }),
        resp('fuel-1', reports),
        finish('fuel-1', 'ready', { time: at(plan.last + 5) }),
      );
      const steps = plan.chain.map((r, i) =>
        step(r.node, r.task, plan.start.get(key(r))!, plan.end.get(key(r))!, i === 0 ? 0 : 1, i === 0 ? null : 'requires'),
      );
      const k = plan.chain.length;
      expect((await path(id).expect(200)).body).toEqual({
        transaction_id: id,
        status: 'ready',
        fallback: false,
        running: false,
        time_start: at(0),
        time_end: at(k * LONG + (k - 1)),
        duration_s: k * LONG + (k - 1),
        tasks_s: k * LONG,
        waiting_s: k - 1,
        // The graph rebuilt from the store has every edge nailgun would resolve (test/unit/task-graph.spec.ts).
        edges: 1764,
        steps,
      });
    });
  });

  it('404 for an unknown run, 409 for a run without task history, 400 for a parameter it does not take', async () => {
    expect((await path(999_999).expect(404)).body.message).toBe('Transaction not found');
    const old = await run(start('legacy-1', legacy, { '1': [{ id: 'a' }] }, { time: at(0) }));
    expect((await path(old).expect(409)).body.message).toMatch(/'liberty-8\.0' \(version 8\.0\).*9\.0 or later/);
    const known = await run(start('param-1', cluster, { '1': [{ id: 'a' }] }, { time: at(0) }));
    const refused = await t.http().get(`/api/v1/transactions/${known}/critical_path?nodes=1`).expect(400);
    expect(refused.body.message).toContain("'nodes'");
    await t.http().get('/api/v1/transactions/abc/critical_path').expect(400);
  });
});

type Ref = { node: NodeId; task: string };
const key = (r: Ref) => `${r.node}/${r.task}`;

/**
 * Times for a run of `tasks`: each starts 1 s after the last of its requirements ends (at 0 without
 * any), takes 1 s, except a chain (a longest one of edges no other requirement makes redundant, from a task
 * requiring nothing to one nothing requires) whose tasks take `long` each: then each chain task's
 * requirement that ends last is the one before it on the chain, and the chain's last task ends last.
 */
function planRun(tasks: readonly Ref[], requires: (node: NodeId, task: string) => readonly Ref[], long: number) {
  const { order, kept } = topological(tasks, requires);
  const index = new Map(order.map((r, i) => [key(r), i]));
  const reqs = order.map((r) => kept.get(key(r))!.map((d) => index.get(key(d))!));
  // ancestors[i]: every task i depends on, directly or not.
  const ancestors = order.map(() => new Set<number>());
  reqs.forEach((list, i) => list.forEach((d) => [d, ...ancestors[d]].forEach((a) => ancestors[i].add(a))));
  const required = new Set(reqs.flat());
  // Longest chain through edges d → i where no other requirement of i depends on d.
  const best = order.map(() => ({ length: 1, from: -1 }));
  reqs.forEach((list, i) => {
    if (list.length === 0) best[i].length = 1;
    for (const d of list) {
      if (list.some((o) => o !== d && ancestors[o].has(d))) continue;
      if (best[d].length + 1 > best[i].length) best[i] = { length: best[d].length + 1, from: d };
    }
  });
  let last = -1;
  best.forEach((b, i) => {
    // A chain must start at a task requiring nothing (its first link's length is 1 only then).
    if (!required.has(i) && startsAtSource(best, reqs, i) && (last < 0 || b.length > best[last].length)) last = i;
  });
  const chain: number[] = [];
  for (let i = last; i >= 0; i = best[i].from) chain.unshift(i);
  const onChain = new Set(chain);
  const start = new Map<string, number>();
  const end = new Map<string, number>();
  const ends: number[] = [];
  order.forEach((r, i) => {
    const begin = reqs[i].length === 0 ? 0 : Math.max(...reqs[i].map((d) => ends[d])) + 1;
    ends[i] = begin + (onChain.has(i) ? long : 1);
    start.set(key(r), begin);
    end.set(key(r), ends[i]);
  });
  return { chain: chain.map((i) => order[i]), start, end, last: Math.max(...ends) };
}

/** True when following `from` back from i ends at a task that requires nothing. */
function startsAtSource(best: Array<{ from: number }>, reqs: number[][], i: number): boolean {
  let at = i;
  while (best[at].from >= 0) at = best[at].from;
  return reqs[at].length === 0;
}

/**
 * The tasks, each after everything it requires, and what each requires once the graph's cycles are cut:
 * `/(primary-)?cluster/` (re.match) names cluster_health on the other controllers too, so those require
 * each other. The requirement that closes a cycle is left out; its task then runs after the one requiring
 * it started, so the walk cannot take that edge either.
 */
function topological(tasks: readonly Ref[], requires: (node: NodeId, task: string) => readonly Ref[]) {
  const order: Ref[] = [];
  const kept = new Map<string, Ref[]>();
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (r: Ref) => {
    const k = key(r);
    if (state.has(k)) return;
    state.set(k, 'visiting');
    const deps: Ref[] = [];
    for (const d of requires(r.node, r.task)) {
      visit(d);
      if (state.get(key(d)) === 'done') deps.push(d);
    }
    kept.set(k, deps);
    state.set(k, 'done');
    order.push(r);
  };
  tasks.forEach(visit);
  return { order, kept };
}
