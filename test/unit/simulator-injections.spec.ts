import { checkInjectedTasks, flakyOption, simulatedTaskNames, slowOption } from '../../src/simulator/injections';
import type { ReportArgs } from '../../src/receiver/cast-builder';
import { makePlan, Plan, SimOptions } from '../../src/simulator/plan';

/**
 * The simulator's `--slow TASK=FACTOR` and `--flaky TASK=RATE` (issue #15): exact answers for a seed,
 * worked out from the planned casts (the plan is what the simulator sends).
 */
const BASE: SimOptions = {
  clusters: 1,
  nodes: 3,
  tasks: 12,
  runs: 3,
  seed: '15',
  failureRate: 0,
  duplicates: 0,
  outOfOrder: 0,
  release: 'mitaka-9.0',
  firstCluster: 1,
  prefix: 'sim',
  method: 'transaction_resp',
};

interface Row {
  start?: number;
  end?: number;
  status: string;
  error?: string;
}

/** Per `run|node|task`: when its task report said running, when it ended and how (from the event times). */
function rows(plan: Plan): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const d of plan.deliveries) {
    const e = (d.cast.args as ReportArgs).nodes?.[0];
    if (d.kind !== 'report' || e?.deployment_graph_task_name === undefined) continue;
    const k = `${d.run}|${e.uid}|${e.deployment_graph_task_name}`;
    const row = out.get(k) ?? { status: 'pending' };
    if (e.task_status === 'running') row.start = d.at;
    else row.end = d.at;
    row.status = e.task_status as string;
    if (e.error_msg) row.error = e.error_msg;
    out.set(k, row);
  }
  return out;
}

const ofTask = (plan: Plan, task: string) => [...rows(plan)].filter(([k]) => k.endsWith(`|${task}`));
const durations = (plan: Plan, task: string) =>
  ofTask(plan, task)
    .filter(([, r]) => r.start !== undefined && r.end !== undefined)
    .map(([k, r]) => [k, Math.round((r.end! - r.start!) * 1000) / 1000] as const);

describe('simulator --slow TASK=FACTOR', () => {
  it("multiplies that task's duration on every node of every run, and no other task's", () => {
    const base = durations(makePlan(BASE), 'netconfig');
    const slow = makePlan({ ...BASE, slow: { netconfig: 4 } });
    const slowed = durations(slow, 'netconfig');
    // The same draws: the same rows ran, each 4× as long (event times are kept to the millisecond).
    expect(slowed.map(([k]) => k)).toEqual(base.map(([k]) => k));
    // 7 of the 9 (run, node) pairs ran it (2 were skipped by their condition, as the seed drew).
    expect(base.map(([, d]) => d)).toEqual([55.57, 20.991, 51.338, 75.813, 39.933, 31.32, 54.345]);
    slowed.forEach(([, d], i) => expect(Math.abs(d - base[i][1] * 4)).toBeLessThanOrEqual(0.004));
    expect(slowed.map(([, d]) => d)).toEqual([222.281, 83.967, 205.355, 303.251, 159.731, 125.279, 217.381]);
    const hiera = (p: Plan) => durations(p, 'hiera').map(([, d]) => d);
    hiera(slow).forEach((d, i) => expect(Math.abs(d - hiera(makePlan(BASE))[i])).toBeLessThanOrEqual(0.002));
  });
});

describe('simulator --flaky TASK=RATE', () => {
  // Computes only run top-role-compute: its failure stops that node and halts nothing, so every compute reaches it.
  const MANY: SimOptions = { ...BASE, nodes: 10, runs: 40 };
  const failed = (plan: Plan, task: string) => ofTask(plan, task).filter(([, r]) => r.status === 'error');

  it('fails the task at that rate per node per run, the same count for the same seed', () => {
    const plan = makePlan({ ...MANY, flaky: { 'top-role-compute': 0.3 } });
    const tried = ofTask(plan, 'top-role-compute');
    expect(tried).toHaveLength(7 * 40);
    // 73 of 280 (84 on average at 0.3): the seed's draws.
    expect(failed(plan, 'top-role-compute')).toHaveLength(73);
    expect(failed(makePlan({ ...MANY, flaky: { 'top-role-compute': 0.3 } }), 'top-role-compute')).toHaveLength(73);
    // Nothing else failed; each failure is an error like the simulator's own, and fails its run.
    expect(plan.runs.reduce((n, r) => n + r.expected.error, 0)).toBe(73);
    expect(plan.runs.reduce((n, r) => n + r.failures.length, 0)).toBe(73);
    expect(failed(plan, 'top-role-compute')[0][1].error).toMatch(/^Task top-role-compute failed on node-\d+: /);
    for (const r of plan.runs) expect(r.status).toBe(r.failures.length ? 'error' : 'ready');
  });

  it('rate 0 never fails, rate 1 always fails (every node that reaches it)', () => {
    const never = makePlan({ ...MANY, flaky: { hiera: 0 } });
    expect(ofTask(never, 'hiera').every(([, r]) => r.status === 'ready')).toBe(true);
    expect(ofTask(never, 'hiera')).toHaveLength(10 * 40);
    expect(never.runs.every((r) => r.status === 'ready')).toBe(true);

    const always = makePlan({ ...MANY, flaky: { hiera: 1 } });
    const reached = ofTask(always, 'hiera').filter(([, r]) => r.end !== undefined);
    expect(reached.length).toBeGreaterThan(40);
    expect(reached.every(([, r]) => r.status === 'error')).toBe(true);
    expect(always.runs.every((r) => r.status === 'error')).toBe(true);
  });

  it('leaves the rest of the plan alone when not given', () => {
    const a = makePlan({ ...BASE, failureRate: 0.5 });
    const b = makePlan({ ...BASE, failureRate: 0.5, flaky: {}, slow: {} });
    expect(b).toEqual(a);
  });
});

