import { isFinalRun, type RunStatus } from './task-state';

/**
 * The run (transaction) status rule. A final status (`ready`, `error`, `stopped`) is never left for
 * a non-final one; between two final reports the later wins (ties: error > stopped > ready);
 * progress only grows; an empty error is no error. The status, progress, times and a final run's
 * message do not depend on arrival order; the message of a run still in progress is the last one received.
 */
export interface RunState {
  status: RunStatus;
  progress: number;
  message: string | null;
  statusTime: Date | null;
  timeEnd: Date | null;
}

export interface RunReport {
  status?: RunStatus;
  progress?: number;
  message?: string | null;
  time: Date;
}

const RANK: Record<RunStatus, number> = { pending: 0, running: 1, ready: 2, stopped: 2, error: 2 };
const FINAL_TIE: Record<string, number> = { ready: 0, stopped: 1, error: 2 };

export function reconcileRun(state: RunState, reports: readonly RunReport[]): RunState {
  let s = state;
  for (const r of reports) s = applyRunReport(s, r);
  return s;
}

function applyRunReport(s: RunState, report: RunReport): RunState {
  const r = { ...report, message: report.message || null };
  const progress = Math.max(s.progress, r.progress ?? 0, r.status && isFinalRun(r.status) ? 100 : 0);
  // A final run's message is its final report's: later notes without a status do not replace it.
  if (!r.status) return { ...s, progress, message: isFinalRun(s.status) ? s.message : (r.message ?? s.message) };
  const takeIt = RANK[r.status] > RANK[s.status] || (isFinalRun(r.status) && isFinalRun(s.status) && laterFinal(s, r));
  if (!takeIt) {
    // Same non-final status again: it has held since the earliest such report; take a message if one came.
    const sameRank = RANK[r.status] === RANK[s.status] && !isFinalRun(s.status);
    if (!sameRank) return { ...s, progress };
    const statusTime = s.statusTime && s.statusTime < r.time ? s.statusTime : r.time;
    return { ...s, progress, statusTime, message: r.message ?? s.message };
  }
  return {
    status: r.status,
    progress,
    message: r.message ?? (isFinalRun(r.status) ? null : s.message),
    statusTime: r.time,
    timeEnd: isFinalRun(r.status) ? r.time : null,
  };
}

function laterFinal(s: RunState, r: RunReport): boolean {
  const st = s.statusTime?.getTime() ?? -Infinity;
  const rt = r.time.getTime();
  if (rt !== st) return rt > st;
  const d = FINAL_TIE[r.status!] - FINAL_TIE[s.status];
  if (d !== 0) return d > 0;
  return (r.message ?? '') > (s.message ?? '');
}

export function sameRunState(a: RunState, b: RunState): boolean {
  return (
    a.status === b.status &&
    a.progress === b.progress &&
    a.message === b.message &&
    a.statusTime?.getTime() === b.statusTime?.getTime() &&
    a.timeEnd?.getTime() === b.timeEnd?.getTime()
  );
}
