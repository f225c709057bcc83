import { groupBy } from '../common/group-by';
import { compareNodes } from '../common/node-order';
import { isTerminal } from './task-state';
import { byName, compareRuns, nonNegative, percentileOfSorted, positiveInteger, rowDuration, runsInOrder, StatsRow } from './task-stats';

/*
 * Issue #15 §2: the tasks of a run that got slower than their own history. Pure; shares the rules at the
 * top of task-stats.ts (terminal rows, durations, run order, nearest-rank percentiles).
 */

/**
 * The rule: a task of the current run is a regression when its duration is
 *   above the p95 of its baseline, AND at least `minRatio` × the baseline p50, AND at least
 *   `minExtraSeconds` longer than the baseline p50.
 * The three together: above p95 alone flags about 1 run in 20 by chance; the ratio keeps a long task's ordinary
 * spread out, the extra seconds a short task's jitter (a 1 s task taking 2 s is not worth a look).
 *
 * Per task name, judged on its worst node: the current duration is the task's longest on any node, and
 * its baseline is, per previous run, the task's longest on any node in that run. An operator asks "which
 * task got slower" and then "where": the worst node answers the second. Per (node, task) would split the
 * history thinner (three controllers, three baselines a third as long), and node ids change as nodes are
 * replaced or re-added, which would make a reinstalled node's tasks look new. Comparing worst with worst
 * (not with every row) keeps a 3-controller task from being flagged just because it has 3 chances to be slow.
 *
 * The baseline: the last `baseline` runs before the current one (in run order) in which the task has a
 * duration. A task with no row at all in the history is new (listed apart); one with fewer than
 * `minRuns` baseline runs is "not enough history" (listed apart, not judged: a p95 of 2 values is their max).
 * A current task with no duration (skipped, or no times) is not judged.
 */
export interface RegressionOptions {
  baseline?: number;
  minRatio?: number;
  minExtraSeconds?: number;
  minRuns?: number;
}

export const REGRESSION_DEFAULTS = { baseline: 20, minRatio: 1.5, minExtraSeconds: 5, minRuns: 3 } as const;

export interface Baseline {
  runs: number;
  p50: number;
  p95: number;
}

export interface Regression {
  task_name: string;
  /** The node where the task took longest in the current run. */
  node_id: string | null;
  duration: number;
  baseline: Baseline;
  /** duration − baseline p50, in seconds. */
  excess_seconds: number;
  /** duration / baseline p50; null when the p50 is 0. */
  ratio: number | null;
}

export interface UnjudgedTask {
  task_name: string;
  node_id: string | null;
  /** null when the task has no duration in the current run. */
  duration: number | null;
  /** Baseline runs found (0 for a new task). */
  baseline_runs: number;
}

export interface Regressions {
  /** Largest excess first, then by name. */
  regressions: Regression[];
  /** Tasks without any row in the history, by name. */
  new_tasks: UnjudgedTask[];
  /** Tasks in the history but with fewer than `minRuns` baseline runs (0 when their past rows have no duration), by name. */
  not_enough_history: UnjudgedTask[];
}

/**
 * `current`: the rows of the run judged. `history`: rows of the cluster's other runs; only the runs
 * before the current one count, so the caller may pass the whole history.
 */
export function regressions(current: readonly StatsRow[], history: readonly StatsRow[], options: RegressionOptions = {}): Regressions {
  const opts: Required<RegressionOptions> = {
    baseline: positiveInteger('baseline', options.baseline ?? REGRESSION_DEFAULTS.baseline),
    minRatio: nonNegative('minRatio', options.minRatio ?? REGRESSION_DEFAULTS.minRatio),
    minExtraSeconds: nonNegative('minExtraSeconds', options.minExtraSeconds ?? REGRESSION_DEFAULTS.minExtraSeconds),
    minRuns: positiveInteger('minRuns', options.minRuns ?? REGRESSION_DEFAULTS.minRuns),
  };
  const answer: Regressions = { regressions: [], new_tasks: [], not_enough_history: [] };
  const now = current.filter((r) => isTerminal(r.status));
  if (now.length === 0) return answer;
  const first = runsInOrder(now)[0];
  const currentIds = new Set(now.map((r) => r.run_id));
  const before = history.filter((r) => isTerminal(r.status) && !currentIds.has(r.run_id) && compareRuns(r, first) < 0);
  const past = groupBy(before, (r) => r.task_name);
  const byTask = groupBy(now, (r) => r.task_name);
  for (const task_name of [...byTask.keys()].sort(byName)) {
    const worst = worstRow(byTask.get(task_name)!);
    const pastRows = past.get(task_name);
    const samples = pastRows ? perRunWorst(pastRows).slice(-opts.baseline) : [];
    const unjudged = { task_name, node_id: worst.row.node_id, duration: worst.duration, baseline_runs: samples.length };
    if (!pastRows) answer.new_tasks.push(unjudged);
    else if (worst.duration === null) continue;
    else if (samples.length < opts.minRuns) answer.not_enough_history.push(unjudged);
    else {
      const found = judge(task_name, worst.row.node_id, worst.duration, samples, opts);
      if (found) answer.regressions.push(found);
    }
  }
  answer.regressions.sort((a, b) => b.excess_seconds - a.excess_seconds || byName(a.task_name, b.task_name));
  return answer;
}

function judge(
  task_name: string,
  node_id: string | null,
  duration: number,
  samples: readonly number[],
  opts: Required<RegressionOptions>,
): Regression | null {
  const sorted = [...samples].sort((a, b) => a - b);
  const p50 = percentileOfSorted(sorted, 50)!;
  const p95 = percentileOfSorted(sorted, 95)!;
  const excess = duration - p50;
  if (!(duration > p95 && duration >= opts.minRatio * p50 && excess >= opts.minExtraSeconds)) return null;
  return {
    task_name,
    node_id,
    duration,
    baseline: { runs: samples.length, p50, p95 },
    excess_seconds: excess,
    ratio: p50 === 0 ? null : duration / p50,
  };
}

/** The row with the longest duration (ties: first in node order); a row without duration only when none has one. */
function worstRow(rows: readonly StatsRow[]): { row: StatsRow; duration: number | null } {
  const sorted = [...rows].sort((a, b) => compareNodes(a.node_id, b.node_id));
  let best = { row: sorted[0], duration: rowDuration(sorted[0]) };
  for (const row of sorted) {
    const duration = rowDuration(row);
    if (duration !== null && (best.duration === null || duration > best.duration)) best = { row, duration };
  }
  return best;
}

/** Per run with a duration (in run order), the task's longest duration in that run. */
function perRunWorst(rows: readonly StatsRow[]): number[] {
  const byRun = groupBy(rows, (r) => r.run_id);
  return runsInOrder(rows)
    .map((run) => worstRow(byRun.get(run.run_id)!).duration)
    .filter((d): d is number => d !== null);
}
