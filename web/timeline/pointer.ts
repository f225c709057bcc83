import { nodeLabel } from '../../src/common/node-order';
import type { Row } from '../api';
import { fmtDuration, fmtTime } from '../dom';
import { laneName } from './draw';
import { AXIS_H, barAt, laneAt, type Bar, type View } from './layout';
import { listenGestures } from './touch';

/** What the pointer handling asks of the timeline. */
export interface PointerTarget {
  readonly view: View;
  readonly tooltip: HTMLElement;
  /** Redraw at the next frame. */
  schedule(): void;
  /** A bar was clicked. */
  pick(row: Row): void;
  /** The user asked to fit the whole run (double click, double tap). */
  userFit(): void;
  /** Zoom by `factor` (>1 zooms out) around the canvas x `px`. */
  zoomAt(factor: number, px: number): void;
  /** Pan by pixels: dx in time (positive shows earlier), dy through the lanes (positive shows the lanes above). */
  panBy(dx: number, dy: number): void;
  /** The user moved the view: remember it and tell the page. */
  changed(): void;
}

/**
 * The mouse, trackpad and touch on the canvas. The wheel scrolls the lanes (the scrolling container's own
 * scroll: not handled here); ctrl+wheel, which is also what the browser sends for a trackpad pinch, zooms
 * around the pointer; shift+wheel or a sideways swipe pans in time. One pointer drags (pans time and
 * lanes); two touch pointers pinch-zoom around their midpoint and pan with it; a double click or double
 * tap fits. Hover shows a tooltip (a task, a marker, or a node in the gutter); a click picks a bar.
 */
export function listen(c: HTMLCanvasElement, t: PointerTarget): void {
  const v = t.view;
  const hoverAt = (e: PointerEvent) => {
    const r = c.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    hover(c, t, barAt(v, x, y), x, y, e.clientX, e.clientY);
  };
  const gestures = listenGestures(c, t, hoverAt);
  c.addEventListener('wheel', (e) => wheel(c, t, e), { passive: false });
  c.addEventListener('pointerleave', (e) => {
    if (!gestures.active()) hover(c, t, null, 0, 0, e.clientX, e.clientY);
  });
  c.addEventListener('dblclick', (e) => {
    e.preventDefault();
    t.userFit();
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
  const title = document.createElement('div');
  title.className = 'tip-title';
  tip.appendChild(title);
  const line = (label: string, value: string) => {
    const div = document.createElement('div');
    const b = document.createElement('b');
    b.textContent = label;
    div.append(b, ' ', value);
    tip.appendChild(div);
  };
  if (bar) barTip(v, bar, title, line);
  else nodeTip(v, lane!.node, lane!.bars.length, title, line);
  tip.hidden = false;
  const x = Math.min(cx + 14, window.innerWidth - tip.offsetWidth - 8);
  const y = Math.min(cy + 14, window.innerHeight - tip.offsetHeight - 8);
  tip.style.left = `${Math.max(0, x) + window.scrollX}px`;
  tip.style.top = `${Math.max(0, y) + window.scrollY}px`;
}

type Line = (label: string, value: string) => void;

/** A task's tooltip: its node (roles, host), status, times (start "—" when it had none), the closing reason. */
function barTip(v: View, bar: Bar, title: HTMLElement, line: Line): void {
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
}

/** A node's tooltip (its name in the gutter): roles and host name. */
function nodeTip(v: View, node: string | null, tasks: number, title: HTMLElement, line: Line): void {
  const info = v.nodeInfo?.get(node);
  title.textContent = nodeLabel(node);
  line('roles', info?.roles.length ? info.roles.join(', ') : '—');
  line('host', info?.hostname ?? '—');
  line('tasks', String(tasks));
}
