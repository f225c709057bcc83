import { nodeLabel } from '../common/node-order';
import { terminalText } from '../common/terminal-text';
// Types only: the answers' shapes, as the service declares them (erased at run time; the CLI speaks HTTP only).
import type { CriticalPathDto as CriticalPathAnswer } from '../history/dto/critical-path.dto';
import type {
  DurationFiguresDto as DurationFigures,
  FlakyTasksAnswerDto as FlakyAnswer,
  RegressionsAnswerDto as RegressionsAnswer,
  TaskStatsAnswerDto as TaskStatsAnswer,
  UnjudgedTaskDto as UnjudgedTask,
} from '../history/dto/insights.dto';
import { OutputOptions, renderList, Row, toYaml } from './output';

/**
 * How `dhist` prints the issue #15 answers (pure, so the tests need no server). Each answer is an
 * object with a list in it: json and yaml print the whole object; csv and value print the list's rows
 * (what a script wants); table prints the rows with the answer's totals as a line above the table (as
 * `task history show --watch` heads its table) and notes below it.
 */

/** json/yaml: the whole answer; otherwise null (the caller renders rows). */
function whole(answer: object, o: OutputOptions): string | null {
  if (o.format === 'json') return JSON.stringify(answer, null, o.noindent ? undefined : 2) + '\n';
  if (o.format === 'yaml') return toYaml(answer);
  return null;
}

/** A table with a line above it and notes below it; other formats get the rows alone. */
function framed(table: string, o: OutputOptions, head: string, notes: string[] = []): string {
  if (o.format !== 'table') return table;
  return [`${terminalText(head)}\n`, table, ...notes.map((n) => `${terminalText(n)}\n`)].join('');
}

/** Three decimals: the durations are kept to the millisecond; a ratio or a rate needs no more to be read. */
const readable = (n: number): number => Math.round(n * 1000) / 1000;

/**
 * The rows as renderList prints them; for a person (table, value) numbers are shown to three decimals
 * (`207.179`, not the float sum `207.17900000000003`); csv keeps them as answered, for programs.
 */
function list(rows: Row[], defaults: string[], known: string[], o: OutputOptions): string {
  const shown =
    o.format === 'table' || o.format === 'value'
      ? rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? readable(v) : v])))
      : rows;
  return renderList(shown, defaults, known, o);
}

const seconds = (s: number | null): string => (s === null ? '-' : `${readable(s)} s`);
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

// ---------------------------------------------------------------------------------------------------
// task history critical-path

export const CRITICAL_PATH_COLUMNS = ['node_id', 'task_name', 'status', 'time_start', 'time_end', 'duration_s', 'wait_s', 'via'];

export function renderCriticalPath(a: CriticalPathAnswer, o: OutputOptions): string {
  const all = whole(a, o);
  if (all !== null) return all;
  const table = list(a.steps as unknown as Row[], CRITICAL_PATH_COLUMNS, [], o);
  const head = a.steps.length
    ? `transaction ${a.transaction_id} (${a.status}): critical path of ${plural(a.steps.length, 'step')}; ` +
      `run ${seconds(a.duration_s)} from ${a.time_start} to ${a.time_end}: ${seconds(a.tasks_s)} in tasks, ${seconds(a.waiting_s)} waiting`
    : `transaction ${a.transaction_id} (${a.status}): no task has started, no critical path yet`;
  const notes: string[] = [];
  if (a.fallback) notes.push("fallback: the run's graph has no dependency, so the path follows each node's own task order");
  if (a.running) notes.push('running: the run has not ended, this is the path so far (open tasks counted up to now)');
  return framed(table, o, head, notes);
}

// ---------------------------------------------------------------------------------------------------
// task history regressions

export const REGRESSION_COLUMNS = [
  'task_name',
  'node_id',
  'duration',
  'baseline_p50',
  'baseline_p95',
  'baseline_runs',
  'excess_seconds',
  'ratio',
];
const UNJUDGED_COLUMNS = ['task_name', 'node_id', 'duration', 'baseline_runs'];

export function regressionRows(a: RegressionsAnswer): Row[] {
  return a.regressions.map((r) => ({
    task_name: r.task_name,
    node_id: r.node_id,
    duration: r.duration,
    baseline_p50: r.baseline.p50,
    baseline_p95: r.baseline.p95,
    baseline_runs: r.baseline.runs,
    excess_seconds: r.excess_seconds,
    ratio: r.ratio,
  }));
}

