import type { Row } from '../api';

export const LANE_H = 22;
export const AXIS_H = 24;
/** The node column's width on a wide screen, and on a phone (where the plot needs the room). */
export const GUTTER_WIDE = 168;
export const GUTTER_NARROW = 92;
/** A marker's half size (a diamond, CSS pixels). */
export const MARK_R = 6;
/** Unplaced markers ("not started") sit this far right of their lane's last work. */
export const UNPLACED_DX = 12;

/** A row's identity in a run: its node and task name. */
export const rowKey = (node: string | null, task: string) => `${node ?? '\u0000'}\u0001${task}`;

export interface Bar {
  row: Row;
  lane: number;
  t0: number;
  t1: number;
  /**
   * 'bar' when the task has a start (drawn from its start to its end, or to now while running);
   * 'marker' when it has none (skipped or pending): never a span it did not have, only a diamond.
   */
  kind: 'bar' | 'marker';
  /**
   * A marker with no time at all (pending, or skipped with no end): drawn just after the lane's last
   * work, where a reader looks for "what this node did not get to", but at no time of the axis (t0/t1
   * hold the lane's last end, only to place it).
   */
  unplaced: boolean;
  /** Still running: the bar extends to now. */
  open: boolean;
}

export interface Lane {
  node: string | null;
  bars: Bar[];
  /** The lane's bars and markers in time order (keyboard moves), rebuilt with the lane's layout. */
  order: Bar[];
}

/** What is drawn and where the view looks: shared by the timeline, its drawing and its pointer handling. */
export interface View {
  lanes: Lane[];
  x0: number; // ms at the left of the plot
  msPerPx: number;
  yOff: number;
  width: number;
  height: number;
  /** The node column's width (narrower on a phone). */
  gutter: number;
  touched: boolean; // the user zoomed or panned: live updates no longer refit
  live: boolean;
  /** When the view stopped being live (the stream dropped or ended): running bars stop growing there. */
  frozenAt?: number | null;
  selected: string | null;
  /** The keyboard's current task (drawn with a focus ring while the timeline has focus). */
  focused: Bar | null;
  hasFocus: boolean;
  /** The rows the page's filters keep (the others drawn faded); null: all. */
  keep?: ((r: Row) => boolean) | null;
  /** Each node's roles and host name (by node id; `null` the cluster-level lane). */
  nodeInfo?: Map<string | null, { roles: string[]; hostname: string | null }>;
  /** Called after the user zoomed or panned (the page writes the window to the URL). */
  onViewChange?: () => void;
}

/** The x of a time (CSS pixels in the canvas). */
export const xOf = (v: View, t: number) => v.gutter + (t - v.x0) / v.msPerPx;

/** Where a marker's centre is drawn. */
function markerX(v: View, b: Bar): number {
  return xOf(v, b.t0) + (b.unplaced ? UNPLACED_DX + MARK_R : 0);
}

/**
 * "Now" as the timeline draws it: the clock while the view is live; once its stream dropped or ended, the
 * moment it stopped, so a running bar does not go on growing on a page that no longer hears from the
 * service (a view never live, a finished run loaded whole, uses the clock).
 */
export function clock(v: View): number {
  return v.live || v.frozenAt == null ? Date.now() : v.frozenAt;
}

/** The end a bar is drawn to: its end, or "now" (clock) while it runs. */
export function barEnd(v: View, b: Bar, now = clock(v)): number {
  return b.open ? Math.max(now, b.t0) : b.t1;
}

/** Where a bar or marker is drawn (CSS pixels in the canvas). */
export function barRect(v: View, b: Bar, now = clock(v)): { x: number; y: number; w: number; h: number } {
  const top = AXIS_H + b.lane * LANE_H - v.yOff;
  if (b.kind === 'marker') return { x: markerX(v, b) - MARK_R, y: top + LANE_H / 2 - MARK_R, w: 2 * MARK_R, h: 2 * MARK_R };
  const t1 = barEnd(v, b, now);
  const x = xOf(v, b.t0);
  const w = Math.max(2, (t1 - b.t0) / v.msPerPx);
  return { x, y: top + 3, w, h: LANE_H - 6 };
}

/** Places a lane's bars in time; returns when the node's last work ended (the run's start if none). */
function placeTimed(lane: Lane, runStart: number, now: number): number {
  let end = runStart;
  for (const b of lane.bars) {
    const r = b.row;
    const s = r.time_start ? Date.parse(r.time_start) : NaN;
    const e = r.time_end ? Date.parse(r.time_end) : NaN;
    b.open = false;
    b.unplaced = false;
    if (s === s) {
      b.kind = 'bar';
      b.t0 = s;
      if (e === e) b.t1 = Math.max(e, s);
      else if (r.status === 'running') {
        b.open = true;
        b.t1 = Math.max(now, s);
      } else b.t1 = s;
      if (b.t1 > end) end = b.t1;
    } else {
      // No start: a marker at the one time it has (a skipped task closed out at the run's end), or none.
      b.kind = 'marker';
      if (e === e) b.t0 = b.t1 = e;
      else b.unplaced = true;
    }
  }
  return end;
}

/** Lays a lane's bars out in time, then sorts them for drawing and for the keyboard. */
export function layoutLane(lane: Lane, runStart: number, now: number): void {
  const end = placeTimed(lane, runStart, now);
  for (const b of lane.bars) if (b.unplaced) b.t0 = b.t1 = end;
  // Draw order: what covers a longer span first, so short tasks stay visible on top of long ones; markers last.
  lane.bars.sort((a, b) => (a.kind === b.kind ? b.t1 - b.t0 - (a.t1 - a.t0) : a.kind === 'marker' ? 1 : -1));
  lane.order = lane.bars.slice().sort((a, b) => a.t0 - b.t0 || Number(a.unplaced) - Number(b.unplaced) || a.t1 - b.t1);
}

/** The bar under a point of the canvas (CSS pixels), the one drawn on top first. */
export function barAt(v: View, px: number, py: number): Bar | null {
  if (px < v.gutter || py < AXIS_H) return null;
  const lane = v.lanes[laneAt(v, py)];
  if (!lane) return null;
  const t = v.x0 + (px - v.gutter) * v.msPerPx;
  const slack = 2 * v.msPerPx;
  const now = clock(v);
  for (let j = lane.bars.length - 1; j >= 0; j--) {
    const b = lane.bars[j];
    if (b.kind === 'marker') {
      if (Math.abs(px - markerX(v, b)) <= MARK_R + 1) return b;
      continue;
    }
    const t1 = barEnd(v, b, now);
    if (t >= b.t0 - slack && t <= Math.max(t1, b.t0 + v.msPerPx) + slack) return b;
  }
  return null;
}

/** The lane at a y of the canvas. */
export const laneAt = (v: View, py: number) => Math.floor((py - AXIS_H + v.yOff) / LANE_H);

/** The height of all the lanes and the axis: what the scrolling container holds. */
export const contentHeight = (v: View) => AXIS_H + v.lanes.length * LANE_H + 4;

/** Keeps the vertical scroll within the lanes. */
export function clampY(v: View): void {
  const max = Math.max(0, contentHeight(v) - v.height);
  v.yOff = Math.min(Math.max(0, v.yOff), max);
}
