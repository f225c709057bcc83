import { compareNodes, nodeLabel } from '../../src/common/node-order';
import type { Row } from '../api';
import { COLORS } from '../status';
import { drawTimeline } from './draw';
import { AXIS_H, barRect, clampY, estimateGhost, GUTTER, LANE_H, layoutLane, MIN_GHOST_MS, rowKey, type Bar, type View } from './layout';
import { listen } from './pointer';

export { rowKey } from './layout';

/** What the page knows of a node in this run (GET /transactions/:id/nodes): shown beside its lane. */
export interface NodeInfo {
  roles: string[];
  hostname: string | null;
}

/** The time window in view (ms since the epoch, UTC), as the URL keeps it. */
export interface TimeWindow {
  from: number;
  to: number;
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
 * The run's timeline on a <canvas>: one lane per node (in the API's node order), one bar per task from
 * its start to its end, coloured by status. Wheel zooms (around the pointer), drag pans, shift+wheel
 * scrolls the lanes, double-click fits; hover shows a tooltip, click selects (timeline/pointer.ts).
 * Changed rows are applied with update(): only their lanes are laid out again.
 */
export class Timeline {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  readonly view: View = { lanes: [], x0: 0, msPerPx: 1000, yOff: 0, width: 800, height: 300, touched: false, live: false, selected: null };
  private laneOf = new Map<string, number>();
  private bars = new Map<string, Bar>();
  private ghostMs = MIN_GHOST_MS;
  private runStart = Date.now();
  private pending = 0; // requestAnimationFrame id
  readonly stats: TimelineStats = { total: 0, byStatus: {}, lanes: [], draws: 0, firstDrawMs: null, lastDrawMs: null };

  constructor(
    private readonly host: HTMLElement,
    readonly tooltip: HTMLElement,
    private readonly onSelect: (row: Row) => void,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'timeline';
    host.appendChild(this.canvas);
    this.ctx = this.canvas.getContext('2d', { alpha: false })!;
    listen(this.canvas, this);
    new ResizeObserver(() => this.resize()).observe(host);
  }

