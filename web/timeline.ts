import type { Row, TaskStatus } from './api';
import { fmtDuration, fmtTime } from './dom';

export const COLORS: Record<TaskStatus, string> = {
  pending: '#94a3b8',
  running: '#2563eb',
  ready: '#16a34a',
  error: '#dc2626',
  skipped: '#f59e0b',
};

const LANE_H = 22;
const AXIS_H = 24;
const GUTTER = 110;
const MIN_GHOST_MS = 1000;

export const rowKey = (node: string | null, task: string) => `${node ?? '\u0000'}\u0001${task}`;
const nodeLabel = (node: string | null) => (node === null ? 'cluster' : node === 'master' ? 'master' : `node ${node}`);

/** master first, then nodes in numeric order, then other names, the cluster-level row last. */
function compareNodes(a: string | null, b: string | null): number {
  const rank = (n: string | null) => (n === null ? 3 : n === 'master' ? 0 : /^\d+$/.test(n) ? 1 : 2);
  const d = rank(a) - rank(b);
  if (d) return d;
  if (a !== null && b !== null && rank(a) === 1) return Number(a) - Number(b);
  return String(a).localeCompare(String(b));
}

interface Bar {
  row: Row;
  lane: number;
  t0: number;
  t1: number;
  /** Not started (no times): drawn as a slot after what the node did so far. */
  ghost: boolean;
  /** Still running: the bar extends to now. */
  open: boolean;
}

interface Lane {
  node: string | null;
  bars: Bar[];
}

export interface TimelineStats {
  total: number;
  byStatus: Record<string, number>;
  lanes: string[];
  draws: number;
  firstDrawMs: number | null;
  lastDrawMs: number | null;
}

/**
 * The run's timeline on a <canvas>: one lane per node, one bar per task from its start to its end,
 * coloured by status. Wheel zooms (around the pointer), drag pans, shift+wheel scrolls the lanes,
 * double-click fits; hover shows a tooltip, click selects. Changed rows are applied with update():
 * only their lanes are laid out again.
 */
export class Timeline {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private lanes: Lane[] = [];
  private laneOf = new Map<string, number>();
  private bars = new Map<string, Bar>();
  private ghostMs = MIN_GHOST_MS;
  private runStart = Date.now();
  private x0 = 0; // ms at the left of the plot
  private msPerPx = 1000;
  private yOff = 0;
  private width = 800;
  private height = 300;
  private touched = false; // the user zoomed or panned: live updates no longer refit
  private pending = 0; // requestAnimationFrame id
  private hovered: Bar | null = null;
  private selected: string | null = null;
  live = false;
  readonly stats: TimelineStats = { total: 0, byStatus: {}, lanes: [], draws: 0, firstDrawMs: null, lastDrawMs: null };

  constructor(
    private readonly host: HTMLElement,
    private readonly tooltip: HTMLElement,
    private readonly onSelect: (row: Row) => void,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'timeline';
    host.appendChild(this.canvas);
    this.ctx = this.canvas.getContext('2d', { alpha: false })!;
    this.listen();
    new ResizeObserver(() => this.resize()).observe(host);
  }

  /** All the run's rows (the first load): builds the lanes, fits the view, draws now. */
  setRows(rows: Row[], runStart: string | null): void {
    const t = performance.now();
    this.runStart = runStart ? Date.parse(runStart) : Date.now();
    this.bars.clear();
    const nodes = new Map<string | null, Row[]>();
    for (const r of rows) {
      let list = nodes.get(r.node_id);
      if (!list) nodes.set(r.node_id, (list = []));
      list.push(r);
    }
    const order = [...nodes.keys()].sort(compareNodes);
    this.lanes = order.map((node) => ({ node, bars: [] }));
    this.laneOf = new Map(order.map((n, i) => [String(n), i]));
    this.ghostMs = this.estimateGhost(rows);
    order.forEach((node, lane) => {
      for (const row of nodes.get(node)!) {
        const bar: Bar = { row, lane, t0: 0, t1: 0, ghost: false, open: false };
        this.bars.set(rowKey(row.node_id, row.task_name), bar);
        this.lanes[lane].bars.push(bar);
      }
      this.layoutLane(lane);
    });
    this.count();
    this.resize(false);
    this.fit();
    this.draw();
    const ms = performance.now() - t;
    if (this.stats.firstDrawMs === null) this.stats.firstDrawMs = ms;
  }

