import {
  CLUSTER_NAMES,
  CORE_TASKS,
  definition,
  deploymentSnapshots,
  FAILURE_REASONS,
  MASTER_TASKS,
  NODE_TASKS,
  Role,
  Stage,
  STAGES,
  TaskTemplate,
} from './fixture';
import { Rng } from './rng';

/**
 * The simulated orchestrator's plan: every cast of every run with its virtual time, worked out in
 * advance from the seed, and what the service should hold once all of them are applied.
 *
 * Times are virtual seconds from the simulation's start. A cast carries its event time (`time`); it is
 * delivered at `deliverAt`, which is later than its time for the few casts delivered out of order.
 */
export interface SimOptions {
  clusters: number;
  nodes: number;
  /** Tasks per deployed node. */
  tasks: number;
  /** Runs in all, dealt to the clusters in turn. */
  runs: number;
  seed: string;
  /** Chance that a run has a failing task. */
  failureRate: number;
  /** Chance that a task report is sent twice. */
  duplicates: number;
  /** Chance that a task report is delivered late (after casts sent after it). */
  outOfOrder: number;
  release: string;
  firstCluster: number;
  prefix: string;
  method: 'transaction_resp' | 'deploy_resp';
}

export const TASK_STATUSES = ['pending', 'running', 'ready', 'error', 'skipped'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type Counts = Record<TaskStatus, number>;

/** A cast whose `time` fields are virtual seconds, stamped as ISO times when sent. */
export interface Cast {
  method: string;
  args: { task_uuid: string; time: number; nodes?: Array<Record<string, unknown> & { time?: number }>; [k: string]: unknown };
}

export interface Delivery {
  deliverAt: number;
  /** Order of generation, to keep delivery stable among equal times. */
  seq: number;
  run: string;
  kind: 'start' | 'report' | 'final';
  cast: Cast;
  duplicate: boolean;
  late: boolean;
}

export interface PlannedRun {
  uuid: string;
  clusterId: number;
  clusterName: string;
  /** 1-based, per cluster. */
  number: number;
  status: 'ready' | 'error';
  /** Rows per status once the run has ended and the service has closed out what was not reached. */
  expected: Counts;
  total: number;
  failure: { node: string; task: string } | null;
  startAt: number;
  endAt: number;
}

export interface Plan {
  runs: PlannedRun[];
  deliveries: Delivery[];
  /** The last delivery's virtual time. */
  span: number;
  duplicates: number;
  late: number;
}

interface Step {
  node: string | null;
  task: TaskTemplate;
  skip: boolean;
  fail: boolean;
  /** How long it runs, and the pause before the node's next task. */
  seconds: number;
  gap: number;
}

const key = (node: string | null, task: string) => `${node ?? 'null'}|${task}`;
const round = (t: number) => Math.round(t * 1000) / 1000;

/**
 * The tasks a node of `role` runs, `count` of them in chain order: the best-known ones first (see
 * CORE_TASKS), then others spread over the chain; past the chain's end, extra deployment steps.
 */
export function nodeChain(role: Role, count: number): TaskTemplate[] {
  const full = NODE_TASKS.filter((t) => t.roles.includes(role));
  if (count >= full.length) {
    const extra: TaskTemplate[] = Array.from({ length: count - full.length }, (_, i) => ({
      id: `custom-step-${i + 1}`,
      type: 'puppet',
      stage: 'deployment',
      roles: [role],
      seconds: [10, 60],
    }));
    const firstPost = full.findIndex((t) => t.stage === 'post_deployment');
    return [...full.slice(0, firstPost), ...extra, ...full.slice(firstPost)];
  }
  const chosen = new Set(CORE_TASKS.filter((id) => full.some((t) => t.id === id)).slice(0, count));
  const rest = full.filter((t) => !chosen.has(t.id));
  const more = count - chosen.size;
  for (let i = 0; i < more; i++) chosen.add(rest[Math.floor(((i + 0.5) * rest.length) / more)].id);
  return full.filter((t) => chosen.has(t.id));
}

export function makePlan(o: SimOptions): Plan {
  const rng = new Rng(o.seed);
  const runs: PlannedRun[] = [];
  const deliveries: Delivery[] = [];
  let seq = 0;
  // Runs of one cluster follow each other; clusters deploy side by side.
  const clusterClock = new Map<number, number>();
  const lastStatuses = new Map<number, Map<string, TaskStatus>>();
  const perCluster = new Map<number, number>();

  for (let r = 0; r < o.runs; r++) {
    const ci = r % o.clusters;
    const clusterId = o.firstCluster + ci;
    const clusterName =
      CLUSTER_NAMES[ci % CLUSTER_NAMES.length] + (ci >= CLUSTER_NAMES.length ? `-${Math.floor(ci / CLUSTER_NAMES.length) + 1}` : '');
    const number = (perCluster.get(clusterId) ?? 0) + 1;
    perCluster.set(clusterId, number);
    const t0 = clusterClock.get(clusterId) ?? round(ci * rng.between(2, 8));
    const uuid = `${o.prefix}-c${clusterId}-r${number}`;
    const built = planRun(rng, o, { uuid, clusterId, clusterName, clusterIndex: ci, number, t0, previous: lastStatuses.get(clusterId) });
    lastStatuses.set(clusterId, built.statuses);
    clusterClock.set(clusterId, round(built.run.endAt + rng.between(60, 300)));
    runs.push(built.run);
    for (const e of built.events) {
      deliveries.push({ deliverAt: e.cast.args.time, seq: seq++, run: uuid, kind: e.kind, cast: e.cast, duplicate: false, late: false });
    }
  }

  // Duplicates and late deliveries, among task reports only: a run's start always comes first and
  // its final status last, as the orchestrator sends them.
  const finalAt = new Map(runs.map((r) => [r.uuid, r.endAt]));
  let duplicates = 0;
  let late = 0;
  for (const d of [...deliveries]) {
    if (d.kind !== 'report') continue;
    const limit = finalAt.get(d.run)! - 0.001;
    if (rng.chance(o.outOfOrder)) {
      const at = round(Math.min(limit, d.deliverAt + rng.between(2, 40)));
      if (at > d.deliverAt) {
        d.deliverAt = at;
        d.late = true;
        late++;
      }
    }
    if (rng.chance(o.duplicates)) {
      deliveries.push({
        ...d,
        deliverAt: round(Math.min(limit, d.deliverAt + rng.between(0, 5))),
        seq: seq++,
        duplicate: true,
        late: false,
      });
      duplicates++;
    }
  }
  deliveries.sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
  return { runs, deliveries, span: deliveries.length ? deliveries[deliveries.length - 1].deliverAt : 0, duplicates, late };
}

interface RunContext {
  uuid: string;
  clusterId: number;
  clusterName: string;
  clusterIndex: number;
  number: number;
  t0: number;
  previous?: Map<string, TaskStatus>;
}

function planRun(
  rng: Rng,
  o: SimOptions,
  c: RunContext,
): { run: PlannedRun; events: Array<{ kind: Delivery['kind']; cast: Cast }>; statuses: Map<string, TaskStatus> } {
  // Nodes: a few controllers, the rest computes; node ids are unique across clusters, as in Fuel.
  const controllers = Math.min(3, Math.max(1, Math.floor(o.nodes / 3)));
  const nodes = Array.from({ length: o.nodes }, (_, j) => ({
    uid: String(c.clusterIndex * o.nodes + j + 1),
    role: (j < controllers ? 'controller' : 'compute') as Role,
  }));
  const chains = new Map(nodes.map((n) => [n.uid, nodeChain(n.role, o.tasks)]));

  // The graph announced by transaction_start.
  const graph: Record<string, Array<Record<string, unknown>>> = {};
  const stageList = Object.values(STAGES).flat();
  graph.null = stageList.map((id, i) =>
    definition({ id, type: 'stage', stage: 'deployment', roles: [], seconds: [0, 1] }, i ? [stageList[i - 1]] : []),
  );
  graph.master = MASTER_TASKS.map((t, i) => definition(t, i ? [MASTER_TASKS[i - 1].id] : ['pre_deployment_start'], ['master']));
  for (const n of nodes)
    graph[n.uid] = chains.get(n.uid)!.map((t, i, all) => definition(t, i ? [all[i - 1].id] : ['pre_deployment_start']));
  const rows: Array<{ node: string | null; task: string }> = Object.entries(graph).flatMap(([node, list]) =>
    list.map((t) => ({ node: node === 'null' ? null : node, task: t.id as string })),
  );

  const newStep = (node: string, task: TaskTemplate, skip: boolean): Step => ({
    node,
    task,
    skip,
    fail: false,
    seconds: skip ? rng.between(0.1, 0.5) : rng.between(task.seconds[0], task.seconds[1]),
    gap: rng.between(0.2, 2),
  });

  // Which tasks are skipped by their condition (on a redeploy, often because nothing changed), and which one fails.
  const steps = new Map<string, Step[]>();
  for (const n of nodes) {
    steps.set(
      n.uid,
      chains.get(n.uid)!.map((task) => {
        const before = c.previous?.get(key(n.uid, task.id));
        const p = task.conditional ? 0.5 : before === 'ready' ? 0.3 : 0.02;
        return newStep(n.uid, task, rng.chance(p));
      }),
    );
  }
  let failure: { node: string; task: string } | null = null;
  if (rng.chance(o.failureRate)) {
    const candidates = [...steps.values()].flat().filter((s) => !s.skip && s.task.type !== 'upload_file');
    if (candidates.length) {
      const s = rng.pick(candidates);
      s.fail = true;
      failure = { node: s.node!, task: s.task.id };
    }
  }
  const failedNodeRole = failure ? nodes.find((n) => n.uid === failure!.node)!.role : null;

  const events: Array<{ kind: Delivery['kind']; cast: Cast }> = [];
  const reports = new Map<string, TaskStatus[]>();
  const cast = (kind: Delivery['kind'], time: number, args: Record<string, unknown>) =>
    events.push({
      kind,
      cast: { method: kind === 'start' ? 'transaction_start' : o.method, args: { task_uuid: c.uuid, time: round(time), ...args } },
    });
  const report = (
    time: number,
    node: string | null,
    task: string,
    status: Exclude<TaskStatus, 'pending'>,
    extra: Record<string, unknown> = {},
  ) => {
    reports.set(key(node, task), [...(reports.get(key(node, task)) ?? []), status]);
    const entry = { uid: node, deployment_graph_task_name: task, task_status: status, time: round(time), ...extra };
    cast('report', time, { nodes: [entry] });
  };

  // Announce the run, then say it is running.
  cast('start', c.t0, {
    name: 'deployment',
    graph_type: 'default',
    dry_run: false,
    cluster: { id: c.clusterId, name: c.clusterName, release: o.release },
    tasks_graph: graph,
    ...deploymentSnapshots({ index: c.clusterIndex, name: c.clusterName, release: o.release }, nodes),
  });
  let t = c.t0 + rng.between(0.5, 2);
  cast('report', t, { status: 'running', progress: 0 });

  const stage = (id: string) => {
    report(t, null, id, 'running');
    t += rng.between(0.1, 1);
    report(t, null, id, 'ready');
    t += rng.between(0.1, 0.5);
  };

  /** Reports one task that runs from `start` to `end` (or is skipped at `start`). */
  const runTask = (node: string | null, step: Step, start: number, end: number) => {
    if (step.skip) {
      report(start, node, step.task.id, 'skipped', { progress: 100 });
      return;
    }
    report(start, node, step.task.id, 'running', { progress: 0, status: 'deploying' });
    const resources = rng.int(5, 120);
    const summary = (failed: number) =>
      step.task.type === 'puppet'
        ? { summary: { resources: { total: resources, changed: rng.int(0, 10), failed }, time: { total: round(end - start) } } }
        : {};
    if (step.fail) {
      report(end, node, step.task.id, 'error', {
        progress: 100,
        status: 'error',
        error_type: 'deploy',
        error_msg: `Task ${step.task.id} failed on ${node === 'master' ? 'master' : `node-${node}`}: ${rng.pick(FAILURE_REASONS)}`,
        ...summary(rng.int(1, 3)),
      });
    } else {
      report(end, node, step.task.id, 'ready', { progress: 100, ...summary(0) });
    }
  };

  /**
   * One stage on every node that is still going, side by side, each node running its tasks in order.
   * A failure on a controller halts the run: tasks already started finish, nothing new starts.
   * A failure elsewhere stops only that node.
   */
  const failedNodes = new Set<string>();
  let halted = false;
  const phase = (name: Stage, master: readonly TaskTemplate[]) => {
    const plans: Array<{ node: string | null; steps: Step[] }> = [
      ...(master.length ? [{ node: 'master', steps: master.map((task) => newStep('master', task, false)) }] : []),
      ...nodes
        .filter((n) => !failedNodes.has(n.uid))
        .map((n) => ({ node: n.uid as string | null, steps: steps.get(n.uid)!.filter((s) => s.task.stage === name) })),
    ];
    // When each task starts and ends; when a critical failure halts everything.
    const timeline: Array<{ node: string | null; step: Step; start: number; end: number }> = [];
    let haltAt = Infinity;
    for (const p of plans) {
      let at = t;
      for (const step of p.steps) {
        const end = at + step.seconds;
        timeline.push({ node: p.node, step, start: at, end });
        if (step.fail) {
          if (failedNodeRole === 'controller') haltAt = Math.min(haltAt, end);
          break; // the node's later tasks are not reached
        }
        at = end + step.gap;
      }
    }
    let phaseEnd = t;
    for (const x of timeline) {
      if (x.start >= haltAt) continue;
      runTask(x.node, x.step, x.start, x.end);
      phaseEnd = Math.max(phaseEnd, x.end);
      if (x.step.fail) {
        failedNodes.add(x.node!);
        if (failedNodeRole === 'controller') halted = true;
      }
    }
    t = phaseEnd + rng.between(0.2, 1);
  };

  const progressOf = (done: number) => Math.min(99, Math.floor((done * 100) / rows.length));
  for (const name of ['pre_deployment', 'deployment', 'post_deployment'] as const) {
    if (halted) break;
    stage(STAGES[name][0]);
    phase(
      name,
      MASTER_TASKS.filter((m) => m.stage === name),
    );
    if (halted) break;
    stage(STAGES[name][1]);
  }

  // Run progress: the share of finished rows, in time order (it only grows).
  const finished = new Set<string>();
  for (const e of [...events].sort((a, b) => a.cast.args.time - b.cast.args.time)) {
    const entry = e.cast.args.nodes?.[0];
    if (entry && entry.task_status !== 'running') {
      finished.add(key(entry.uid as string | null, entry.deployment_graph_task_name as string));
      e.cast.args.progress = progressOf(finished.size);
    }
  }

  // What every row ends as: its report, else closed out by the run's end.
  const expected: Counts = { pending: 0, running: 0, ready: 0, error: 0, skipped: 0 };
  const statuses = new Map<string, TaskStatus>();
  for (const r of rows) {
    const got = reports.get(key(r.node, r.task)) ?? [];
    const terminal = got.find((s) => s !== 'running');
    const status: TaskStatus = terminal ?? (got.length ? 'error' : 'skipped');
    statuses.set(key(r.node, r.task), status);
    expected[status]++;
  }

  const status = failure ? 'error' : 'ready';
  t += rng.between(1, 5);
  cast('final', t, {
    status,
    progress: 100,
    ...(failure
      ? {
          error: `Deployment has failed: task ${failure.task} failed on node-${failure.node}${halted ? '; the deployment was halted' : ''}`,
        }
      : {}),
    nodes: nodes.map((n) => ({ uid: n.uid, status: failedNodes.has(n.uid) ? 'error' : halted ? 'stopped' : 'ready', progress: 100 })),
  });

  return {
    run: {
      uuid: c.uuid,
      clusterId: c.clusterId,
      clusterName: c.clusterName,
      number: c.number,
      status,
      expected,
      total: rows.length,
      failure,
      startAt: c.t0,
      endAt: round(t),
    },
    events,
    statuses,
  };
}

/** The cast as sent: virtual times replaced by ISO 8601 times. */
export function stamp(cast: Cast, iso: (t: number) => string): Record<string, unknown> {
  const args: Record<string, unknown> = { ...cast.args, time: iso(cast.args.time) };
  if (cast.args.nodes) args.nodes = cast.args.nodes.map((n) => (typeof n.time === 'number' ? { ...n, time: iso(n.time) } : n));
  return { method: cast.method, args };
}
