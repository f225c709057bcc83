import { nodeLabel } from '../../src/common/node-order';
import type { Row } from '../api';
import { fmtDuration, fmtTime } from '../dom';
import { laneName } from './draw';
import { AXIS_H, barAt, laneAt, type Bar, type View } from './layout';

/** What the pointer handling asks of the timeline. */
export interface PointerTarget {
  readonly view: View;
  readonly tooltip: HTMLElement;
  /** Redraw at the next frame. */
  schedule(): void;
  /** A bar was clicked. */
  pick(row: Row): void;
  /** Fit the whole run again (and say the view changed). */
  reset(): void;
  /** Zoom by `factor` (>1 zooms out) around the canvas x `px`. */
  zoomAt(factor: number, px: number): void;
  /** Pan by pixels: dx in time (positive shows earlier), dy through the lanes (positive shows the lanes above). */
  panBy(dx: number, dy: number): void;
  /** The user moved the view: remember it and tell the page. */
  changed(): void;
}

const DOUBLE_TAP_MS = 350;

/**
 * The mouse, trackpad and touch on the canvas. The wheel scrolls the lanes (the scrolling container's own
 * scroll: not handled here); ctrl+wheel, which is also what the browser sends for a trackpad pinch, zooms
 * around the pointer; shift+wheel or a sideways swipe pans in time. One pointer drags (pans time and
 * lanes); two touch pointers pinch-zoom around their midpoint and pan with it; a double click or double
 * tap fits. Hover shows a tooltip (a task, a marker, or a node in the gutter); a click picks a bar.
 */
