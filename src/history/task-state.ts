/** A task's status on a node, in its life order (the `history_status` enum of the database). */
export const TASK_STATUSES = ['pending', 'running', 'ready', 'error', 'skipped'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
import { RUN_STATUSES, type RunStatus } from '../common/run-status';
/** A run's status, in its life order: its home is src/common/run-status.ts (the clusters speak it too). */
export { RUN_STATUSES, type RunStatus };

/**
 * The task-status state machine. Every change to a history row goes through `reconcileTask`.
 *
 * The state of a row is a function of the *set* of reports received for it, so it does not depend on
 * the order in which they arrive nor on duplicates (Fuel bug 1564295):
 *  - status: the winning terminal report if any, else `running` if any report ran, else `pending`;
 *    the winning terminal report is the latest by time, ties broken by status, then by payload;
 *  - time_start: the earliest time of any report (so `ready` alone still gets both times);
 *  - time_end: the time of the winning terminal report;
 *  - error message, summary, custom: from the winning report.
 * When the run is over, a row still open is closed out (`pending` → `skipped`, `running` → `error`)
 * with the reason; a real report arriving later still wins, because closing out is a projection of
 * the real state, not part of it.
 */

export type ReportedStatus = Exclude<TaskStatus, 'pending'>;
export const REPORTED_STATUSES: readonly ReportedStatus[] = ['running', 'ready', 'error', 'skipped'];

export interface TaskReport {
  status: ReportedStatus;
  time: Date;
  errorMessage?: string | null;
  summary?: Record<string, unknown> | null;
  custom?: Record<string, unknown> | null;
}

export interface TaskState {
  status: TaskStatus;
  timeStart: Date | null;
  timeEnd: Date | null;
  errorMessage: string | null;
  summary: Record<string, unknown> | null;
  custom: Record<string, unknown>;
  closedReason: string | null;
}

/** What a row needs to know about its run to be closed out. */
export interface RunOutcome {
  status: RunStatus;
  timeEnd: Date | null;
  /** The run's message (its error, or why it was stopped), quoted in the close-out reason. */
  message?: string | null;
}

export const FINAL_RUN_STATUSES: readonly RunStatus[] = ['ready', 'error', 'stopped'];
const TERMINAL: readonly TaskStatus[] = ['ready', 'error', 'skipped'];
/** Tie-break between terminal reports with the same time: the more alarming one wins. */
const TERMINAL_RANK: Record<string, number> = { skipped: 0, ready: 1, error: 2 };

export const isTerminal = (s: TaskStatus): boolean => TERMINAL.includes(s);
export const isFinalRun = (s: RunStatus): boolean => FINAL_RUN_STATUSES.includes(s);

export function pendingState(): TaskState {
  return { status: 'pending', timeStart: null, timeEnd: null, errorMessage: null, summary: null, custom: {}, closedReason: null };
}

/**
 * Applies reports to a row and, when its run is over, closes it out. Pure: the stored state in,
 * the new state out. `reports` may come in any order and contain duplicates.
 */
export function reconcileTask(stored: TaskState, reports: readonly TaskReport[], run: RunOutcome): TaskState {
  let state = reopen(stored);
  for (const r of reports) state = applyReport(state, r);
  return isFinalRun(run.status) ? closeOut(state, run) : state;
}

/** True when two states would be stored identically. */
export function sameState(a: TaskState, b: TaskState): boolean {
  return (
    a.status === b.status &&
    time(a.timeStart) === time(b.timeStart) &&
    time(a.timeEnd) === time(b.timeEnd) &&
    a.errorMessage === b.errorMessage &&
    a.closedReason === b.closedReason &&
    canonical(a.summary) === canonical(b.summary) &&
    canonical(a.custom) === canonical(b.custom)
  );
}

/** The real state behind a closed-out row: closing out only ever hid `pending` or `running`. */
function reopen(s: TaskState): TaskState {
  if (s.closedReason === null) return s;
  return { ...s, status: s.status === 'skipped' ? 'pending' : 'running', timeEnd: null, closedReason: null };
}

function applyReport(s: TaskState, r: TaskReport): TaskState {
  const timeStart = s.timeStart === null || r.time < s.timeStart ? r.time : s.timeStart;
  const payload = {
    errorMessage: r.errorMessage ?? null,
    summary: r.summary ?? null,
    custom: r.custom ?? {},
  };
  if (r.status === 'running') {
    if (isTerminal(s.status)) return { ...s, timeStart };
    if (s.status === 'running' && payloadKey(s) >= payloadKey(payload)) return { ...s, timeStart };
    return { ...s, ...payload, status: 'running', timeStart };
  }
  const incoming = { ...payload, status: r.status, timeEnd: r.time };
  if (isTerminal(s.status) && compareTerminal(s, incoming) >= 0) return { ...s, timeStart };
  return { ...s, ...incoming, timeStart, closedReason: null };
}

type Terminal = Pick<TaskState, 'status' | 'timeEnd' | 'errorMessage' | 'summary' | 'custom'>;

function compareTerminal(a: Terminal, b: Terminal): number {
  return (
    time(a.timeEnd) - time(b.timeEnd) ||
    TERMINAL_RANK[a.status] - TERMINAL_RANK[b.status] ||
    (payloadKey(a) < payloadKey(b) ? -1 : payloadKey(a) > payloadKey(b) ? 1 : 0)
  );
}

function closeOut(s: TaskState, run: RunOutcome): TaskState {
  if (isTerminal(s.status)) return s;
  const why = `transaction ended with ${run.status}${run.message ? ` (${run.message})` : ''}`;
  if (s.status === 'pending') return { ...s, status: 'skipped', timeEnd: run.timeEnd, closedReason: `not reached: ${why}` };
  return { ...s, status: 'error', timeEnd: run.timeEnd, closedReason: `did not finish: ${why}` };
}

function payloadKey(p: Pick<TaskState, 'errorMessage' | 'summary' | 'custom'>): string {
  return canonical([p.errorMessage, p.summary, p.custom]);
}

const time = (d: Date | null): number => (d === null ? -Infinity : d.getTime());

/** JSON with object keys sorted, so that equal values (e.g. read back from jsonb) compare equal. */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v ?? null);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

/** Run statuses of a run not yet ended (RUN_STATUSES less the final ones). */
export const OPEN_RUN_STATUSES: readonly RunStatus[] = ['pending', 'running'];
/** Task statuses of a row still open: closed out when its run ends. */
export const OPEN_TASK_STATUSES: readonly TaskStatus[] = ['pending', 'running'];

/**
 * Statuses as an SQL list of literals, for `status IN ${...}`: the state machine's own fixed values (never
 * input), so that SQL names the same statuses as the code, from here.
 */
const sqlList = (statuses: readonly string[]): string => `(${statuses.map((s) => `'${s}'`).join(', ')})`;
/** `('ready', 'error', 'stopped')`: a run that ended. */
export const FINAL_RUN_SQL = sqlList(FINAL_RUN_STATUSES);
/** `('pending', 'running')`: a run in progress. */
export const OPEN_RUN_SQL = sqlList(OPEN_RUN_STATUSES);
/** `('pending', 'running')`: a task row still open. */
export const OPEN_TASK_SQL = sqlList(OPEN_TASK_STATUSES);
