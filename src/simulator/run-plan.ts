import { GraphTask, NodeEntry, reportCast, runStatusCast, startCast, taskEntry, TasksGraph } from '../receiver/cast-builder';
import {
  definition,
  deploymentSnapshots,
  FAILURE_REASONS,
  MASTER_TASKS,
  NODE_TASKS,
  CORE_TASKS,
  Role,
  Stage,
  STAGES,
  TaskTemplate,
} from './fixture';
import type { TaskStatus } from '../history/task-state';
import type { Counts, PlannedCast, PlannedRun, SimOptions } from './plan';
import { Rng } from './rng';

/** One run of the plan: what the orchestrator sends for it, in event order, and what its rows end as. */

export interface RunContext {
  uuid: string;
  clusterId: number;
  clusterName: string;
  clusterIndex: number;
  number: number;
  t0: number;
  previous?: Map<string, TaskStatus>;
  /** Draws whether a --flaky task fails: a stream of its own, so that --flaky changes nothing else of the plan. */
  flakyRng: Rng;
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

/** How many controllers a cluster of `nodes` has (the rest are computes): a third, 1 to 3. */
export const controllerCount = (nodes: number): number => Math.min(3, Math.max(1, Math.floor(nodes / 3)));

/** The roles of a cluster's deployed nodes, in node order. */
export const nodeRoles = (nodes: number): Role[] =>
  Array.from({ length: nodes }, (_, j): Role => (j < controllerCount(nodes) ? 'controller' : 'compute'));

export const key = (node: string | null, task: string) => `${node ?? 'null'}|${task}`;
export const round = (t: number) => Math.round(t * 1000) / 1000;

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

/**
 * A node's chain as its graph says it: each task requires the one before it; the first task of a stage
 * also requires the stage's start and the last one is required for the stage's end (fuel-library's
 * same-node names, which resolve to the cluster-level stage tasks), as the orchestrator runs them: a stage
 * ends when every node's part of it has. So the critical path goes through the nodes' tasks, not only
 * from stage to stage.
 */
function chainDefinitions(chain: readonly TaskTemplate[], roles?: readonly string[]): GraphTask[] {
  return chain.map((t, i) => {
    const [stageStart, stageEnd] = STAGES[t.stage];
    const first = i === 0 || chain[i - 1].stage !== t.stage;
    const last = i === chain.length - 1 || chain[i + 1].stage !== t.stage;
    const requires = [...(i ? [chain[i - 1].id] : []), ...(first ? [stageStart] : [])];
    return { ...definition(t, requires, roles), ...(last ? { required_for: [stageEnd] } : {}) };
  });
}

export function planRun(
  rng: Rng,
  o: SimOptions,
  c: RunContext,
): { run: PlannedRun; events: PlannedCast[]; statuses: Map<string, TaskStatus> } {
  return new RunPlanner(rng, o, c).plan();
}

/** Plans one run, in the order its random choices are drawn (the same seed plays the same run). */
class RunPlanner {
  private readonly nodes: Array<{ uid: string; role: Role }>;
  private readonly chains: Map<string, TaskTemplate[]>;
  private readonly events: PlannedCast[] = [];
  private readonly reports = new Map<string, TaskStatus[]>();
  private readonly steps = new Map<string, Step[]>();
  private readonly failedNodes = new Set<string>();
  /** The failing tasks reached, with their end. */
  private readonly failures: Array<{ node: string; task: string; end: number }> = [];
  private halted = false;
  /** The run's clock, in virtual seconds. */
  private t: number;

  constructor(
    private readonly rng: Rng,
    private readonly o: SimOptions,
    private readonly c: RunContext,
  ) {
    // Nodes: a few controllers, the rest computes; node ids are unique across clusters, as in Fuel.
    this.nodes = nodeRoles(o.nodes).map((role, j) => ({ uid: String(c.clusterIndex * o.nodes + j + 1), role }));
    this.chains = new Map(this.nodes.map((n) => [n.uid, nodeChain(n.role, o.tasks)]));
    this.t = c.t0;
  }

