import { TaskStatus } from './task-state';
import { compareTaskRefs, NodeId, requiresOf, TaskGraph } from './task-graph';

/**
 * The critical path of a run (issue #15 §1): the chain of (node, task) that determined the run's
 * duration. Pure: the run's rows and its dependency map (task-graph.ts) in, the chain out.
 *
 * The walk starts from the row that ended last and goes back, step by step, to the dependency that
 * finished last before the current step started: among its `requires` (on any node) when the graph names
 * any that ran and ended by then, else the previous task on the same node (the one that ended last before
 * it started there). The walk stops at a task with neither. A graph without a single edge gives the
 * same-node chain only, and the answer says `fallback: true`.
 *
 * Rules where the issue is silent:
 *  - rows that never started (no time_start) are not part of any chain;
 *  - a row without time_end (still running, or open) counts as ending at `now`, and the answer says
 *    `running: true`: the path so far;
 *  - "before it started" includes the same instant (end ≤ start): tasks chained without a gap;
 *  - ties (same end) go to the first in node order (src/common/node-order.ts), then by task name; a row
 *    already on the path is never chosen again, so equal-time rows cannot make a loop;
 *  - each step's `wait_s` is the gap between the end of the step before it and its start; the first
 *    step's is the gap since the run's first start, so `duration_s = tasks_s + waiting_s` always holds.
 *
 * Cost: O(rows) to index, then per step its requires (or one binary search on its node, whose rows are
 * sorted the first time): a 30,000-step chain took ~22 ms at best, ~55 ms median, on the loaded 2-core CI
 * machine; no lookup builds a string. A run has one row per (node, task) (the store's key); were a pair
 * listed twice, the graph would see the last one.
 */

/** One row of the run, as the store has it. */
export interface PathRow {
  node: NodeId;
  task: string;
  status: TaskStatus;
  timeStart: Date | null;
  timeEnd: Date | null;
}

export interface PathStep {
  node: NodeId;
  task: string;
  status: TaskStatus;
  time_start: Date;
  /** The row's end, or `now` when it has not ended. */
  time_end: Date;
  duration_s: number;
  /** Gap between the previous step's end (the run's start for the first step) and this step's start. */
  wait_s: number;
  /** How the previous step was found: through this step's requires, or as the previous task on its node; null for the first step. */
  via: 'requires' | 'node' | null;
}

export interface CriticalPath {
  /** From the first task of the chain to the row that ended last. */
  steps: PathStep[];
  /** First start and last end of the run (null when nothing started). */
  time_start: Date | null;
  time_end: Date | null;
  /** Run duration: from the first start to the last end. */
  duration_s: number;
  /** Time in tasks on the path. */
  tasks_s: number;
  /** Time waiting between the path's tasks (orchestrator time, not task time). */
  waiting_s: number;
  /** The graph had no dependency: the path is the same-node chain only. */
  fallback: boolean;
  /** Some row had not ended: counted up to `now`. */
  running: boolean;
}

/** A row that started, with its times in ms; the walk marks it when it joins the path. */
interface Timed {
  row: PathRow;
  start: number;
  end: number;
  onPath: boolean;
  via: PathStep['via'];
}

