import { compareNodes } from '../common/node-order';
import { ANY_COLUMN, duration, Row } from './output';

/** Columns of task-history rows, shared by a run's history and the cross-run lists. */
export const HISTORY_COLUMNS = ['task_name', 'node_id', 'status', 'time_start', 'time_end', 'duration'];
/** History rows carry the orchestrator's custom keys at their root: any column may be asked for. */
export const HISTORY_KNOWN = ['type', 'error_message', 'closed_reason', 'summary', ANY_COLUMN];

export const withDuration = (r: Row): Row => ({ ...r, duration: duration(r.time_start, r.time_end) });

/** A row's node, as the API sends it: an id (`master`, `4`), null for a cluster-level row. */
export const nodeOf = (r: Row): string | null => r.node_id as string | null;

/** In node order, as the API lists them (src/common/node-order.ts), then by task name. */
export function byNodeThenTask(a: Row, b: Row): number {
  return compareNodes(nodeOf(a), nodeOf(b)) || String(a.task_name).localeCompare(String(b.task_name));
}
