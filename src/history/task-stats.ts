import { compareNodes } from '../common/node-order';
import { isTerminal, TaskStatus } from './task-state';

/**
 * Task statistics across a cluster's runs (issue #15 §2 and §3): per-task durations and failure rates,
 * the tasks of a run that got slower than their own history, and the tasks that fail now and then.
 * Pure (no Nest, no database): the services read the rows, these functions answer, so every rule below
 * is tested on histories whose answer is known (test/unit/task-stats.spec.ts).
 *
 * Rules shared by the three answers:
 *  - Only terminal rows (`ready`, `error`, `skipped`) count; a `pending` or `running` row is ignored, as
 *    the caller passes finished real runs only and a row still open there says nothing about the task.
 *  - A duration is `time_end - time_start` in seconds, of a `ready` or `error` row with both times. A
 *    `skipped` row did not run (its times are the orchestrator's), so it has no duration, but it is a
 *    terminal row (the denominator of the failure rate).
 *  - Runs are ordered by their start (`run_time`), then by id: "the last N runs" are the last N in that order.
 *  - Percentiles are nearest-rank (see `percentile`): every figure is a duration some row really had.
 */

/** One finished task row of a real run, as the caller reads it (already filtered by epoch, dates, nodes, names). */
export interface StatsRow {
  run_id: number;
  /** The run's start: orders the runs. */
  run_time: Date;
  node_id: string | null;
  task_name: string;
  /** The node's role as the run's graph gives it, or null when the graph gives none. */
  role: string | null;
  status: TaskStatus;
  time_start: Date | null;
  time_end: Date | null;
  error_message: string | null;
}

/**
 * Nearest-rank percentile: the smallest value such that at least p% of the values are ≤ it, i.e. the
 * value of rank ⌈p·n/100⌉ (1-based) in ascending order. Chosen over linear interpolation because it is
 * always a duration that happened, and because scaling every duration scales it exactly. It is PostgreSQL's
 * `percentile_disc` (the first value whose position in the order, as a fraction of n, reaches p/100), so an SQL aggregate
 * can answer the same figures if the service ever moves them into the query. p in (0, 100];
 * null for no values. p50 of [1, 2, 3, 4] is 2, p95 of 20 values is the 19th.
 */
export function percentile(values: readonly number[], p: number): number | null {
  const sorted = [...values].sort((a, b) => a - b);
  return percentileOfSorted(sorted, p);
}

/** `percentile` of values already in ascending order: one sort serves p50, p95 and max. */
function percentileOfSorted(sorted: readonly number[], p: number): number | null {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile: p must be in (0, 100], got ${p}`);
  if (sorted.length === 0) return null;
  // p·n/100 computed as (p·n)/100 so that integer p and n give the exact rank (0.95·20 is not exactly 19).
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return sorted[rank - 1];
}

/** The row's duration in seconds, or null (see the rules above). */
export function rowDuration(row: StatsRow): number | null {
  if (row.status !== 'ready' && row.status !== 'error') return null;
  if (row.time_start === null || row.time_end === null) return null;
  return (row.time_end.getTime() - row.time_start.getTime()) / 1000;
}

type RunKey = Pick<StatsRow, 'run_id' | 'run_time'>;

/** Run order: by start, then by id. */
export function compareRuns(a: RunKey, b: RunKey): number {
  return a.run_time.getTime() - b.run_time.getTime() || a.run_id - b.run_id;
}

/** The distinct runs of `rows`, in run order. */
function runsInOrder(rows: readonly StatsRow[]): RunKey[] {
  const byId = new Map<number, RunKey>();
  for (const r of rows) if (!byId.has(r.run_id)) byId.set(r.run_id, { run_id: r.run_id, run_time: r.run_time });
  return [...byId.values()].sort(compareRuns);
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const r of items) {
    const k = key(r);
    const list = groups.get(k);
    if (list) list.push(r);
    else groups.set(k, [r]);
  }
  return groups;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} must be a finite number ≥ 0, got ${value}`);
  return value;
}

// ---------------------------------------------------------------------------------------------------
// 1. task_stats

export interface LastFailure {
  run_id: number;
  node_id: string | null;
  /** When the failing row ended (its start if it has no end, null if neither). */
  time: Date | null;
}

/**
 * The task's p50 over its last `runs` runs (`recent`) against its p50 over the `runs` before
 * (`previous`, fewer when the task has fewer runs). `ratio` = recent / previous, null when previous is 0.
 */
export interface Trend {
  runs: number;
  recent_runs: number;
  previous_runs: number;
  recent_p50: number;
  previous_p50: number;
  ratio: number | null;
}

export interface DurationFigures {
  /** Distinct runs in which the task has a terminal row. */
  runs: number;
  /** Rows with a duration (the p50/p95/max are over these). */
  timed_rows: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
  /** error rows / terminal rows, in [0, 1]. */
  failure_rate: number;
  errors: number;
  terminal_rows: number;
  last_failure: LastFailure | null;
  /** null when either window has no duration. */
  trend: Trend | null;
}