export function criticalPath(rows: readonly PathRow[], graph: TaskGraph, now: Date): CriticalPath {
  const timed = timeRows(rows, now.getTime());
  const fallback = !graph.hasDependencies;
  const running = timed.some((t) => t.row.timeEnd === null);
  if (timed.length === 0) {
    return { steps: [], time_start: null, time_end: null, duration_s: 0, tasks_s: 0, waiting_s: 0, fallback, running };
  }
  const byNode = indexByNode(timed);
  const runStart = timed.reduce((min, t) => Math.min(min, t.start), Infinity);
  const last = timed.reduce((best, t) => (later(t, best) ? t : best));

  const chain: Timed[] = [];
  let current: Timed | undefined = last;
  while (current) {
    current.onPath = true;
    chain.push(current);
    const byRequires: Timed | undefined = fallback ? undefined : viaRequires(current, graph, byNode);
    const previous: Timed | undefined = byRequires ?? viaNode(current, byNode);
    current.via = previous === undefined ? null : byRequires ? 'requires' : 'node';
    current = previous;
  }
  chain.reverse();

  let before = runStart;
  let tasksMs = 0;
  const steps = chain.map((at): PathStep => {
    const step = {
      node: at.row.node,
      task: at.row.task,
      status: at.row.status,
      // The row's own dates where they are the answer: a 30,000-step path allocates no more.
      time_start: at.row.timeStart!,
      time_end: at.row.timeEnd !== null && at.row.timeEnd.getTime() === at.end ? at.row.timeEnd : new Date(at.end),
      duration_s: seconds(at.end - at.start),
      wait_s: seconds(at.start - before),
      via: at.via,
    };
    tasksMs += at.end - at.start;
    before = at.end;
    return step;
  });
  const durationMs = last.end - runStart;
  return {
    steps,
    time_start: new Date(runStart),
    time_end: new Date(last.end),
    duration_s: seconds(durationMs),
    tasks_s: seconds(tasksMs),
    // The chain ends at the run's last end and its steps do not overlap: the rest of the duration is waiting.
    waiting_s: seconds(durationMs - tasksMs),
    fallback,
    running,
  };
}

const seconds = (ms: number): number => ms / 1000;

/** Rows that started, with their end (`now` for a row not ended, never before its start). */
function timeRows(rows: readonly PathRow[], now: number): Timed[] {
  const out: Timed[] = [];
  for (const row of rows) {
    if (row.timeStart === null) continue;
    const start = row.timeStart.getTime();
    const end = row.timeEnd === null ? Math.max(now, start) : Math.max(row.timeEnd.getTime(), start);
    out.push({ row, start, end, onPath: false, via: null });
  }
  return out;
}

/** True when `a` should be preferred to `b` as "the one that ended last": later end, then node order, then task name. */
function later(a: Timed, b: Timed): boolean {
  return a.end !== b.end ? a.end > b.end : compareTaskRefs(a.row, b.row) < 0;
}

/** The required row that ended last by `current`'s start, not yet on the path. */
function viaRequires(current: Timed, graph: TaskGraph, byNode: ReadonlyMap<NodeId, NodeRows>): Timed | undefined {
  let best: Timed | undefined;
  for (const dep of requiresOf(graph, current.row.node, current.row.task)) {
    const t = byNode.get(dep.node)?.byTask.get(dep.task);
    if (!t || t.end > current.start || t.onPath) continue;
    if (!best || later(t, best)) best = t;
  }
  return best;
}

/**
 * Per node, its rows by end ascending and, for the same end, task name descending (so the scan back meets
 * the first name first). A node's list is sorted the first time the walk needs it: with a graph, most never are.
 */
function indexByNode(timed: readonly Timed[]): Map<NodeId, NodeRows> {
  const byNode = new Map<NodeId, NodeRows>();
  for (const t of timed) {
    const entry: NodeRows = byNode.get(t.row.node) ?? { sorted: false, rows: [], byTask: new Map() };
    byNode.set(t.row.node, entry);
    entry.rows.push(t);
    entry.byTask.set(t.row.task, t);
  }
  return byNode;
}

interface NodeRows {
  sorted: boolean;
  rows: Timed[];
  byTask: Map<string, Timed>;
}

const byEndThenName = (a: Timed, b: Timed): number => a.end - b.end || (a.row.task < b.row.task ? 1 : a.row.task > b.row.task ? -1 : 0);

/** The row of the same node that ended last by `current`'s start, not yet on the path. */
function viaNode(current: Timed, byNode: ReadonlyMap<NodeId, NodeRows>): Timed | undefined {
  const entry = byNode.get(current.row.node);
  if (!entry) return undefined;
  if (!entry.sorted) {
    entry.rows.sort(byEndThenName);
    entry.sorted = true;
  }
  const list = entry.rows;
  // Binary search for the last row with end ≤ current.start.
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].end <= current.start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo - 1; i >= 0; i--) if (!list[i].onPath) return list[i];
  return undefined;
}
