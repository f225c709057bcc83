import type { RunStatus } from '../history/task-state';
import { MAX_PROGRESS, ReportMethod, START_DEFAULTS, START_METHOD, WireTaskStatus } from './cast-format';

/**
 * Writes casts as the orchestrator (Astute) sends them, for whatever plays the orchestrator: the
 * simulator, the bench and the tests. The parser (cast.ts) reads what this writes; both follow
 * cast-format.ts. Pure: no framework, no I/O.
 */

/** One task of a node in `tasks_graph`: its name (`id`), its type, and whatever else its definition holds. */
export interface GraphTask {
  id: string;
  type?: string;
  [key: string]: unknown;
}
/** Node id (`"master"`, `"null"` for cluster-level tasks) → that node's tasks. */
export type TasksGraph = Record<string, GraphTask[]>;

export interface WireCluster {
  id: number;
  name?: string;
  release: string;
}

export interface StartArgs {
  task_uuid: string;
  name: string;
  graph_type: string;
  dry_run: boolean;
  cluster: WireCluster;
  tasks_graph: TasksGraph;
  parent_task_uuid?: string | null;
  /** The event time, ISO 8601; receipt time when absent. */
  time?: string;
  /** Who each node is, by uid (cast-nodes.ts); else read from deployment_info. */
  nodes?: Record<string, { roles?: string[]; hostname?: string }> | Array<{ uid: string | number; roles?: string[]; hostname?: string }>;
  deployment_info?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  network_configuration?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * One `nodes[]` entry. It reports a task when it has both `deployment_graph_task_name` and
 * `task_status`; `status`, `progress`, `error_type` are the node's own. `task_status` is typed as any
 * text so that a test can send one the parser must skip.
 */
export interface NodeEntry {
  uid: string | number | null;
  deployment_graph_task_name?: string;
  task_status?: WireTaskStatus | (string & {});
  progress?: number;
  status?: string;
  error_type?: string;
  error_msg?: string;
  summary?: Record<string, unknown>;
  custom?: Record<string, unknown>;
  time?: string;
  [key: string]: unknown;
}

export interface ReportArgs {
  task_uuid: string;
  /** The run's own status, progress and error message. */
  status?: RunStatus;
  progress?: number;
  error?: string;
  time?: string;
  nodes?: NodeEntry[];
  [key: string]: unknown;
}

export interface StartCast {
  method: typeof START_METHOD;
  args: StartArgs;
}
export interface ReportCast {
  method: ReportMethod;
  args: ReportArgs;
}
export type Cast = StartCast | ReportCast;

/** `transaction_start`: announces a run on a cluster with its task graph (defaults written out, as Nailgun did). */
export function startCast(
  uuid: string,
  cluster: WireCluster,
  graph: TasksGraph,
  extra: Partial<Omit<StartArgs, 'task_uuid'>> = {},
): StartCast {
  return { method: START_METHOD, args: { task_uuid: uuid, ...START_DEFAULTS, cluster, tasks_graph: graph, ...extra } };
}

/** One task's report: `progress` 0 while running, 100 once done, unless `extra` says otherwise. */
export function taskEntry(
  uid: string | number | null,
  taskName: string,
  status: NonNullable<NodeEntry['task_status']>,
  extra: Partial<NodeEntry> = {},
): NodeEntry {
  return { uid, deployment_graph_task_name: taskName, task_status: status, progress: status === 'running' ? 0 : MAX_PROGRESS, ...extra };
}

/** A report on a run: its `nodes[]` entries, and the run's own `status` / `progress` / `error` in `extra`. */
export function reportCast(
  uuid: string,
  nodes: NodeEntry[],
  extra: Partial<Omit<ReportArgs, 'task_uuid' | 'nodes'>> = {},
  method: ReportMethod = 'transaction_resp',
): ReportCast & { args: { nodes: NodeEntry[] } } {
  return { method, args: { task_uuid: uuid, nodes, ...extra } };
}

/** A run's own status without task reports (e.g. `running` when it begins). */
export function runStatusCast(
  uuid: string,
  status: RunStatus,
  extra: Partial<Omit<ReportArgs, 'task_uuid' | 'status'>> = {},
  method: ReportMethod = 'transaction_resp',
): ReportCast {
  return { method, args: { task_uuid: uuid, status, ...extra } };
}

/** A run's final status, with progress 100. */
export function finishCast(
  uuid: string,
  status: 'ready' | 'error' | 'stopped',
  extra: Partial<Omit<ReportArgs, 'task_uuid'>> = {},
): ReportCast {
  return runStatusCast(uuid, status, { progress: MAX_PROGRESS, ...extra });
}

/**
 * The cast stamped with its event time (ISO 8601): on the cast, and on each task report in it that has
 * none of its own (a node-level entry, without a task, gets none: Astute sends it none).
 */
export function atTime(cast: Cast, time: string): Cast {
  if (cast.method === START_METHOD) return { method: cast.method, args: { ...cast.args, time } };
  const args: ReportArgs = { ...cast.args, time };
  if (args.nodes)
    args.nodes = args.nodes.map((n) => (n.deployment_graph_task_name !== undefined && n.time === undefined ? { ...n, time } : n));
  return { method: cast.method, args };
}

/** A cast as one message's body on the bus: its JSON, UTF-8. */
export function encodeCast(cast: Cast): Buffer {
  return Buffer.from(JSON.stringify(cast));
}
