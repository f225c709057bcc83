import { LANE_H, type Bar, type View } from './layout';

/** What the keyboard asks of the timeline. */
export interface KeyTarget {
  readonly view: View;
  /** Move the keyboard's focus to a bar: ring, reveal, announce. */
  focusBar(b: Bar): void;
  /** Open a bar's task, as a click does. */
  open(b: Bar): void;
  /** Zoom by a factor around the focused bar (or the middle); 0 fits. */
  zoomKey(factor: number): void;
}

/** The time a bar is "at" for moving up or down: its middle (a marker: its time). */
const mid = (b: Bar) => (b.t0 + b.t1) / 2;

/**
 * Arrow keys move between tasks: ←/→ the previous/next task of the lane in time order, ↑/↓ the task
 * nearest in time on the lane above/below, Home/End the first/last of the lane; Enter or Space opens it;
 * + and − zoom, 0 fits. Keys the timeline does not use are left to the page (Tab, Escape, PageDown...).
 */
export function onKey(t: KeyTarget, e: KeyboardEvent): void {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const v = t.view;
  if (e.key in ZOOM) {
    e.preventDefault();
    t.zoomKey(ZOOM[e.key]);
    return;
  }
  if (!MOVES.has(e.key)) return;
  e.preventDefault();
  const cur = v.focused;
  if (!cur) {
    // The first key lands on the first task of the first lane in view.
    const start = firstInView(v);
    if (start) t.focusBar(start);
  } else if (e.key === 'Enter' || e.key === ' ') t.open(cur);
  else t.focusBar(move(v, cur, e.key));
}

/** The keys that zoom (by this factor; 0 fits). */
const ZOOM: Record<string, number> = { '+': 1 / 1.6, '=': 1 / 1.6, '-': 1.6, _: 1.6, '−': 1.6, '0': 0 };
const MOVES = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'Enter', ' ']);

/** Where an arrow, Home or End key goes from a bar. */
function move(v: View, cur: Bar, key: string): Bar {
  const order = v.lanes[cur.lane]?.order ?? [];
  const i = order.indexOf(cur);
  switch (key) {
    case 'ArrowLeft':
      return order[Math.max(0, i - 1)] ?? cur;
    case 'ArrowRight':
      return order[Math.min(order.length - 1, i + 1)] ?? cur;
    case 'Home':
      return order[0] ?? cur;
    case 'End':
      return order[order.length - 1] ?? cur;
    default: {
      const step = key === 'ArrowUp' ? -1 : 1;
      for (let l = cur.lane + step; l >= 0 && l < v.lanes.length; l += step) {
        const next = nearest(v.lanes[l].order, mid(cur));
        if (next) return next;
      }
      return cur;
    }
  }
}

/** The bar of a lane (in time order) nearest to a time. */
function nearest(order: Bar[], at: number): Bar | undefined {
  let best: Bar | undefined;
  let d = Infinity;
  for (const b of order) {
    const x = b.t0 <= at && at <= b.t1 ? 0 : Math.min(Math.abs(b.t0 - at), Math.abs(b.t1 - at));
    if (x < d) {
      d = x;
      best = b;
    }
  }
  return best;
}

/** Where the keyboard starts: the first task in time on the first lane in view. */
function firstInView(v: View): Bar | undefined {
  const top = Math.max(0, Math.floor(v.yOff / LANE_H));
  for (let l = top; l < v.lanes.length; l++) {
    const b = nearest(v.lanes[l].order, v.x0);
    if (b) return b;
  }
  return undefined;
}