  /** Changed rows (from the live stream): replaces them, lays out their lanes again, redraws. */
  update(rows: Row[]): void {
    const dirty = new Set<number>();
    let newNode = false;
    for (const row of rows) {
      const key = rowKey(row.node_id, row.task_name);
      const bar = this.bars.get(key);
      if (bar) {
        bar.row = row;
        dirty.add(bar.lane);
        continue;
      }
      let lane = this.laneOf.get(String(row.node_id));
      if (lane === undefined) {
        newNode = true;
        this.lanes.push({ node: row.node_id, bars: [] });
        lane = this.lanes.length - 1;
        this.laneOf.set(String(row.node_id), lane);
      }
      const b: Bar = { row, lane, t0: 0, t1: 0, ghost: false, open: false };
      this.bars.set(key, b);
      this.lanes[lane].bars.push(b);
      dirty.add(lane);
    }
    if (newNode) {
      const all = [...this.bars.values()].map((b) => b.row);
      const first = this.stats.firstDrawMs;
      this.setRows(all, new Date(this.runStart).toISOString());
      this.stats.firstDrawMs = first;
      return;
    }
    for (const lane of dirty) this.layoutLane(lane);
    this.count();
    if (!this.touched) this.fit();
    this.schedule();
  }

  /** While the run is live: running bars grow, so lay out their lanes again and redraw. */
  tick(): void {
    let any = false;
    this.lanes.forEach((l, i) => {
      if (l.bars.some((b) => b.open)) {
        this.layoutLane(i);
        any = true;
      }
    });
    if (any || this.live) {
      if (!this.touched) this.fit();
      this.schedule();
    }
  }

  select(row: Row | null): void {
    this.selected = row ? rowKey(row.node_id, row.task_name) : null;
    this.schedule();
  }

