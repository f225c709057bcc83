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
 * The rows are put in groups (below) and measured by `TaskGroups.stats`, as the route does from the lists it reads.
 */
export function taskStats(rows: readonly StatsRow[], options: TaskStatsOptions = {}): TaskStats[] {
  const trendRuns = positiveInteger('trendRuns', options.trendRuns ?? DEFAULT_TREND_RUNS);
  const terminal = rows.filter((r) => isTerminal(r.status));
  const runs = runsInOrder(terminal);
  const position = new Map(runs.map((run, i) => [run.run_id, i]));
  const tasks = new TaskGroups();
  const noRole: readonly string[] = [];
  for (const row of terminal) {
    const groups = tasks.groupsOf(row.task_name, row.role === null ? noRole : [row.role]);
    const pos = position.get(row.run_id)!;
    addEntry(groups, pos, rowDuration(row));
    if (row.status === 'error') {
      const time = row.time_end ?? row.time_start;
      addFailure(groups, { pos, run_id: row.run_id, node_id: row.node_id, time: time === null ? null : time.getTime() });
    }
  }
  return tasks.stats(runs.length, trendRuns);
}

/**
 * A group of terminal rows, the unit the figures are computed over: parallel lists of each row's run (its
 * position in run order) and duration (null: none), and the group's `error` rows. Numbers rather than row
 * objects, so the route's ~100,000 entries (insights/stats-figures.ts) are measured in a few tens of ms.
 */
export interface RowGroup {
  pos: number[];
  durations: Array<number | null>;
  failures: Failure[];
}

/** An `error` row: its run (position in run order, and id), node and time in ms (its end, else its start; null for neither). */
export interface Failure {
  pos: number;
  run_id: number;
  node_id: string | null;
  time: number | null;
}

/** One row in each of `groups` (its task's, its role's). */
export function addEntry(groups: readonly RowGroup[], pos: number, duration: number | null): void {
  for (const g of groups) {
    g.pos.push(pos);
    g.durations.push(duration);
  }
}

/** A failing row in each of `groups` (the row itself is added by addEntry). */
export function addFailure(groups: readonly RowGroup[], failure: Failure): void {
  for (const g of groups) g.failures.push(failure);
}

/** Per task name, the group of its rows over all nodes and one per role. */
export class TaskGroups {
  private readonly tasks = new Map<string, { all: RowGroup; byRole: Map<string, RowGroup> }>();

  /** The groups a row of `task` counts in: the task's, then one per role in `roles`. */
  groupsOf(task: string, roles: readonly string[]): RowGroup[] {
    let t = this.tasks.get(task);
    if (!t) this.tasks.set(task, (t = { all: rowGroup(), byRole: new Map() }));
    const groups = [t.all];
    for (const role of roles) {
      let g = t.byRole.get(role);
      if (!g) t.byRole.set(role, (g = rowGroup()));
      groups.push(g);
    }
    return groups;
  }

  /**
   * The figures of every task (in name order) and of its roles (in role name order); `runCount` is the number
   * of runs the positions index. A task whose groups were asked for but got no row is not listed.
   */
  stats(runCount: number, trendRuns: number): TaskStats[] {
    const result: TaskStats[] = [];
    for (const [task_name, t] of this.tasks) {
      if (t.all.pos.length === 0) continue;
      const by_role = [...t.byRole.entries()]
        .sort(([a], [b]) => byName(a, b))
        .map(([role, g]) => ({ role, ...groupFigures(g, runCount, trendRuns) }));
      result.push({ task_name, ...groupFigures(t.all, runCount, trendRuns), by_role });
    }
    return result.sort((a, b) => byName(a.task_name, b.task_name));
  }
}

const rowGroup = (): RowGroup => ({ pos: [], durations: [], failures: [] });

/** The figures of one group (non-empty). */
export function groupFigures(g: RowGroup, runCount: number, trendRuns: number): DurationFigures {
  // A typed array sorts numbers natively (no comparator calls): most of the time of task_stats is these sorts.
  const sorted = Array.from(Float64Array.from(g.durations.filter((d): d is number => d !== null)).sort());
  // The group's runs in run order: positions are 0..runCount-1, so a mark per run rather than a sort.
  const seen = new Uint8Array(runCount);
  for (const pos of g.pos) seen[pos] = 1;
  const runs: number[] = [];
  seen.forEach((v, pos) => v && runs.push(pos));
  const errors = g.failures.length;
  return {
    runs: runs.length,
    timed_rows: sorted.length,
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    // The last, not Math.max(...durations): a spread of a few hundred thousand durations overflows the stack.
    max: sorted.length ? sorted[sorted.length - 1] : null,
    failure_rate: errors / g.pos.length,
    errors,
    terminal_rows: g.pos.length,
    last_failure: lastFailure(g.failures),
    trend: trend(g, runs, trendRuns),
  };
}

/** The latest failure: in the latest run, then the latest time (none: earliest), then the last node in node order. */
function lastFailure(failures: readonly Failure[]): LastFailure | null {
  const order = (a: Failure, b: Failure): number =>
    a.pos - b.pos || (a.time ?? -Infinity) - (b.time ?? -Infinity) || compareNodes(a.node_id, b.node_id);
  let last: Failure | null = null;
  for (const f of failures) if (last === null || order(f, last) > 0) last = f;
  return last && { run_id: last.run_id, node_id: last.node_id, time: last.time === null ? null : new Date(last.time) };
}

/** The p50 of the group's last `n` runs (`runs`: its run positions, ascending) against the `n` before. */
function trend(g: RowGroup, runs: readonly number[], n: number): Trend | null {
  // The recent window is the runs from position `recentFrom` of the group's runs, the previous one the n before.
  const recentFrom = Math.max(0, runs.length - n);
  const previousFrom = Math.max(0, runs.length - 2 * n);
  if (recentFrom === 0) return null;
  const recentStart = runs[recentFrom];
  const previousStart = runs[previousFrom];
  const recent: number[] = [];
  const previous: number[] = [];
  g.pos.forEach((pos, i) => {
    const d = g.durations[i];
    if (d === null || pos < previousStart) return;
    (pos >= recentStart ? recent : previous).push(d);
  });
  const recentP50 = percentile(recent, 50);
  const previousP50 = percentile(previous, 50);
  if (recentP50 === null || previousP50 === null) return null;
  return {
    runs: n,
    recent_runs: runs.length - recentFrom,
    previous_runs: recentFrom - previousFrom,
    recent_p50: recentP50,
    previous_p50: previousP50,
    ratio: previousP50 === 0 ? null : recentP50 / previousP50,
  };
}
