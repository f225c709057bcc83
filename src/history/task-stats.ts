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
export function percentileOfSorted(sorted: readonly number[], p: number): number | null {
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
export function runsInOrder(rows: readonly StatsRow[]): RunKey[] {
  const byId = new Map<number, RunKey>();
  for (const r of rows) if (!byId.has(r.run_id)) byId.set(r.run_id, { run_id: r.run_id, run_time: r.run_time });
  return [...byId.values()].sort(compareRuns);
}

export function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const r of items) {
    const k = key(r);
    const list = groups.get(k);
    if (list) list.push(r);
    else groups.set(k, [r]);
  }
  return groups;
}

export const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

export function nonNegative(name: string, value: number): number {
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
