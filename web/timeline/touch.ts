import { barAt } from './layout';
import type { PointerTarget } from './pointer';

const DOUBLE_TAP_MS = 350;

/**
 * Dragging, by mouse or finger: one pointer pans (time sideways, lanes up and down); two touch pointers
 * pinch-zoom around their midpoint and pan with it; a double tap fits (a touch screen's double click);
 * a press and release without moving picks the bar under it. Pointer events, so mouse, pen and touch
 * are one code path. The canvas's `touch-action: pan-y` leaves vertical one-finger moves to the
 * browser (the lanes' container scrolls, then the page): when it takes a gesture over, it cancels ours.
 */
export function listenGestures(c: HTMLCanvasElement, t: PointerTarget, hover: (e: PointerEvent) => void): { active: () => boolean } {
  const pts = new Map<number, { x: number; y: number }>();
  let moved = false;
  let pinch: { dist: number; mid: number } | null = null;
  let lastTap = { at: 0, x: 0, y: 0 };
  const local = (e: { clientX: number; clientY: number }) => {
    const r = c.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const pinchOf = () => {
    const [a, b] = [...pts.values()];
    return { dist: Math.max(10, Math.hypot(a.x - b.x, a.y - b.y)), mid: (a.x + b.x) / 2 };
  };

  c.addEventListener('pointerdown', (e) => {
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    pts.set(e.pointerId, local(e));
    try {
      c.setPointerCapture(e.pointerId);
    } catch {
      // A pointer the browser does not know (a synthetic one) cannot be captured: its events still come here.
    }
    if (pts.size === 2) {
      pinch = pinchOf();
      moved = true; // no click at the end of a pinch
    } else if (pts.size === 1) moved = false;
  });
  c.addEventListener('pointermove', (e) => {
    const prev = pts.get(e.pointerId);
    if (!prev) return hover(e);
    const p = local(e);
    if (pinch && pts.size >= 2) {
      pts.set(e.pointerId, p);
      const now = pinchOf();
      t.zoomAt(pinch.dist / now.dist, now.mid);
      t.panBy(now.mid - pinch.mid, 0);
      pinch = now;
      t.changed();
      return;
    }
    const dx = p.x - prev.x;
    const dy = p.y - prev.y;
    if (!moved && Math.abs(dx) + Math.abs(dy) < 4) return;
    moved = true;
    pts.set(e.pointerId, p);
    t.panBy(dx, dy);
    t.tooltip.hidden = true;
    c.style.cursor = 'grabbing';
    t.changed();
  });
  const up = (e: PointerEvent, cancelled: boolean) => {
    if (!pts.delete(e.pointerId)) return;
    if (pts.size < 2) pinch = null;
    if (pts.size) return;
    c.style.cursor = '';
    if (moved || cancelled) return;
    const p = local(e);
    if (e.pointerType !== 'mouse') {
      const now = performance.now();
      if (now - lastTap.at < DOUBLE_TAP_MS && Math.hypot(p.x - lastTap.x, p.y - lastTap.y) < 30) {
        lastTap.at = 0;
        t.userFit();
        return;
      }
      lastTap = { at: now, x: p.x, y: p.y };
    }
    const bar = barAt(t.view, p.x, p.y);
    if (bar) t.pick(bar.row);
  };
  c.addEventListener('pointerup', (e) => up(e, false));
  c.addEventListener('pointercancel', (e) => up(e, true));
  return { active: () => pts.size > 0 };
}