  get live(): boolean {
    return this.view.live;
  }
  set live(on: boolean) {
    this.view.live = on;
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
    this.view.lanes = order.map((node) => ({ node, bars: [] }));
    this.laneOf = new Map(order.map((n, i) => [String(n), i]));
    this.ghostMs = estimateGhost(rows);
    order.forEach((node, lane) => {
      for (const row of nodes.get(node)!) {
        const bar: Bar = { row, lane, t0: 0, t1: 0, ghost: false, open: false };
        this.bars.set(rowKey(row.node_id, row.task_name), bar);
        this.view.lanes[lane].bars.push(bar);
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
        this.view.lanes.push({ node: row.node_id, bars: [] });
        lane = this.view.lanes.length - 1;
        this.laneOf.set(String(row.node_id), lane);
      }
      const b: Bar = { row, lane, t0: 0, t1: 0, ghost: false, open: false };
      this.bars.set(key, b);
      this.view.lanes[lane].bars.push(b);
      dirty.add(lane);
    }
    if (newNode) {
      // A node not seen yet: its lane takes its place in the node order, so everything is laid out again.
      const all = [...this.bars.values()].map((b) => b.row);
      const first = this.stats.firstDrawMs;
      this.setRows(all, new Date(this.runStart).toISOString());
      this.stats.firstDrawMs = first;
      return;
    }
    for (const lane of dirty) this.layoutLane(lane);
    this.count();
    if (!this.view.touched) this.fit();
    this.schedule();
  }

  /** While the run is live: running bars grow, so lay out their lanes again and redraw. */
  tick(): void {
    let any = false;
    this.view.lanes.forEach((l, i) => {
      if (l.bars.some((b) => b.open)) {
        this.layoutLane(i);
        any = true;
      }
    });
    if (any || this.view.live) {
      if (!this.view.touched) this.fit();
      this.schedule();
    }
  }

  /**
   * The rows the page's filters keep (shared with the table): the others are drawn faded, so the
   * timeline keeps its shape; null keeps all.
   */
  setFilter(keep: ((r: Row) => boolean) | null): void {
    this.view.keep = keep;
    this.schedule();
  }

  /** Each node's roles and host name, drawn beside its lane. */
  setNodeInfo(info: Map<string | null, NodeInfo>): void {
    this.view.nodeInfo = info;
    this.schedule();
  }

  /** The window in view when the user zoomed or panned (null while the whole run is fitted). */
  getWindow(): TimeWindow | null {
    if (!this.view.touched) return null;
    return { from: Math.round(this.view.x0), to: Math.round(this.view.x0 + this.view.msPerPx * Math.max(this.view.width - GUTTER, 50)) };
  }

  /** Shows a window (from the URL); null fits the whole run. */
  setWindow(w: TimeWindow | null): void {
    if (!w || !(w.to > w.from)) return this.reset();
    this.view.touched = true;
    this.view.x0 = w.from;
    this.view.msPerPx = (w.to - w.from) / Math.max(this.view.width - GUTTER, 50);
    this.schedule();
  }

  select(row: Row | null): void {
    this.view.selected = row ? rowKey(row.node_id, row.task_name) : null;
    this.schedule();
  }

  /** A bar was clicked: select it and say so. */
  pick(row: Row): void {
    this.select(row);
    this.onSelect(row);
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
    const plot = Math.max(this.view.width - GUTTER, 50);
    this.view.msPerPx = (span * 1.04) / plot;
    this.view.x0 = lo - span * 0.02;
  }

  reset(): void {
    this.view.touched = false;
    this.view.yOff = 0;
    this.fit();
    this.schedule();
  }

  /** Where a task's bar is drawn (CSS pixels in the canvas) and in which colour, for tests and links. */
  barBox(node: string | null, task: string): { status: string; color: string; x: number; y: number; w: number; h: number } | null {
    const b = this.bars.get(rowKey(node, task));
    if (!b) return null;
    return { status: b.row.status, color: COLORS[b.row.status], ...barRect(this.view, b) };
  }

  /** The colour drawn at a point of the canvas (CSS pixels), as #rrggbb. */
  pixel(x: number, y: number): string {
    const d = window.devicePixelRatio || 1;
    const p = this.ctx.getImageData(Math.round(x * d), Math.round(y * d), 1, 1).data;
    return '#' + [p[0], p[1], p[2]].map((v) => v.toString(16).padStart(2, '0')).join('');
  }

  schedule(): void {
    if (!this.pending) this.pending = requestAnimationFrame(() => this.draw());
  }

  draw(): void {
    const t = performance.now();
    if (this.pending) cancelAnimationFrame(this.pending);
    this.pending = 0;
    drawTimeline(this.ctx, this.view);
    this.stats.draws++;
    this.stats.lastDrawMs = performance.now() - t;
  }

  private layoutLane(i: number): void {
    layoutLane(this.view.lanes[i], this.runStart, this.ghostMs);
  }

  private count(): void {
    const by: Record<string, number> = { pending: 0, running: 0, ready: 0, error: 0, skipped: 0 };
    for (const b of this.bars.values()) by[b.row.status] = (by[b.row.status] ?? 0) + 1;
    this.stats.total = this.bars.size;
    this.stats.byStatus = by;
    this.stats.lanes = this.view.lanes.map((l) => nodeLabel(l.node));
  }

  private resize(redraw = true): void {
    const v = this.view;
    const w = Math.max(320, this.host.clientWidth);
    const want = v.lanes.length * LANE_H + AXIS_H + 4;
    const h = Math.max(120, Math.min(want, Math.max(260, window.innerHeight - 300)));
    if (w === v.width && h === v.height && this.canvas.width) {
      if (redraw) this.schedule();
      return;
    }
    const t = v.msPerPx * (v.width - GUTTER);
    v.width = w;
    v.height = h;
    const d = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(w * d);
    this.canvas.height = Math.round(h * d);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    if (v.touched) v.msPerPx = t / Math.max(v.width - GUTTER, 50);
    else this.fit();
    clampY(v);
    if (redraw) this.draw();
  }
}
