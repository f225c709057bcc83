import { LANE_H, type Bar, type View } from './layout';

/** What the keyboard asks of the timeline. */
export interface KeyTarget {
  readonly view: View;
  /** Move the keyboard's focus to a bar: ring, reveal, announce. */
  focusBar(b: Bar): void;
  /** Open a bar's task, as a click does. */
  open(b: Bar): void;
  /** Zoom by a factor around the focused bar (or the middle); 0 fits. */
  zoomKey(factor: number | 0): void;
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
  const zoom: Record<string, number> = { '+': 1 / 1.6, '=': 1 / 1.6, '-': 1.6, _: 1.6, '−': 1.6, '0': 0 };
  if (e.key in zoom) {
    e.preventDefault();
    t.zoomKey(zoom[e.key]);
    return;
  }
  const cur = v.focused;
  if (!cur) {
    if (!['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'Enter', ' '].includes(e.key)) return;
    e.preventDefault();
    const start = firstInView(v);
    if (start) t.focusBar(start);
    return;
  }
  const order = v.lanes[cur.lane]?.order ?? [];
  const i = order.indexOf(cur);
  let next: Bar | undefined;
  switch (e.key) {
    case 'ArrowLeft':
      next = order[Math.max(0, i - 1)];
      break;
    case 'ArrowRight':
      next = order[Math.min(order.length - 1, i + 1)];
      break;
    case 'Home':
      next = order[0];
      break;
    case 'End':
      next = order[order.length - 1];
      break;
    case 'ArrowUp':
    case 'ArrowDown': {
      const step = e.key === 'ArrowUp' ? -1 : 1;
      for (let l = cur.lane + step; l >= 0 && l < v.lanes.length && !next; l += step) next = nearest(v.lanes[l].order, mid(cur));
      next ??= cur;
      break;
    }
    case 'Enter':
    case ' ':
      e.preventDefault();
      t.open(cur);
      return;
    default:
      return;
  }
  e.preventDefault();
  if (next) t.focusBar(next);
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