export function listen(c: HTMLCanvasElement, t: PointerTarget): void {
  const v = t.view;
  const pts = new Map<number, { x: number; y: number }>();
  let drag: { moved: boolean } | null = null;
  let pinch: { dist: number; mid: number } | null = null;
  let lastTap = { at: 0, x: 0, y: 0 };
  const local = (e: { clientX: number; clientY: number }) => {
    const r = c.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const pinchOf = () => {
    const [a, b] = [...pts.values()];
    return { dist: Math.max(10, Math.hypot(a.x - b.x, a.y - b.y)), mid: (a.x + b.x) / 2, midY: (a.y + b.y) / 2 };
  };

  c.addEventListener('wheel', (e) => wheel(c, t, e), { passive: false });
  c.addEventListener('pointerdown', (e) => {
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    pts.set(e.pointerId, local(e));
    try {
      c.setPointerCapture(e.pointerId);
    } catch {
      // A pointer the browser does not know (a synthetic one) cannot be captured: its events still come here.
    }
    if (pts.size === 2) {
      const p = pinchOf();
      pinch = { dist: p.dist, mid: p.mid };
      drag = { moved: true }; // no click at the end of a pinch
    } else if (pts.size === 1) drag = { moved: false };
  });
  c.addEventListener('pointermove', (e) => {
    const prev = pts.get(e.pointerId);
    if (!prev) {
      const p = local(e);
      hover(c, t, barAt(v, p.x, p.y), p.x, p.y, e.clientX, e.clientY);
      return;
    }
    const p = local(e);
    if (pinch && pts.size >= 2) {
      pts.set(e.pointerId, p);
      const now = pinchOf();
      t.zoomAt(pinch.dist / now.dist, now.mid);
      t.panBy(now.mid - pinch.mid, 0);
      pinch = { dist: now.dist, mid: now.mid };
      t.changed();
      return;
    }
    const dx = p.x - prev.x;
    const dy = p.y - prev.y;
    if (!drag!.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    drag!.moved = true;
    pts.set(e.pointerId, p);
    t.panBy(dx, dy);
    t.tooltip.hidden = true;
    c.style.cursor = 'grabbing';
    t.changed();
  });
  const up = (e: PointerEvent, cancelled: boolean) => {
    if (!pts.has(e.pointerId)) return;
    pts.delete(e.pointerId);
    if (pts.size < 2) pinch = null;
    if (pts.size) return;
    const wasDrag = drag?.moved;
    drag = null;
    c.style.cursor = '';
    if (wasDrag || cancelled) return;
    const p = local(e);
    if (e.pointerType !== 'mouse') {
      // A double tap fits (a touch screen has no double click it would not also zoom the page with).
      const now = performance.now();
      if (now - lastTap.at < DOUBLE_TAP_MS && Math.hypot(p.x - lastTap.x, p.y - lastTap.y) < 30) {
        lastTap.at = 0;
        t.reset();
        return;
      }
      lastTap = { at: now, x: p.x, y: p.y };
    }
    const bar = barAt(v, p.x, p.y);
    if (bar) t.pick(bar.row);
  };
  c.addEventListener('pointerup', (e) => up(e, false));
  c.addEventListener('pointercancel', (e) => up(e, true));
  c.addEventListener('pointerleave', (e) => {
    if (!pts.size) hover(c, t, null, 0, 0, e.clientX, e.clientY);
  });
  c.addEventListener('dblclick', (e) => {
    e.preventDefault();
    t.reset();
  });
}

function wheel(c: HTMLCanvasElement, t: PointerTarget, e: WheelEvent): void {
  const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? c.clientHeight : 1;
  if (e.ctrlKey || e.metaKey) {
    // ctrl+wheel, and a trackpad pinch (sent as ctrl+wheel): zoom around the pointer, not the page.
    e.preventDefault();
    const rect = c.getBoundingClientRect();
    t.zoomAt(Math.exp(e.deltaY * unit * 0.0015), e.clientX - rect.left);
  } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
    // shift+wheel, or a sideways swipe: pan in time.
    e.preventDefault();
    t.panBy(-(e.shiftKey ? e.deltaY || e.deltaX : e.deltaX) * unit, 0);
  } else return; // a plain wheel scrolls the lanes: the scrolling container does it (then the page).
  t.tooltip.hidden = true;
  t.changed();
}

/** The tooltip of what is under the pointer: a bar, a marker, or a node in the gutter (hidden when nothing is). */
function hover(c: HTMLCanvasElement, t: PointerTarget, bar: Bar | null, px: number, py: number, cx: number, cy: number): void {
  const v = t.view;
  const tip = t.tooltip;
  c.style.cursor = bar ? 'pointer' : '';
  const lane = px > 0 && px < v.gutter && py > AXIS_H ? v.lanes[laneAt(v, py)] : undefined;
  if (!bar && !lane) {
    tip.hidden = true;
    return;
  }
  tip.textContent = '';
  const line = (label: string, value: string) => {
    const div = document.createElement('div');
    const b = document.createElement('b');
    b.textContent = label;
    div.append(b, ' ', value);
    tip.appendChild(div);
  };
  const title = document.createElement('div');
  title.className = 'tip-title';
  tip.appendChild(title);
  if (bar) {
    const r = bar.row;
    const dur = r.time_start ? (r.time_end ? Date.parse(r.time_end) : Date.now()) - Date.parse(r.time_start) : null;
    title.textContent = r.task_name;
    line('node', laneName(v, r.node_id));
    const host = v.nodeInfo?.get(r.node_id)?.hostname;
    if (host) line('host', host);
    line('status', r.status + (bar.unplaced ? ' (not started)' : ''));
    line('start', fmtTime(r.time_start));
    line('end', r.time_end ? fmtTime(r.time_end) : r.status === 'running' ? 'running…' : '—');
    line('duration', fmtDuration(dur));
    if (r.closed_reason) line('closed', r.closed_reason);
    if (r.error_message) line('error', r.error_message.length > 200 ? r.error_message.slice(0, 200) + '…' : r.error_message);
  } else {
    const info = v.nodeInfo?.get(lane!.node);
    title.textContent = nodeLabel(lane!.node);
    line('roles', info?.roles.length ? info.roles.join(', ') : '—');
    line('host', info?.hostname ?? '—');
    line('tasks', String(lane!.bars.length));
  }
  tip.hidden = false;
  const x = Math.min(cx + 14, window.innerWidth - tip.offsetWidth - 8);
  const y = Math.min(cy + 14, window.innerHeight - tip.offsetHeight - 8);
  tip.style.left = `${Math.max(0, x) + window.scrollX}px`;
  tip.style.top = `${Math.max(0, y) + window.scrollY}px`;
}
