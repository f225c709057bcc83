import { nodeLabel } from '../../src/common/node-order';
import { COLORS } from '../status';
import { LABEL_FONT, MIN_LABEL_W, textColor, type TextFitter } from './labels';
import { AXIS_H, barEnd, barRect, clock, LANE_H, MARK_R, UNPLACED_DX, xOf, type Bar, type View } from './layout';

/** A task name drawn on the last draw (for tests: names are on the bars wide enough for them). */
export interface DrawnLabel {
  node: string | null;
  task: string;
  x: number;
  y: number;
}

const LANE_TEXT = '#334155';
const RING = '#2563eb';

/** How a lane's node is named in the gutter: `node 4 · controller, compute` (roles from the run's graph). */
export function laneName(v: View, node: string | null): string {
  const roles = v.nodeInfo?.get(node)?.roles ?? [];
  return roles.length ? `${nodeLabel(node)} · ${roles.join(', ')}` : nodeLabel(node);
}

/** Draws the whole timeline: lanes, bars and their names, markers, the selection and focus, the "now" line, the axis. */
export function drawTimeline(ctx: CanvasRenderingContext2D, v: View, fit: TextFitter, labels: DrawnLabel[], gutter: string[]): void {
  const { width: W, height: H } = v;
  const d = window.devicePixelRatio || 1;
  ctx.setTransform(d, 0, 0, d, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, W, H);
  labels.length = 0;
  gutter.length = 0;

  const first = Math.max(0, Math.floor(v.yOff / LANE_H));
  const last = Math.min(v.lanes.length - 1, Math.floor((v.yOff + H - AXIS_H) / LANE_H));
  drawLanes(ctx, v, first, last, fit, gutter);
  // Bars, clipped to the plot, one fill style per status.
  ctx.save();
  ctx.beginPath();
  ctx.rect(v.gutter, AXIS_H, W - v.gutter, H - AXIS_H);
  ctx.clip();
  const now = clock(v);
  const sel = drawBars(ctx, v, first, last, now, fit, labels);
  if (sel) {
    const bx = barRect(v, sel, now);
    ctx.strokeStyle = '#0f172a';
    ctx.lineWidth = 2;
    ctx.strokeRect(bx.x - 1, bx.y - 1, bx.w + 2, bx.h + 2);
    nameBeside(ctx, v, sel, bx, fit, labels);
  }
  const f = v.hasFocus ? v.focused : null;
  if (f && f.lane >= first && f.lane <= last) {
    // The focus ring: blue, outside the selection's dark outline, with a white gap so it shows on any colour.
    const bx = barRect(v, f, now);
    // On whole pixels: the white gap 2-4 px out, the ring 4-6 px out (the selection's outline is 0-2 px out).
    const x = Math.round(bx.x);
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#ffffff';
    ctx.strokeRect(x - 3, bx.y - 3, Math.round(bx.w) + 6, bx.h + 6);
    ctx.strokeStyle = RING;
    ctx.strokeRect(x - 5, bx.y - 5, Math.round(bx.w) + 10, bx.h + 10);
    if (f !== sel) nameBeside(ctx, v, f, bx, fit, labels);
  }
  if (v.live) {
    const x = xOf(v, now);
    ctx.strokeStyle = '#7c3aed';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(x + 0.5, AXIS_H);
    ctx.lineTo(x + 0.5, H);
    ctx.stroke();
  }
  ctx.restore();
  drawAxis(ctx, v);
}

