import { nodeLabel } from '../../src/common/node-order';
import { COLORS } from '../status';
import { AXIS_H, barRect, GUTTER, LANE_H, rowKey, type Bar, type View } from './layout';

/** Draws the whole timeline: lanes, bars, the selection, the "now" line when live, the time axis. */
export function drawTimeline(ctx: CanvasRenderingContext2D, v: View): void {
  const { width: W, height: H } = v;
  const d = window.devicePixelRatio || 1;
  ctx.setTransform(d, 0, 0, d, 0, 0);
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, W, H);

  const first = Math.max(0, Math.floor(v.yOff / LANE_H));
  const last = Math.min(v.lanes.length - 1, Math.floor((v.yOff + H - AXIS_H) / LANE_H));
  drawLanes(ctx, v, first, last);
  // Bars, clipped to the plot, one fill style per status.
  ctx.save();
  ctx.beginPath();
  ctx.rect(GUTTER, AXIS_H, W - GUTTER, H - AXIS_H);
  ctx.clip();
  const now = Date.now();
  const sel = drawBars(ctx, v, first, last, now);
  if (sel) {
    const bx = barRect(v, sel);
    ctx.strokeStyle = '#0f172a';
    ctx.lineWidth = 2;
    ctx.strokeRect(bx.x - 1, bx.y - 1, bx.w + 2, bx.h + 2);
  }
  if (v.live) {
    const x = GUTTER + (now - v.x0) / v.msPerPx;
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

/** Lane stripes and labels. */
function drawLanes(ctx: CanvasRenderingContext2D, v: View, first: number, last: number): void {
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  for (let i = first; i <= last; i++) {
    const y = AXIS_H + i * LANE_H - v.yOff;
    if (i % 2) {
      ctx.fillStyle = '#f4f6f8';
      ctx.fillRect(0, y, v.width, LANE_H);
    }
    ctx.fillStyle = '#334155';
    ctx.fillText(nodeLabel(v.lanes[i].node), 8, y + LANE_H / 2, GUTTER - 14);
  }
}

/** The bars of the lanes in view; returns the selected bar when it is among them. */
function drawBars(ctx: CanvasRenderingContext2D, v: View, first: number, last: number, now: number): Bar | undefined {
  const x0 = v.x0;
  const k = 1 / v.msPerPx;
  let sel: Bar | undefined;
  for (let i = first; i <= last; i++) {
    const y = AXIS_H + i * LANE_H - v.yOff + 3;
    const bars = v.lanes[i].bars;
    for (let j = 0; j < bars.length; j++) {
      const b = bars[j];
      const t1 = b.open && v.live ? Math.max(now, b.t0) : b.t1; // not live (stream down): as last laid out
      const x = GUTTER + (b.t0 - x0) * k;
      const w = Math.max(2, (t1 - b.t0) * k);
      if (x > v.width || x + w < GUTTER) continue;
      ctx.fillStyle = COLORS[b.row.status];
      const faded = !!v.keep && !v.keep(b.row);
      if (faded) ctx.globalAlpha = 0.15;
      ctx.fillRect(x, y, w, LANE_H - 6);
      if (faded) ctx.globalAlpha = 1;
      if (b.ghost && w > 4) {
        ctx.fillStyle = '#ffffff';
        ctx.fillRect(x + 1, y + LANE_H - 10, w - 2, 2);
      }
      if (v.selected && v.selected === rowKey(b.row.node_id, b.row.task_name)) sel = b;
    }
  }
  return sel;
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
  ctx.beginPath();
  ctx.moveTo(0, AXIS_H - 0.5);
  ctx.lineTo(W, AXIS_H - 0.5);
  ctx.stroke();
  const step = STEPS.find((s) => s / v.msPerPx >= 90) ?? 864e5;
  const start = Math.ceil(v.x0 / step) * step;
  ctx.fillStyle = '#475569';
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  for (let t = start; GUTTER + (t - v.x0) / v.msPerPx < W; t += step) {
    const x = GUTTER + (t - v.x0) / v.msPerPx;
    if (x < GUTTER) continue;
    ctx.fillRect(Math.round(x), AXIS_H - 6, 1, 6);
    const iso = new Date(t).toISOString();
    const label = step < 1000 ? iso.slice(11, 23) : step >= 864e5 ? iso.slice(5, 10) : iso.slice(11, 19);
    ctx.fillText(label, x + 3, AXIS_H / 2 - 2);
  }
  ctx.fillText('UTC', 8, AXIS_H / 2 - 2);
}
