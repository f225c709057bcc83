import type { Row } from '../api';

export const LANE_H = 22;
export const AXIS_H = 24;
export const GUTTER = 110;
export const MIN_GHOST_MS = 1000;

/** A row's identity in a run: its node and task name. */
export const rowKey = (node: string | null, task: string) => `${node ?? '\u0000'}\u0001${task}`;

export interface Bar {
  row: Row;
  lane: number;
  t0: number;
  t1: number;
  /** Not started (no times): drawn as a slot after what the node did so far. */
  ghost: boolean;
  /** Still running: the bar extends to now. */
  open: boolean;
}

export interface Lane {
  node: string | null;
  bars: Bar[];
}

/** What is drawn and where the view looks: shared by the timeline, its drawing and its pointer handling. */
export interface View {
  lanes: Lane[];
  x0: number; // ms at the left of the plot
  msPerPx: number;
  yOff: number;
  width: number;
  height: number;
  touched: boolean; // the user zoomed or panned: live updates no longer refit
  live: boolean;
  selected: string | null;
  /** The rows the page's filters keep (the others drawn faded); null: all. */
  keep?: ((r: Row) => boolean) | null;
  /** Each node's roles and host name (by node id; `null` the cluster-level lane). */
  nodeInfo?: Map<string | null, { roles: string[]; hostname: string | null }>;
  /** Called after the user zoomed or panned (the page writes the window to the URL). */
  onViewChange?: () => void;
}

/** Where a bar is drawn (CSS pixels in the canvas). */
export function barRect(v: View, b: Bar): { x: number; y: number; w: number; h: number } {
  const x = GUTTER + (b.t0 - v.x0) / v.msPerPx;
  const w = Math.max(2, (b.t1 - b.t0) / v.msPerPx);
  return { x, y: AXIS_H + b.lane * LANE_H - v.yOff + 3, w, h: LANE_H - 6 };
}

/** How long a not-started task's slot is: the mean duration of the finished ones (or 1% of the span). */
export function estimateGhost(rows: Row[]): number {
  let lo = Infinity;
  let hi = -Infinity;
  let done = 0;
  let sum = 0;
  for (const r of rows) {
    const s = r.time_start ? Date.parse(r.time_start) : NaN;
    const e = r.time_end ? Date.parse(r.time_end) : NaN;
    if (s < lo) lo = s;
    if (e > hi) hi = e;
    if (s === s && e === e) {
      done++;
      sum += e - s;
    }
  }
  const mean = done ? sum / done : 0;
  const span = Number.isFinite(lo) && Number.isFinite(hi) ? hi - lo : 0;
  return Math.max(MIN_GHOST_MS, mean || span / 100);
}

/** Places a lane's bars in time; returns when the node's last work ended (the run's start if none). */
function placeTimed(lane: Lane, runStart: number, now: number): number {
  let end = runStart;
  for (const b of lane.bars) {
    const r = b.row;
    const s = r.time_start ? Date.parse(r.time_start) : NaN;
    const e = r.time_end ? Date.parse(r.time_end) : NaN;
    b.ghost = false;
    b.open = false;
    if (s === s) {
      b.t0 = s;
      if (e === e) b.t1 = Math.max(e, s);
      else if (r.status === 'running') {
        b.open = true;
        b.t1 = Math.max(now, s);
      } else b.t1 = s;
    } else if (e === e && r.status !== 'skipped') {
      b.t0 = b.t1 = e;
    } else {
      // Not started, or skipped because the run ended first: a slot after the node's last work.
      b.ghost = true;
      continue;
    }
    if (b.t1 > end) end = b.t1;
  }
  return end;
}

/** Lays a lane's bars out in time, then sorts them for drawing. */
export function layoutLane(lane: Lane, runStart: number, ghostMs: number): void {
  // Tasks that did not start: one slot each after what the node did, in graph order.
  let t = placeTimed(lane, runStart, Date.now());
  for (const b of lane.bars) {
    if (!b.ghost) continue;
    b.t0 = t + ghostMs * 0.1;
    b.t1 = b.t0 + ghostMs * 0.8;
    t += ghostMs;
  }
  // Draw order: what covers a longer span first, so short tasks stay visible on top of long ones.
  lane.bars.sort((a, b) => b.t1 - b.t0 - (a.t1 - a.t0));
}

/** The bar under a point of the canvas (CSS pixels), the one drawn on top first. */
export function barAt(v: View, px: number, py: number): Bar | null {
  if (px < GUTTER || py < AXIS_H) return null;
  const lane = v.lanes[Math.floor((py - AXIS_H + v.yOff) / LANE_H)];
  if (!lane) return null;
  const t = v.x0 + (px - GUTTER) * v.msPerPx;
  const slack = 2 * v.msPerPx;
  const now = Date.now();
  for (let j = lane.bars.length - 1; j >= 0; j--) {
    const b = lane.bars[j];
    const t1 = b.open ? Math.max(now, b.t0) : b.t1;
    if (t >= b.t0 - slack && t <= Math.max(t1, b.t0 + v.msPerPx) + slack) return b;
  }
  return null;
}

/** Keeps the vertical scroll within the lanes. */
export function clampY(v: View): void {
  const max = Math.max(0, v.lanes.length * LANE_H - (v.height - AXIS_H));
  v.yOff = Math.min(Math.max(0, v.yOff), max);
}