describe('--slow and --flaky on the command line', () => {
  it('parse TASK=NUMBER, repeatable, into one map', () => {
    expect(slowOption('hiera=2.5', slowOption('netconfig=3', undefined))).toEqual({ netconfig: 3, hiera: 2.5 });
    expect(flakyOption('hiera=0', undefined)).toEqual({ hiera: 0 });
    expect(flakyOption('hiera=1', undefined)).toEqual({ hiera: 1 });
  });

  it('refuse bad syntax, a factor ≤ 0, a rate outside [0, 1], a task named twice', () => {
    expect(() => slowOption('netconfig', undefined)).toThrow("--slow takes TASK=NUMBER (e.g. --slow netconfig=3), got 'netconfig'.");
    expect(() => slowOption('netconfig=0', undefined)).toThrow('--slow netconfig=0: the number must be a factor above 0.');
    expect(() => slowOption('netconfig=-1', undefined)).toThrow('--slow netconfig=-1: the number must be a factor above 0.');
    expect(() => flakyOption('hiera=1.01', undefined)).toThrow('--flaky hiera=1.01: the number must be a rate from 0 to 1.');
    expect(() => flakyOption('hiera=x', undefined)).toThrow('--flaky hiera=x: the number must be a rate from 0 to 1.');
    expect(() => flakyOption('hiera=0.2', { hiera: 0.5 })).toThrow('--flaky names hiera twice.');
  });

  it('refuse a task the simulation does not run, naming the ones it does', () => {
    expect(simulatedTaskNames(3, 4)).toEqual([
      'upload_configuration',
      'hiera',
      'globals',
      'netconfig',
      'generate_keys',
      'generate_haproxy_keys',
      'prepare_symlinks',
      'refresh_master_hosts',
    ]);
    expect(() => checkInjectedTasks({ nodes: 3, tasks: 4, flaky: { database: 0.3 } })).toThrow(
      "--flaky: no task 'database' in this simulation (--nodes 3 --tasks 4); its tasks: upload_configuration, hiera, globals, netconfig, " +
        'generate_keys, generate_haproxy_keys, prepare_symlinks, refresh_master_hosts',
    );
    expect(() => checkInjectedTasks({ nodes: 3, tasks: 12, slow: { nope: 2 } })).toThrow(/^--slow: no task 'nope' .*, \.\.\. \(9 more\)$/);
    expect(() => checkInjectedTasks({ nodes: 3, tasks: 4, slow: { hiera: 2 }, flaky: { generate_keys: 1 } })).not.toThrow();
  });
});

describe("the simulator's graph", () => {
  it("ties each stage's part of a node's chain to the stage's start and end, so the critical path goes through the nodes' tasks", () => {
    const startCast = makePlan(BASE).deliveries.find((d) => d.kind === 'start')!.cast;
    const graph = (
      startCast.args as unknown as { tasks_graph: Record<string, Array<{ id: string; requires: string[]; required_for?: string[] }>> }
    ).tasks_graph;
    const edges = graph['1'].map((t) => [t.id, t.requires, t.required_for ?? []]);
    expect(edges).toEqual([
      ['upload_configuration', ['pre_deployment_start'], []],
      ['hiera', ['upload_configuration'], []],
      ['globals', ['hiera'], ['pre_deployment_end']],
      ['netconfig', ['globals', 'deploy_start'], []],
      ['firewall', ['netconfig'], []],
      ['openstack-haproxy-mysqld', ['firewall'], []],
      ['database', ['openstack-haproxy-mysqld'], []],
      ['memcached', ['database'], []],
      ['keystone', ['memcached'], []],
      ['openstack-controller', ['keystone'], ['deploy_end']],
      ['update_hosts', ['openstack-controller', 'post_deployment_start'], []],
      ['ntp-client', ['update_hosts'], ['post_deployment_end']],
    ]);
    expect(graph.master.map((t) => [t.id, t.requires, t.required_for ?? []])).toEqual([
      ['generate_keys', ['pre_deployment_start'], []],
      ['generate_haproxy_keys', ['generate_keys'], []],
      ['prepare_symlinks', ['generate_haproxy_keys'], ['pre_deployment_end']],
      ['refresh_master_hosts', ['prepare_symlinks', 'post_deployment_start'], ['post_deployment_end']],
    ]);
  });
});