  plan(): { run: PlannedRun; events: PlannedCast[]; statuses: Map<string, TaskStatus> } {
    const { c, o, rng } = this;
    const graph = this.graph();
    const rows: Array<{ node: string | null; task: string }> = Object.entries(graph).flatMap(([node, list]) =>
      list.map((t) => ({ node: node === 'null' ? null : node, task: t.id })),
    );
    this.chooseSteps();

    // Announce the run, then say it is running.
    const snapshots = deploymentSnapshots({ index: c.clusterIndex, name: c.clusterName, release: o.release }, this.nodes);
    this.cast('start', c.t0, startCast(c.uuid, { id: c.clusterId, name: c.clusterName, release: o.release }, graph, snapshots));
    this.t = c.t0 + rng.between(0.5, 2);
    this.cast('report', this.t, runStatusCast(c.uuid, 'running', { progress: 0 }, o.method));

    for (const name of ['pre_deployment', 'deployment', 'post_deployment'] as const) {
      if (this.halted) break;
      this.stage(STAGES[name][0]);
      this.phase(
        name,
        MASTER_TASKS.filter((m) => m.stage === name),
      );
      if (this.halted) break;
      this.stage(STAGES[name][1]);
    }
    this.progress(rows.length);
    const { expected, statuses } = this.outcome(rows);
    const failures = this.failures.sort((a, b) => a.end - b.end).map(({ node, task }) => ({ node, task }));
    const status = this.finish(failures);
    const run: PlannedRun = {
      uuid: c.uuid,
      clusterId: c.clusterId,
      clusterName: c.clusterName,
      number: c.number,
      status,
      expected,
      total: rows.length,
      failure: failures[0] ?? null,
      failures,
      startAt: c.t0,
      endAt: round(this.t),
    };
    return { run, events: this.events, statuses };
  }

  /** The graph announced by transaction_start. */
  private graph(): TasksGraph {
    const graph: TasksGraph = {};
    const stageList = Object.values(STAGES).flat();
    graph.null = stageList.map((id, i) =>
      definition({ id, type: 'stage', stage: 'deployment', roles: [], seconds: [0, 1] }, i ? [stageList[i - 1]] : []),
    );
    graph.master = chainDefinitions(MASTER_TASKS, ['master']);
    for (const n of this.nodes) graph[n.uid] = chainDefinitions(this.chains.get(n.uid)!);
    return graph;
  }

  /**
   * A task's step. A --flaky task always runs (a skipped run would say nothing about it) and fails with
   * its rate, drawn from the flaky stream; a --slow task's duration is multiplied (the same draws).
   */
  private newStep(node: string, task: TaskTemplate, skipDrawn: boolean): Step {
    const { rng } = this;
    const rate = this.o.flaky?.[task.id];
    const skip = skipDrawn && rate === undefined;
    const seconds = skip ? rng.between(0.1, 0.5) : rng.between(task.seconds[0], task.seconds[1]) * (this.o.slow?.[task.id] ?? 1);
    return {
      node,
      task,
      skip,
      fail: rate !== undefined && this.c.flakyRng.chance(rate),
      seconds,
      gap: rng.between(0.2, 2),
    };
  }

  /** Which tasks are skipped by their condition (on a redeploy, often because nothing changed), and which one fails. */
  private chooseSteps(): void {
    const { rng, c } = this;
    for (const n of this.nodes) {
      this.steps.set(
        n.uid,
        this.chains.get(n.uid)!.map((task) => {
          const before = c.previous?.get(key(n.uid, task.id));
          const p = task.conditional ? 0.5 : before === 'ready' ? 0.3 : 0.02;
          return this.newStep(n.uid, task, rng.chance(p));
        }),
      );
    }
    if (rng.chance(this.o.failureRate)) {
      const candidates = [...this.steps.values()].flat().filter((s) => !s.skip && s.task.type !== 'upload_file');
      if (candidates.length) rng.pick(candidates).fail = true;
    }
  }

  /** A failure there halts the run (the master's or a controller's); elsewhere it stops only that node. */
  private halts(node: string | null): boolean {
    return node === 'master' || this.nodes.find((n) => n.uid === node)?.role === 'controller';
  }

  private cast(kind: PlannedCast['kind'], time: number, cast: PlannedCast['cast']): void {
    this.events.push({ kind, at: round(time), cast });
  }

  private report(time: number, node: string | null, task: string, status: Exclude<TaskStatus, 'pending'>, extra: Partial<NodeEntry> = {}) {
    const k = key(node, task);
    this.reports.set(k, [...(this.reports.get(k) ?? []), status]);
    // The entry's time is the cast's, stamped on both when sent.
    this.cast('report', time, reportCast(this.c.uuid, [taskEntry(node, task, status, extra)], {}, this.o.method));
  }

  private stage(id: string): void {
    this.report(this.t, null, id, 'running');
    this.t += this.rng.between(0.1, 1);
    this.report(this.t, null, id, 'ready');
    this.t += this.rng.between(0.1, 0.5);
  }

  /** Reports one task that runs from `start` to `end` (or is skipped at `start`). */
  private runTask(node: string | null, step: Step, start: number, end: number): void {
    const { rng } = this;
    if (step.skip) {
      this.report(start, node, step.task.id, 'skipped', { progress: 100 });
      return;
    }
    this.report(start, node, step.task.id, 'running', { progress: 0, status: 'deploying' });
    const resources = rng.int(5, 120);
    const summary = (failed: number) =>
      step.task.type === 'puppet'
        ? { summary: { resources: { total: resources, changed: rng.int(0, 10), failed }, time: { total: round(end - start) } } }
        : {};
    if (step.fail) {
      this.report(end, node, step.task.id, 'error', {
        progress: 100,
        status: 'error',
        error_type: 'deploy',
        error_msg: `Task ${step.task.id} failed on ${node === 'master' ? 'master' : `node-${node}`}: ${rng.pick(FAILURE_REASONS)}`,
        ...summary(rng.int(1, 3)),
      });
    } else {
      this.report(end, node, step.task.id, 'ready', { progress: 100, ...summary(0) });
    }
  }