  fit(): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (const b of this.bars.values()) {
      if (b.t0 < lo) lo = b.t0;
      if (b.t1 > hi) hi = b.t1;
    }
    if (!Number.isFinite(lo)) {
      lo = this.runStart;
      hi = lo + 60_000;
    }
    const span = Math.max(hi - lo, 1000);
    const plot = Math.max(this.width - GUTTER, 50);
    this.msPerPx = (span * 1.04) / plot;
    this.x0 = lo - span * 0.02;
  }

  reset(): void {
    this.touched = false;
    this.yOff = 0;
    this.fit();
    this.schedule();
  }

  /** Where a task's bar is drawn (CSS pixels in the canvas) and in which colour, for tests and links. */
  barBox(node: string | null, task: string): { status: string; color: string; x: number; y: number; w: number; h: number } | null {
    const b = this.bars.get(rowKey(node, task));
    if (!b) return null;
    const x = GUTTER + (b.t0 - this.x0) / this.msPerPx;
    const w = Math.max(2, (b.t1 - b.t0) / this.msPerPx);
    return { status: b.row.status, color: COLORS[b.row.status], x, y: AXIS_H + b.lane * LANE_H - this.yOff + 3, w, h: LANE_H - 6 };
  }

  /** The colour drawn at a point of the canvas (CSS pixels), as #rrggbb. */
  pixel(x: number, y: number): string {
    const d = window.devicePixelRatio || 1;
    const p = this.ctx.getImageData(Math.round(x * d), Math.round(y * d), 1, 1).data;
    return '#' + [p[0], p[1], p[2]].map((v) => v.toString(16).padStart(2, '0')).join('');
  }

  private estimateGhost(rows: Row[]): number {
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

  private layoutLane(i: number): void {
    const lane = this.lanes[i];
    const now = Date.now();
    let end = this.runStart;
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
    // Tasks that did not start: one slot each after what the node did, in graph order.
    let t = end;
    for (const b of lane.bars) {
      if (!b.ghost) continue;
      b.t0 = t + this.ghostMs * 0.1;
      b.t1 = b.t0 + this.ghostMs * 0.8;
      t += this.ghostMs;
    }
    // Draw order: what covers a longer span first, so short tasks stay visible on top of long ones.
    lane.bars.sort((a, b) => b.t1 - b.t0 - (a.t1 - a.t0));
  }

  private count(): void {
    const by: Record<string, number> = { pending: 0, running: 0, ready: 0, error: 0, skipped: 0 };
    for (const b of this.bars.values()) by[b.row.status] = (by[b.row.status] ?? 0) + 1;
    this.stats.total = this.bars.size;
    this.stats.byStatus = by;
    this.stats.lanes = this.lanes.map((l) => nodeLabel(l.node));
  }

  private resize(redraw = true): void {
    const w = Math.max(320, this.host.clientWidth);
    const want = this.lanes.length * LANE_H + AXIS_H + 4;
    const h = Math.max(120, Math.min(want, Math.max(260, window.innerHeight - 300)));
    if (w === this.width && h === this.height && this.canvas.width) {
      if (redraw) this.schedule();
      return;
    }
    const t = this.msPerPx * (this.width - GUTTER);
    this.width = w;
    this.height = h;
    const d = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(w * d);
    this.canvas.height = Math.round(h * d);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    if (this.touched) this.msPerPx = t / Math.max(this.width - GUTTER, 50);
    else this.fit();
    this.clampY();
    if (redraw) this.draw();
  }

  private schedule(): void {
    if (!this.pending) this.pending = requestAnimationFrame(() => this.draw());
  }

  private clampY(): void {
    const max = Math.max(0, this.lanes.length * LANE_H - (this.height - AXIS_H));
    this.yOff = Math.min(Math.max(0, this.yOff), max);
  }

  draw(): void {
    const t = performance.now();
    if (this.pending) cancelAnimationFrame(this.pending);
    this.pending = 0;
    const { ctx, width: W, height: H } = this;
    const d = window.devicePixelRatio || 1;
    ctx.setTransform(d, 0, 0, d, 0, 0);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, W, H);

    const first = Math.max(0, Math.floor(this.yOff / LANE_H));
    const last = Math.min(this.lanes.length - 1, Math.floor((this.yOff + H - AXIS_H) / LANE_H));
    // Lane stripes and labels.
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (let i = first; i <= last; i++) {
      const y = AXIS_H + i * LANE_H - this.yOff;
      if (i % 2) {
        ctx.fillStyle = '#f4f6f8';
        ctx.fillRect(0, y, W, LANE_H);
      }
      ctx.fillStyle = '#334155';
      ctx.fillText(nodeLabel(this.lanes[i].node), 8, y + LANE_H / 2, GUTTER - 14);
    }
    // Bars, clipped to the plot, one fill style per status.
    ctx.save();
    ctx.beginPath();
    ctx.rect(GUTTER, AXIS_H, W - GUTTER, H - AXIS_H);
    ctx.clip();
    const now = Date.now();
    const x0 = this.x0;
    const k = 1 / this.msPerPx;
    let sel: Bar | undefined;
    for (let i = first; i <= last; i++) {
      const y = AXIS_H + i * LANE_H - this.yOff + 3;
      const bars = this.lanes[i].bars;
      for (let j = 0; j < bars.length; j++) {
        const b = bars[j];
        const t1 = b.open ? Math.max(now, b.t0) : b.t1;
        const x = GUTTER + (b.t0 - x0) * k;
        const w = Math.max(2, (t1 - b.t0) * k);
        if (x > W || x + w < GUTTER) continue;
        ctx.fillStyle = COLORS[b.row.status];
        ctx.fillRect(x, y, w, LANE_H - 6);
        if (b.ghost && w > 4) {
          ctx.fillStyle = '#ffffff';
          ctx.fillRect(x + 1, y + LANE_H - 10, w - 2, 2);
        }
        if (this.selected && this.selected === rowKey(b.row.node_id, b.row.task_name)) sel = b;
      }
    }
    if (sel) {
      const bx = this.barBox(sel.row.node_id, sel.row.task_name)!;
      ctx.strokeStyle = '#0f172a';
      ctx.lineWidth = 2;
      ctx.strokeRect(bx.x - 1, bx.y - 1, bx.w + 2, bx.h + 2);
    }
    if (this.live) {
      const x = GUTTER + (now - x0) * k;
      ctx.strokeStyle = '#7c3aed';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x + 0.5, AXIS_H);
      ctx.lineTo(x + 0.5, H);
      ctx.stroke();
    }
    ctx.restore();
    this.drawAxis();
    this.stats.draws++;
    this.stats.lastDrawMs = performance.now() - t;
  }

  private drawAxis(): void {
    const { ctx, width: W } = this;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, W, AXIS_H);
    ctx.strokeStyle = '#cbd5e1';
    ctx.beginPath();
    ctx.moveTo(0, AXIS_H - 0.5);
    ctx.lineTo(W, AXIS_H - 0.5);
    ctx.stroke();
    const steps = [
      1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 216e5, 432e5, 864e5,
    ];
    const step = steps.find((s) => s / this.msPerPx >= 90) ?? 864e5;
    const start = Math.ceil(this.x0 / step) * step;
    ctx.fillStyle = '#475569';
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (let t = start; GUTTER + (t - this.x0) / this.msPerPx < W; t += step) {
      const x = GUTTER + (t - this.x0) / this.msPerPx;
      if (x < GUTTER) continue;
      ctx.fillRect(Math.round(x), AXIS_H - 6, 1, 6);
      const iso = new Date(t).toISOString();
      const label = step < 1000 ? iso.slice(11, 23) : step >= 864e5 ? iso.slice(5, 10) : iso.slice(11, 19);
      ctx.fillText(label, x + 3, AXIS_H / 2 - 2);
    }
    ctx.fillText('UTC', 8, AXIS_H / 2 - 2);
  }

  private barAt(px: number, py: number): Bar | null {
    if (px < GUTTER || py < AXIS_H) return null;
    const lane = this.lanes[Math.floor((py - AXIS_H + this.yOff) / LANE_H)];
    if (!lane) return null;
    const t = this.x0 + (px - GUTTER) * this.msPerPx;
    const slack = 2 * this.msPerPx;
    const now = Date.now();
    for (let j = lane.bars.length - 1; j >= 0; j--) {
      const b = lane.bars[j];
      const t1 = b.open ? Math.max(now, b.t0) : b.t1;
      if (t >= b.t0 - slack && t <= Math.max(t1, b.t0 + this.msPerPx) + slack) return b;
    }
    return null;
  }

  private listen(): void {
    const c = this.canvas;
    let drag: { x: number; y: number; moved: boolean } | null = null;
    c.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        if (e.shiftKey) {
          this.yOff += e.deltaY || e.deltaX;
          this.clampY();
        } else {
          const rect = c.getBoundingClientRect();
          const px = Math.max(GUTTER, e.clientX - rect.left);
          const at = this.x0 + (px - GUTTER) * this.msPerPx;
          const factor = Math.exp((e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY) * 0.0015);
          this.msPerPx = Math.min(Math.max(this.msPerPx * factor, 0.01), 864e5);
          this.x0 = at - (px - GUTTER) * this.msPerPx;
        }
        this.touched = true;
        this.schedule();
      },
      { passive: false },
    );
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
        this.x0 -= dx * this.msPerPx;
        this.yOff -= dy;
        this.clampY();
        drag.x = e.clientX;
        drag.y = e.clientY;
        this.touched = true;
        this.tooltip.hidden = true;
        c.style.cursor = 'grabbing';
        this.schedule();
        return;
      }
      this.hover(this.barAt(e.clientX - rect.left, e.clientY - rect.top), e.clientX, e.clientY);
    });
    c.addEventListener('pointerup', (e) => {
      const rect = c.getBoundingClientRect();
      const wasDrag = drag?.moved;
      drag = null;
      c.style.cursor = '';
      if (wasDrag) return;
      const bar = this.barAt(e.clientX - rect.left, e.clientY - rect.top);
      if (bar) {
        this.select(bar.row);
        this.onSelect(bar.row);
      }
    });
    c.addEventListener('pointerleave', () => this.hover(null, 0, 0));
    c.addEventListener('dblclick', () => this.reset());
  }

  private hover(bar: Bar | null, cx: number, cy: number): void {
    this.hovered = bar;
    const tip = this.tooltip;
    this.canvas.style.cursor = bar ? 'pointer' : '';
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
}
