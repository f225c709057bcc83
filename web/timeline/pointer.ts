import { nodeLabel } from '../../src/common/node-order';
import type { Row } from '../api';
import { fmtDuration, fmtTime } from '../dom';
import { barAt, clampY, GUTTER, type Bar, type View } from './layout';

/** What the pointer handling asks of the timeline. */
export interface PointerTarget {
  readonly view: View;
  readonly tooltip: HTMLElement;
  /** Redraw at the next frame. */
  schedule(): void;
  /** A bar was clicked. */
  pick(row: Row): void;
  /** Fit the whole run again. */
  reset(): void;
}

/**
 * Wheel zooms (around the pointer), shift+wheel scrolls the lanes, drag pans, double-click fits; hover
 * shows a tooltip, click picks a bar.
 */
export function listen(c: HTMLCanvasElement, t: PointerTarget): void {
  const v = t.view;
  let drag: { x: number; y: number; moved: boolean } | null = null;
  c.addEventListener('wheel', (e) => wheel(c, t, e), { passive: false });
  c.addEventListener('pointerdown', (e) => {
    drag = { x: e.clientX, y: e.clientY, moved: false };
    c.setPointerCapture(e.pointerId);
  });
  c.addEventListener('pointermove', (e) => {
    const rect = c.getBoundingClientRect();
    if (drag) {
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      drag.moved = true;
      v.x0 -= dx * v.msPerPx;
      v.yOff -= dy;
      clampY(v);
      drag.x = e.clientX;
      drag.y = e.clientY;
      v.touched = true;
      t.tooltip.hidden = true;
      c.style.cursor = 'grabbing';
      t.schedule();
      v.onViewChange?.();
      return;
    }
    hover(c, t.tooltip, barAt(v, e.clientX - rect.left, e.clientY - rect.top), e.clientX, e.clientY);
  });
  c.addEventListener('pointerup', (e) => {
    const rect = c.getBoundingClientRect();
    const wasDrag = drag?.moved;
    drag = null;
    c.style.cursor = '';
    if (wasDrag) return;
    const bar = barAt(v, e.clientX - rect.left, e.clientY - rect.top);
    if (bar) t.pick(bar.row);
  });
  c.addEventListener('pointerleave', () => hover(c, t.tooltip, null, 0, 0));
  c.addEventListener('dblclick', () => t.reset());
}

function wheel(c: HTMLCanvasElement, t: PointerTarget, e: WheelEvent): void {
  const v = t.view;
  e.preventDefault();
  if (e.shiftKey) {
    v.yOff += e.deltaY || e.deltaX;
    clampY(v);
  } else {
    const rect = c.getBoundingClientRect();
    const px = Math.max(GUTTER, e.clientX - rect.left);
    const at = v.x0 + (px - GUTTER) * v.msPerPx;
    const factor = Math.exp((e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY) * 0.0015);
    v.msPerPx = Math.min(Math.max(v.msPerPx * factor, 0.01), 864e5);
    v.x0 = at - (px - GUTTER) * v.msPerPx;
  }
  v.touched = true;
  t.schedule();
  v.onViewChange?.();
}

/** The tooltip of the bar under the pointer (hidden when none is). */
function hover(c: HTMLCanvasElement, tip: HTMLElement, bar: Bar | null, cx: number, cy: number): void {
  c.style.cursor = bar ? 'pointer' : '';
  if (!bar) {
    tip.hidden = true;
    return;
  }
  const r = bar.row;
  const dur = r.time_start ? (r.time_end ? Date.parse(r.time_end) : Date.now()) - Date.parse(r.time_start) : null;
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
  title.textContent = r.task_name;
  tip.appendChild(title);
  line('node', nodeLabel(r.node_id));
  line('status', r.status + (bar.ghost ? ' (not started)' : ''));
  line('start', fmtTime(r.time_start));
  line('end', r.time_end ? fmtTime(r.time_end) : r.status === 'running' ? 'running…' : '—');
  line('duration', fmtDuration(dur));
  tip.hidden = false;
  const x = Math.min(cx + 14, window.innerWidth - tip.offsetWidth - 8);
  const y = Math.min(cy + 14, window.innerHeight - tip.offsetHeight - 8);
  tip.style.left = `${x + window.scrollX}px`;
  tip.style.top = `${y + window.scrollY}px`;
}