  /**
   * One stage on every node that is still going, side by side, each node running its tasks in order.
   * A failure on a controller (or the master) halts the run: tasks already started finish, nothing new
   * starts. A failure elsewhere stops only that node.
   */
  private phase(name: Stage, master: readonly TaskTemplate[]): void {
    const plans: Array<{ node: string | null; steps: Step[] }> = [
      ...(master.length && !this.failedNodes.has('master')
        ? [{ node: 'master', steps: master.map((task) => this.newStep('master', task, false)) }]
        : []),
      ...this.nodes
        .filter((n) => !this.failedNodes.has(n.uid))
        .map((n) => ({ node: n.uid, steps: this.steps.get(n.uid)!.filter((s) => s.task.stage === name) })),
    ];
    const { timeline, haltAt } = this.timeline(plans);
    let phaseEnd = this.t;
    for (const x of timeline) {
      if (x.start >= haltAt) continue;
      this.runTask(x.node, x.step, x.start, x.end);
      phaseEnd = Math.max(phaseEnd, x.end);
      if (x.step.fail) {
        this.failedNodes.add(x.node!);
        this.failures.push({ node: x.node!, task: x.step.task.id, end: x.end });
        if (this.halts(x.node)) this.halted = true;
      }
    }
    this.t = phaseEnd + this.rng.between(0.2, 1);
  }

  /** When each task starts and ends; when a critical failure halts everything. */
  private timeline(plans: Array<{ node: string | null; steps: Step[] }>) {
    const timeline: Array<{ node: string | null; step: Step; start: number; end: number }> = [];
    let haltAt = Infinity;
    for (const p of plans) {
      let at = this.t;
      for (const step of p.steps) {
        const end = at + step.seconds;
        timeline.push({ node: p.node, step, start: at, end });
        if (step.fail) {
          if (this.halts(p.node)) haltAt = Math.min(haltAt, end);
          break; // the node's later tasks are not reached
        }
        at = end + step.gap;
      }
    }
    return { timeline, haltAt };
  }

  /** Run progress: the share of finished rows, in time order (it only grows). */
  private progress(rows: number): void {
    const progressOf = (done: number) => Math.min(99, Math.floor((done * 100) / rows));
    const finished = new Set<string>();
    for (const { cast } of [...this.events].sort((a, b) => a.at - b.at)) {
      if (cast.method === 'transaction_start') continue;
      const entry = cast.args.nodes?.[0];
      if (entry?.deployment_graph_task_name !== undefined && entry.task_status !== 'running') {
        finished.add(key(entry.uid as string | null, entry.deployment_graph_task_name));
        cast.args.progress = progressOf(finished.size);
      }
    }
  }

  /** What every row ends as: its report, else closed out by the run's end. */
  private outcome(rows: Array<{ node: string | null; task: string }>): { expected: Counts; statuses: Map<string, TaskStatus> } {
    const expected: Counts = { pending: 0, running: 0, ready: 0, error: 0, skipped: 0 };
    const statuses = new Map<string, TaskStatus>();
    for (const r of rows) {
      const got = this.reports.get(key(r.node, r.task)) ?? [];
      const terminal = got.find((s) => s !== 'running');
      const status: TaskStatus = terminal ?? (got.length ? 'error' : 'skipped');
      statuses.set(key(r.node, r.task), status);
      expected[status]++;
    }
    return { expected, statuses };
  }

  /** The run's final status, with each node's own. */
  private finish(failures: PlannedRun['failures']): 'ready' | 'error' {
    const { halted } = this;
    const failure = failures[0];
    const status = failure ? 'error' : 'ready';
    this.t += this.rng.between(1, 5);
    const nodes: NodeEntry[] = this.nodes.map((n) => ({
      uid: n.uid,
      status: this.failedNodes.has(n.uid) ? 'error' : halted ? 'stopped' : 'ready',
      progress: 100,
    }));
    const error = failure
      ? {
          error:
            `Deployment has failed: task ${failure.task} failed on ${failure.node === 'master' ? 'master' : `node-${failure.node}`}` +
            `${failures.length > 1 ? ` (and ${failures.length - 1} more failed tasks)` : ''}${halted ? '; the deployment was halted' : ''}`,
        }
      : {};
    this.cast('final', this.t, reportCast(this.c.uuid, nodes, { status, progress: 100, ...error }, this.o.method));
    return status;
  }
}
