import { compareNodes } from '../common/node-order';
import { byName, groupBy, positiveInteger, runsInOrder, StatsRow } from './task-stats';

/*
 * Issue #15 §3: the tasks that fail now and then. Pure; shares the rules at the top of task-stats.ts.
 */

export interface FlakyOptions {
  lastRuns?: number;
}

export const DEFAULT_FLAKY_RUNS = 20;

export interface ErrorCount {
  message: string | null;
  count: number;
}

export interface FlakyTask {
  task_name: string;
  node_id: string | null;
  failed: number;
  succeeded: number;
  /** The runs where it failed on this node, in run order. */
  failed_runs: number[];
  /** Its error messages on this node, most frequent first, then by message (null, no message, last). */
  errors: ErrorCount[];
}

/**
 * The (task, node) pairs that both failed (`error`) and succeeded (`ready`) within the last `lastRuns`
 * runs found in `rows` (the caller passes the cluster's rows, so these are the cluster's last runs; a
 * `skipped` row is neither). Per node, because flakiness is a node's: the same task failing on node 4
 * and succeeding on node 5 is a broken node, not a flaky task. A task that always fails is not flaky (it
 * shows in taskStats with its failure rate). Most failures first, then by task name, then node order.
 */
export function flakyTasks(rows: readonly StatsRow[], options: FlakyOptions = {}): FlakyTask[] {
  const lastRuns = positiveInteger('lastRuns', options.lastRuns ?? DEFAULT_FLAKY_RUNS);
  const runs = runsInOrder(rows).slice(-lastRuns);
  const position = new Map(runs.map((r, i) => [r.run_id, i]));
  const recent = rows.filter((r) => position.has(r.run_id) && (r.status === 'error' || r.status === 'ready'));
  const pairs = groupBy(recent, (r) => JSON.stringify([r.task_name, r.node_id]));
  const found: FlakyTask[] = [];
  for (const group of pairs.values()) {
    const failures = group.filter((r) => r.status === 'error');
    const succeeded = group.length - failures.length;
    if (failures.length === 0 || succeeded === 0) continue;
    found.push({
      task_name: group[0].task_name,
      node_id: group[0].node_id,
      failed: failures.length,
      succeeded,
      failed_runs: [...new Set(failures.map((r) => r.run_id))].sort((a, b) => position.get(a)! - position.get(b)!),
      errors: errorCounts(failures),
    });
  }
  return found.sort((a, b) => b.failed - a.failed || byName(a.task_name, b.task_name) || compareNodes(a.node_id, b.node_id));
}

function errorCounts(failures: readonly StatsRow[]): ErrorCount[] {
  const counts = new Map<string | null, number>();
  for (const r of failures) counts.set(r.error_message, (counts.get(r.error_message) ?? 0) + 1);
  return [...counts.entries()]
    .map(([message, count]) => ({ message, count }))
    .sort((a, b) => b.count - a.count || (a.message === null ? 1 : b.message === null ? -1 : byName(a.message, b.message)));
}