/** csv and value: the regressions only (the tasks not judged are in json and yaml, and below the table). */
export function renderRegressions(a: RegressionsAnswer, o: OutputOptions): string {
  const all = whole(a, o);
  if (all !== null) return all;
  const table = list(regressionRows(a), REGRESSION_COLUMNS, [], o);
  if (o.format !== 'table') return table;
  const r = a.rule;
  const head =
    `transaction ${a.transaction_id} (cluster ${a.cluster_id}): ${plural(a.regressions.length, 'regression')} ` +
    `against the previous ${plural(a.baseline, 'real run')}; rule: above the baseline p${r.percentile}, ` +
    `at least ${r.min_ratio}× its p50 and ${r.min_extra_seconds} s longer, with at least ${plural(r.min_runs, 'baseline run')}`;
  return (
    framed(table, o, head) +
    unjudged('new in this run (no history on this cluster)', a.new_tasks, o) +
    unjudged(`not enough history (fewer than ${plural(r.min_runs, 'baseline run')})`, a.not_enough_history, o)
  );
}

function unjudged(title: string, tasks: UnjudgedTask[], o: OutputOptions): string {
  if (!tasks.length) return '';
  return `${title}:\n${list(tasks as unknown as Row[], UNJUDGED_COLUMNS, [], { ...o, columns: [] })}`;
}

// ---------------------------------------------------------------------------------------------------
// env task-stats

export const TASK_STATS_COLUMNS = ['task_name', 'runs', 'p50', 'p95', 'max', 'failure_rate', 'errors', 'last_failure', 'trend_ratio'];
const TASK_STATS_KNOWN = [
  'role',
  'timed_rows',
  'terminal_rows',
  'trend_recent_p50',
  'trend_previous_p50',
  'trend_recent_runs',
  'trend_previous_runs',
];

function figures(f: DurationFigures): Row {
  const last = f.last_failure;
  return {
    runs: f.runs,
    p50: f.p50,
    p95: f.p95,
    max: f.max,
    failure_rate: f.failure_rate,
    errors: f.errors,
    last_failure: last ? `${last.transaction_id} (${nodeLabel(last.node_id)}, ${last.time ?? 'no time'})` : null,
    trend_ratio: f.trend?.ratio ?? null,
    timed_rows: f.timed_rows,
    terminal_rows: f.terminal_rows,
    trend_recent_p50: f.trend?.recent_p50 ?? null,
    trend_previous_p50: f.trend?.previous_p50 ?? null,
    trend_recent_runs: f.trend?.recent_runs ?? null,
    trend_previous_runs: f.trend?.previous_runs ?? null,
  };
}

/** One row per task, or with `byRole` one row per (task, role). */
export function taskStatsRows(a: TaskStatsAnswer, byRole: boolean): Row[] {
  if (!byRole) return a.tasks.map((t) => ({ task_name: t.task_name, ...figures(t) }));
  return a.tasks.flatMap((t) => t.by_role.map((r) => ({ task_name: t.task_name, role: r.role, ...figures(r) })));
}

export function renderTaskStats(a: TaskStatsAnswer, byRole: boolean, o: OutputOptions): string {
  const all = whole(a, o);
  if (all !== null) return all;
  const defaults = byRole ? ['task_name', 'role', ...TASK_STATS_COLUMNS.slice(1)] : TASK_STATS_COLUMNS;
  const table = list(taskStatsRows(a, byRole), defaults, TASK_STATS_KNOWN, o);
  const head =
    `cluster ${a.cluster_id}, ${a.epoch === 'all' ? 'all epochs' : 'since the last reset'}: ${plural(a.runs, 'real finished run')}, ` +
    `${plural(a.tasks.length, 'task')}; durations in seconds; trend_ratio: p50 of the last ${a.trend_runs} runs / p50 of the ${a.trend_runs} before`;
  return framed(table, o, head);
}

// ---------------------------------------------------------------------------------------------------
// env flaky

export const FLAKY_COLUMNS = ['task_name', 'node_id', 'failed', 'succeeded', 'failed_runs', 'top_error'];

export function flakyRows(a: FlakyAnswer): Row[] {
  return a.tasks.map((t) => ({
    task_name: t.task_name,
    node_id: t.node_id,
    failed: t.failed,
    succeeded: t.succeeded,
    failed_runs: t.failed_runs.join(' '),
    top_error: t.errors.length ? `${t.errors[0].message ?? '(no message)'} (${t.errors[0].count}×)` : null,
    errors: t.errors.map((e) => `${e.message ?? '(no message)'} (${e.count}×)`).join('; '),
  }));
}

export function renderFlaky(a: FlakyAnswer, o: OutputOptions): string {
  const all = whole(a, o);
  if (all !== null) return all;
  const table = list(flakyRows(a), FLAKY_COLUMNS, ['errors'], o);
  const span = a.runs.length ? ` (transactions ${a.runs[0]} to ${a.runs[a.runs.length - 1]})` : '';
  const head =
    `cluster ${a.cluster_id}, ${a.epoch === 'all' ? 'all epochs' : 'since the last reset'}: ` +
    `${plural(a.tasks.length, 'flaky task')} (failed and succeeded on the same node) in the last ${plural(a.runs.length, 'real run')}${span}`;
  return framed(table, o, head);
}