export interface RoleStats extends DurationFigures {
  role: string;
}

export interface TaskStats extends DurationFigures {
  task_name: string;
  /** The same figures per node role, for the rows whose role is known, in role name order. */
  by_role: RoleStats[];
}

export interface TaskStatsOptions {
  /** N of the trend: the last N runs of the task against the N before. */
  trendRuns?: number;
}

export const DEFAULT_TREND_RUNS = 10;

/**
 * Per task name (in name order), the figures of its terminal rows over all nodes, and the same per role.
 * A task's runs are the runs in which it has a terminal row, so a task that only some runs carry (a
 * role-specific task, a plugin's) is measured against its own runs, not against runs it was absent from.
 */
export function taskStats(rows: readonly StatsRow[], options: TaskStatsOptions = {}): TaskStats[] {
  const trendRuns = positiveInteger('trendRuns', options.trendRuns ?? DEFAULT_TREND_RUNS);
  const terminal = rows.filter((r) => isTerminal(r.status));
  // Each row's duration and run position computed once: a cluster's 500 runs are ~200,000 rows, each in 2 groups.
  const position = new Map(runsInOrder(terminal).map((run, i) => [run.run_id, i]));
  const entries = terminal.map((row): Entry => ({ row, duration: rowDuration(row), run: position.get(row.run_id)! }));
  const byTask = groupBy(entries, (e) => e.row.task_name);
  return [...byTask.keys()].sort(byName).map((task_name) => {
    const taskEntries = byTask.get(task_name)!;
    const byRole = groupBy(
      taskEntries.filter((e) => e.row.role !== null),
      (e) => e.row.role!,
    );
    const by_role = [...byRole.keys()].sort(byName).map((role) => ({ role, ...figures(byRole.get(role)!, trendRuns) }));
    return { task_name, ...figures(taskEntries, trendRuns), by_role };
  });
}

/** A terminal row with its duration and its run's position in run order. */
interface Entry {
  row: StatsRow;
  duration: number | null;
  run: number;
}

/** The figures of one group of terminal rows (non-empty). */
function figures(entries: readonly Entry[], trendRuns: number): DurationFigures {
  const durations = timed(entries).sort((a, b) => a - b);
  const errors = entries.filter((e) => e.row.status === 'error').map((e) => e.row);
  return {
    runs: new Set(entries.map((e) => e.run)).size,
    timed_rows: durations.length,
    p50: percentileOfSorted(durations, 50),
    p95: percentileOfSorted(durations, 95),
    // The last, not Math.max(...durations): a spread of a few hundred thousand durations overflows the stack.
    max: durations.length ? durations[durations.length - 1] : null,
    failure_rate: errors.length / entries.length,
    errors: errors.length,
    terminal_rows: entries.length,
    last_failure: lastFailure(errors),
    trend: trend(entries, trendRuns),
  };
}

const rowTime = (r: StatsRow): Date | null => r.time_end ?? r.time_start;

/** The latest failure: in the latest run, then the latest end, then the last node in node order. */
function lastFailure(errors: readonly StatsRow[]): LastFailure | null {
  let last: StatsRow | null = null;
  for (const r of errors) {
    if (last === null) last = r;
    else {
      const order =
        compareRuns(r, last) ||
        (rowTime(r)?.getTime() ?? -Infinity) - (rowTime(last)?.getTime() ?? -Infinity) ||
        compareNodes(r.node_id, last.node_id);
      if (order > 0) last = r;
    }
  }
  return last === null ? null : { run_id: last.run_id, node_id: last.node_id, time: rowTime(last) };
}

function trend(entries: readonly Entry[], n: number): Trend | null {
  const runs = [...new Set(entries.map((e) => e.run))].sort((a, b) => a - b);
  // The recent window is the runs from position `recentFrom` of the task's runs, the previous one the n before.
  const recentFrom = Math.max(0, runs.length - n);
  const previousFrom = Math.max(0, runs.length - 2 * n);
  const inRuns = (from: number, to: number) => entries.filter((e) => e.run >= runs[from] && (to >= runs.length || e.run < runs[to]));
  const recent = percentile(timed(inRuns(recentFrom, runs.length)), 50);
  const previous = recentFrom === 0 ? null : percentile(timed(inRuns(previousFrom, recentFrom)), 50);
  if (recent === null || previous === null) return null;
  return {
    runs: n,
    recent_runs: runs.length - recentFrom,
    previous_runs: recentFrom - previousFrom,
    recent_p50: recent,
    previous_p50: previous,
    ratio: previous === 0 ? null : recent / previous,
  };
}

function timed(entries: readonly Entry[]): number[] {
  const durations: number[] = [];
  for (const e of entries) if (e.duration !== null) durations.push(e.duration);
  return durations;
}

// ---------------------------------------------------------------------------------------------------
// 2. regressions

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

// ---------------------------------------------------------------------------------------------------
// 3. flaky tasks

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
