import { compareNodes } from '../common/node-order';
import { groupBy } from '../common/group-by';
import { byName, positiveInteger, runsInOrder, StatsRow } from './task-stats';

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

/** The counted `ready` and `error` rows of one (task, node) in the runs looked at: what the rule judges. */
export interface FlakyCounts {
  task_name: string;
  node_id: string | null;
  /** Its `ready` rows. */
  succeeded: number;
  /** Its `error` rows: their run and message. */
  failures: Array<{ run_id: number; message: string | null }>;
}

/**
 * The (task, node) pairs that both failed (`error`) and succeeded (`ready`) within the last `lastRuns`
 * runs found in `rows` (the caller passes the cluster's rows, so these are the cluster's last runs; a
 * `skipped` row is neither). The rows are counted per (task, node) and judged by flakyOf: the service
 * has the database count them (InsightsRepository.flakyCounts) and calls flakyOf itself.
 */
export function flakyTasks(rows: readonly StatsRow[], options: FlakyOptions = {}): FlakyTask[] {
  const lastRuns = positiveInteger('lastRuns', options.lastRuns ?? DEFAULT_FLAKY_RUNS);
  const runs = runsInOrder(rows)
    .slice(-lastRuns)
    .map((r) => r.run_id);
  const kept = new Set(runs);
  const recent = rows.filter((r) => kept.has(r.run_id) && (r.status === 'error' || r.status === 'ready'));
  const pairs = groupBy(recent, (r) => JSON.stringify([r.task_name, r.node_id]));
  const counts = [...pairs.values()].map((group) => {
    const failures = group.filter((r) => r.status === 'error');
    return {
      task_name: group[0].task_name,
      node_id: group[0].node_id,
      succeeded: group.length - failures.length,
      failures: failures.map((r) => ({ run_id: r.run_id, message: r.error_message })),
    };
  });
  return flakyOf(counts, runs);
}

/**
 * The rule, on the counted rows of the runs `runs` (their ids in run order) per (task, node): the pairs
 * with both a failure and a success are flaky. Per node, because flakiness is a node's: the same task
 * failing on node 4 and succeeding on node 5 is a broken node, not a flaky task. A task that always fails
 * is not flaky (it shows in taskStats with its failure rate). Most failures first, then by task name, then
 * node order; the order of `counts` and of their failures does not matter.
 */
export function flakyOf(counts: readonly FlakyCounts[], runs: readonly number[]): FlakyTask[] {
  const position = new Map(runs.map((id, i) => [id, i]));
  const found: FlakyTask[] = [];
  for (const c of counts) {
    if (c.failures.length === 0 || c.succeeded === 0) continue;
    found.push({
      task_name: c.task_name,
      node_id: c.node_id,
      failed: c.failures.length,
      succeeded: c.succeeded,
      failed_runs: [...new Set(c.failures.map((f) => f.run_id))].sort((a, b) => position.get(a)! - position.get(b)!),
      errors: errorCounts(c.failures),
    });
  }
  return found.sort((a, b) => b.failed - a.failed || byName(a.task_name, b.task_name) || compareNodes(a.node_id, b.node_id));
}

function errorCounts(failures: FlakyCounts['failures']): ErrorCount[] {
  const counts = new Map<string | null, number>();
  for (const f of failures) counts.set(f.message, (counts.get(f.message) ?? 0) + 1);
  return [...counts.entries()]
    .map(([message, count]) => ({ message, count }))
    .sort((a, b) => b.count - a.count || (a.message === null ? 1 : b.message === null ? -1 : byName(a.message, b.message)));
}