/** Lane stripes, and each node's name in the gutter (ellipsised to the gutter's width). */
function drawLanes(ctx: CanvasRenderingContext2D, v: View, first: number, last: number, fit: TextFitter, gutter: string[]): void {
  ctx.font = LABEL_FONT;
  ctx.textBaseline = 'middle';
  for (let i = first; i <= last; i++) {
    const y = AXIS_H + i * LANE_H - v.yOff;
    if (i % 2) {
      ctx.fillStyle = '#f4f6f8';
      ctx.fillRect(0, y, v.width, LANE_H);
    }
    ctx.fillStyle = LANE_TEXT;
    const name = fit.fit(laneName(v, v.lanes[i].node), LABEL_FONT, v.gutter - 14);
    ctx.fillText(name, 8, y + LANE_H / 2);
    gutter.push(name);
  }
  ctx.fillStyle = '#cbd5e1';
  ctx.fillRect(v.gutter - 1, AXIS_H, 1, v.height - AXIS_H);
}

/** The bars and markers of the lanes in view, names on the bars wide enough; returns the selected bar when in view. */
function drawBars(
  ctx: CanvasRenderingContext2D,
  v: View,
  first: number,
  last: number,
  now: number,
  fit: TextFitter,
  labels: DrawnLabel[],
): Bar | undefined {
  const x0 = v.x0;
  const k = 1 / v.msPerPx;
  const left = v.gutter;
  let sel: Bar | undefined;
  // The selected row's key split once, so the loop compares strings it already has.
  const cut = v.selected ? v.selected.indexOf('\u0001') : -1;
  const selTask = cut >= 0 ? v.selected!.slice(cut + 1) : null;
  const selNode = cut > 0 ? v.selected!.slice(0, cut) : null;
  ctx.font = LABEL_FONT;
  ctx.textBaseline = 'middle';
  for (let i = first; i <= last; i++) {
    const y = AXIS_H + i * LANE_H - v.yOff + 3;
    const bars = v.lanes[i].bars;
    const marks = new Marks();
    for (let j = 0; j < bars.length; j++) {
      const b = bars[j];
      if (selTask !== null && b.row.task_name === selTask && (b.row.node_id ?? '\u0000') === selNode) sel = b;
      const faded = !!v.keep && !v.keep(b.row);
      if (faded) ctx.globalAlpha = 0.15;
      if (b.kind === 'marker') marks.draw(ctx, v, b, y);
      else {
        const t1 = barEnd(v, b, now);
        const x = left + (b.t0 - x0) * k;
        const w = Math.max(2, (t1 - b.t0) * k);
        if (x <= v.width && x + w >= left) {
          const color = COLORS[b.row.status];
          ctx.fillStyle = color;
          ctx.fillRect(x, y, w, LANE_H - 6);
          if (w >= MIN_LABEL_W) nameInside(ctx, v, b, x, y, w, color, fit, labels);
        }
      }
      if (faded) ctx.globalAlpha = 1;
    }
    marks.count(ctx, y);
  }
  return sel;
}

/** A bar's name inside it, from its visible start (a bar half out of view still says what it is), ellipsised. */
function nameInside(
  ctx: CanvasRenderingContext2D,
  v: View,
  b: Bar,
  x: number,
  y: number,
  w: number,
  color: string,
  fit: TextFitter,
  labels: DrawnLabel[],
): void {
  const from = Math.max(x, v.gutter) + 4;
  const text = fit.fit(b.row.task_name, LABEL_FONT, Math.min(x + w, v.width) - from - 4);
  if (!text) return;
  ctx.fillStyle = textColor(color);
  ctx.fillText(text, from, y + (LANE_H - 6) / 2 + 0.5);
  labels.push({ node: b.row.node_id, task: b.row.task_name, x: from, y: y + (LANE_H - 6) / 2 });
}

/** A lane's markers: each drawn, then, where several share a place, how many (and that they did not start). */
class Marks {
  private at: Map<number, { n: number; unplaced: boolean }> | null = null;

  draw(ctx: CanvasRenderingContext2D, v: View, b: Bar, y: number): void {
    const cx = Math.round(xOf(v, b.t0) + (b.unplaced ? UNPLACED_DX + MARK_R : 0));
    if (cx < v.gutter - MARK_R || cx > v.width + MARK_R) return;
    diamond(ctx, cx, y + (LANE_H - 6) / 2, COLORS[b.row.status]);
    this.at ??= new Map();
    const m = this.at.get(cx);
    if (m) m.n++;
    else this.at.set(cx, { n: 1, unplaced: b.unplaced });
  }

