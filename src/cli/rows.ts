import { ANY_COLUMN, duration, Row } from './output';

/** Columns of task-history rows, shared by a run's history and the cross-run lists. */
export const HISTORY_COLUMNS = ['task_name', 'node_id', 'status', 'time_start', 'time_end', 'duration'];
/** History rows carry the orchestrator's custom keys at their root: any column may be asked for. */
export const HISTORY_KNOWN = ['type', 'error_message', 'closed_reason', 'summary', ANY_COLUMN];

export const withDuration = (r: Row): Row => ({ ...r, duration: duration(r.time_start, r.time_end) });

export const nodeName = (n: unknown) => (n === null ? 'cluster' : n === 'master' ? 'master' : `node ${n}`);

const NODE_ORDER = (n: unknown) => (n === null ? 0 : n === 'master' ? 1 : 2);
export function byNodeThenTask(a: Row, b: Row): number {
  const [x, y] = [a.node_id as string | null, b.node_id as string | null];
  const nodes = NODE_ORDER(x) - NODE_ORDER(y) || (x && y ? x.length - y.length || (x < y ? -1 : x > y ? 1 : 0) : 0);
  return nodes || String(a.task_name).localeCompare(String(b.task_name));
}