  count(ctx: CanvasRenderingContext2D, y: number): void {
    if (!this.at) return;
    ctx.fillStyle = LANE_TEXT;
    for (const [cx, m] of this.at) {
      const text = m.unplaced ? `${m.n > 1 ? m.n + ' ' : ''}not started` : m.n > 1 ? `×${m.n}` : '';
      if (text) ctx.fillText(text, cx + MARK_R + 4, y + (LANE_H - 6) / 2 + 0.5);
    }
  }
}

/** A marker: a diamond in the task's status colour, outlined so that overlapping ones stay apart. */
function diamond(ctx: CanvasRenderingContext2D, cx: number, cy: number, color: string): void {
  ctx.beginPath();
  ctx.moveTo(cx, cy - MARK_R);
  ctx.lineTo(cx + MARK_R, cy);
  ctx.lineTo(cx, cy + MARK_R);
  ctx.lineTo(cx - MARK_R, cy);
  ctx.closePath();
  ctx.fillStyle = color;
  ctx.fill();
  ctx.strokeStyle = '#475569';
  ctx.lineWidth = 1;
  ctx.stroke();
}

/**
 * The name of a selected or focused bar too narrow to hold it: beside the bar, on a white label, so the
 * barcode's one bar the reader is on says its name.
 */
function nameBeside(
  ctx: CanvasRenderingContext2D,
  v: View,
  b: Bar,
  bx: { x: number; y: number; w: number; h: number },
  fit: TextFitter,
  labels: DrawnLabel[],
): void {
  if (labels.some((l) => l.node === b.row.node_id && l.task === b.row.task_name)) return;
  ctx.font = LABEL_FONT;
  ctx.textBaseline = 'middle';
  const w = fit.width(b.row.task_name, LABEL_FONT);
  let x = bx.x + bx.w + 8;
  if (x + w + 6 > v.width) x = Math.max(v.gutter + 2, bx.x - w - 14);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(x - 3, bx.y - 1, w + 6, bx.h + 2);
  ctx.strokeStyle = '#94a3b8';
  ctx.lineWidth = 1;
  ctx.strokeRect(x - 3.5, bx.y - 1.5, w + 7, bx.h + 3);
  ctx.fillStyle = '#0f172a';
  ctx.fillText(b.row.task_name, x, bx.y + bx.h / 2 + 0.5);
  labels.push({ node: b.row.node_id, task: b.row.task_name, x, y: bx.y + bx.h / 2 });
}

const STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 216e5, 432e5, 864e5,
];

/** The time axis along the top, in UTC, with a tick every round step of at least 90 pixels. */
function drawAxis(ctx: CanvasRenderingContext2D, v: View): void {
  const W = v.width;
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, W, AXIS_H);
  ctx.strokeStyle = '#cbd5e1';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, AXIS_H - 0.5);
  ctx.lineTo(W, AXIS_H - 0.5);
  ctx.stroke();
  const step = STEPS.find((s) => s / v.msPerPx >= 90) ?? 864e5;
  const start = Math.ceil(v.x0 / step) * step;
  ctx.fillStyle = '#475569';
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  for (let t = start; xOf(v, t) < W; t += step) {
    const x = xOf(v, t);
    if (x < v.gutter) continue;
    ctx.fillRect(Math.round(x), AXIS_H - 6, 1, 6);
    const iso = new Date(t).toISOString();
    const label = step < 1000 ? iso.slice(11, 23) : step >= 864e5 ? iso.slice(5, 10) : iso.slice(11, 19);
    ctx.fillText(label, x + 3, AXIS_H / 2 - 2);
  }
  ctx.fillText('UTC', 8, AXIS_H / 2 - 2);
}
