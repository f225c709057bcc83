import { compareNodes, nodeLabel } from '../../src/common/node-order';
import type { Row } from '../api';
import { fmtDuration } from '../dom';
import { COLORS } from '../status';
import { parseRoute } from '../url';
import { drawTimeline, type DrawnLabel } from './draw';
import { onKey } from './keyboard';
import { TextFitter } from './labels';
import {
  barRect,
  clampY,
  contentHeight,
  GUTTER_NARROW,
  GUTTER_WIDE,
  LANE_H,
  AXIS_H,
  barEnd,
  clock,
  layoutLane,
  rowKey,
  type Bar,
  type View,
} from './layout';
import { listen } from './pointer';

export { rowKey } from './layout';

declare global {
  interface Window {
    /** The page's timeline, for the browser tests (test/e2e/ui-timeline.e2e-spec.ts): setWindow, setNodeInfo, reveal... */
    __timelineApi?: Timeline;
  }
}

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
  /** The task names drawn on the last draw (on their bars, or beside a focused/selected one). */
  labels: DrawnLabel[];
  /** The node names drawn in the gutter on the last draw (the lanes in view, ellipsised as drawn). */
  gutter: string[];
  /** The keyboard's current task. */
  focused: { node: string | null; task: string } | null;
  /** The last thing said to screen readers (the live region's text). */
  announced: string;
}

/** A bar's or marker's box (CSS pixels in the canvas), its status and colour: for tests and links. */
export interface BarBox {
  kind: 'bar' | 'marker';
  status: string;
  color: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Zoom limits: a millisecond to a day per pixel. */
const MIN_MS_PER_PX = 0.01;
const MAX_MS_PER_PX = 864e5;
/** Below this width the page is a phone: a narrower gutter. */
const PHONE_W = 600;

/**
 * The run's timeline on a <canvas>: one lane per node (in the API's node order), one bar per task from
 * its start to its end, coloured by status, named when wide enough; tasks with no start are markers
 * (timeline/layout.ts). The canvas sits, sticky, in a scrolling container as tall as all the lanes: the
 * page's own scrolling (wheel, trackpad, touch, scrollbar, keys) moves through the lanes. ctrl+wheel
 * or a pinch zooms, drag or shift+wheel pans (timeline/pointer.ts); the keyboard moves between tasks
 * (timeline/keyboard.ts), announced in a live region. Changed rows are applied with update(): only their
 * lanes are laid out again.
 */
export class Timeline {
  /** The controls, as the run's toolbar should say them. */
  static readonly HINT =
    'wheel: scroll nodes · ctrl+wheel or pinch: zoom · drag or shift+wheel: pan · arrows: move between tasks · Enter: open · 0: fit';

  readonly canvas: HTMLCanvasElement;
  /** The scrolling container (focusable: the timeline's keyboard home). */
  readonly scroller: HTMLDivElement;
  private readonly spacer: HTMLDivElement;
  private readonly liveRegion: HTMLDivElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly fitter: TextFitter;
  readonly view: View = {
    lanes: [],
    x0: 0,
    msPerPx: 1000,
    yOff: 0,
    width: 800,
    height: 300,
    gutter: GUTTER_WIDE,
    touched: false,
    live: false,
    selected: null,
    focused: null,
    hasFocus: false,
  };
  private laneOf = new Map<string, number>();
  private bars = new Map<string, Bar>();
  private runStart = Date.now();
  private pending = 0; // requestAnimationFrame id
  /** Some task has no time at all (drawn after its lane's end): fit() leaves room for it. */
  private unplaced = false;
  /** Some task is a marker: room for half a diamond and its count at the right end. */
  private markers = false;
  readonly stats: TimelineStats = {
    total: 0,
    byStatus: {},
    lanes: [],
    draws: 0,
    firstDrawMs: null,
    lastDrawMs: null,
    labels: [],
    gutter: [],
    focused: null,
    announced: '',
  };

  constructor(
    private readonly host: HTMLElement,
    readonly tooltip: HTMLElement,
    private readonly onSelect: (row: Row) => void,
  ) {
    host.classList.add('tl-host');
    const button = (cls: string, label: string, text: string, act: () => void) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = cls;
      b.textContent = text;
      b.setAttribute('aria-label', label);
      b.title = label;
      b.addEventListener('click', act);
      return b;
    };
    const controls = document.createElement('div');
    controls.className = 'tl-controls';
    controls.setAttribute('role', 'group');
    controls.setAttribute('aria-label', 'Timeline zoom');
    controls.append(
      button('tl-zoom-out', 'Zoom out', '−', () => this.zoomKey(1.6)),
      button('tl-zoom-in', 'Zoom in', '+', () => this.zoomKey(1 / 1.6)),
      button('tl-fit', 'Fit the whole run', 'Fit', () => this.zoomKey(0)),
    );
    this.scroller = document.createElement('div');
    this.scroller.className = 'tl-scroll';
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute('role', 'application');
    this.scroller.setAttribute('aria-roledescription', 'timeline');
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'timeline';
    this.canvas.setAttribute('aria-hidden', 'true');
    this.spacer = document.createElement('div');
    this.spacer.className = 'tl-spacer';
    this.scroller.append(this.canvas, this.spacer);
    this.liveRegion = document.createElement('div');
    this.liveRegion.className = 'tl-live';
    this.liveRegion.setAttribute('aria-live', 'polite');
    this.liveRegion.setAttribute('role', 'status');
    host.append(controls, this.scroller, this.liveRegion);
    this.ctx = this.canvas.getContext('2d', { alpha: false })!;
    this.fitter = new TextFitter(this.ctx);
    this.label();

    listen(this.canvas, this);
    this.scroller.addEventListener('scroll', () => this.syncY());
    this.scroller.addEventListener('keydown', (e) => onKey(this, e));
    this.scroller.addEventListener('focus', () => {
      // The ring is the keyboard's: a click (which focuses the container too) shows the selection only.
      this.view.hasFocus = this.scroller.matches(':focus-visible');
      // The keyboard starts from the selected task, if any (a task opened from a link or a click).
      if (!this.view.focused && this.view.selected) {
        const b = this.bars.get(this.view.selected);
        if (b) this.focusBar(b);
      }
      this.schedule();
    });
    this.scroller.addEventListener('blur', () => {
      this.view.hasFocus = false;
      this.schedule();
    });
    new ResizeObserver(() => this.resize()).observe(host);
    // Its height follows the window's (resize()), which can change with no change of the host's width (a
    // taller window, a phone's toolbar); the listener goes once the view is gone.
    const onWindow = () => (host.isConnected ? this.resize() : window.removeEventListener('resize', onWindow));
    window.addEventListener('resize', onWindow);
    window.__timelineApi = this;
  }

  get live(): boolean {
    return this.view.live;
  }
  /** Live: running bars grow with the clock; not live (stream down or ended): they stop where they were. */
  set live(on: boolean) {
    if (this.view.live && !on) this.view.frozenAt = Date.now();
    if (on) this.view.frozenAt = null;
    this.view.live = on;
    this.schedule();
  }

  /** All the run's rows (the first load): builds the lanes, fits the view, draws now. */
  setRows(rows: Row[], runStart: string | null): void {
    const t = performance.now();
    this.runStart = runStart ? Date.parse(runStart) : Date.now();
    const focused = this.view.focused;
    this.bars.clear();
    const nodes = new Map<string | null, Row[]>();
    for (const r of rows) {
      let list = nodes.get(r.node_id);
      if (!list) nodes.set(r.node_id, (list = []));
      list.push(r);
    }
    const order = [...nodes.keys()].sort(compareNodes);
    this.view.lanes = order.map((node) => ({ node, bars: [], order: [] }));
    this.laneOf = new Map(order.map((n, i) => [String(n), i]));
    order.forEach((node, lane) => {
      for (const row of nodes.get(node)!) {
        const bar: Bar = { row, lane, t0: 0, t1: 0, kind: 'bar', unplaced: false, open: false };
        this.bars.set(rowKey(row.node_id, row.task_name), bar);
        this.view.lanes[lane].bars.push(bar);
      }
      this.layoutLane(lane);
    });
    this.view.focused = focused ? (this.bars.get(rowKey(focused.row.node_id, focused.row.task_name)) ?? null) : null;
    this.count();
    this.resize(false);
    if (!this.view.touched) this.fit();
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
        this.view.lanes.push({ node: row.node_id, bars: [], order: [] });
        lane = this.view.lanes.length - 1;
        this.laneOf.set(String(row.node_id), lane);
      }
      const b: Bar = { row, lane, t0: 0, t1: 0, kind: 'bar', unplaced: false, open: false };
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

  /** Each node's roles and host name, drawn beside its lane (`node 4 · controller`), the host name in its tooltip. */
  setNodeInfo(info: Map<string | null, NodeInfo>): void {
    this.view.nodeInfo = info;
    this.schedule();
  }

  /** The window in view when the user zoomed or panned (null while the whole run is fitted). */
  getWindow(): TimeWindow | null {
    if (!this.view.touched) return null;
    return { from: Math.round(this.view.x0), to: Math.round(this.view.x0 + this.view.msPerPx * this.plotWidth()) };
  }

  /** Shows a window (from the URL); null fits the whole run. */
  setWindow(w: TimeWindow | null): void {
    if (!w || !(w.to > w.from)) return this.reset();
    this.view.touched = true;
    this.view.x0 = w.from;
    this.view.msPerPx = Math.min(Math.max((w.to - w.from) / this.plotWidth(), MIN_MS_PER_PX), MAX_MS_PER_PX);
    this.schedule();
  }

  select(row: Row | null): void {
    this.view.selected = row ? rowKey(row.node_id, row.task_name) : null;
    this.schedule();
  }

  /** A bar was clicked: select it and say so. */
  pick(row: Row): void {
    this.select(row);
    const b = this.bars.get(rowKey(row.node_id, row.task_name));
    if (b) this.setFocused(b);
    this.onSelect(row);
  }

  /** Keyboard focus to the timeline (its scrolling container), without scrolling the page to it. */
  focus(): void {
    this.scroller.focus({ preventScroll: true });
  }

  /**
   * Brings a task into view: scrolls its lane into the container (and the container into the page's
   * view), pans so that its bar or marker shows; keeps the zoom unless the bar is wider than the view.
   * Returns whether the task exists.
   */
  reveal(node: string | null, task: string): boolean {
    const b = this.bars.get(rowKey(node, task));
    if (!b) return false;
    return (this.revealBar(b), true);
  }

  fit(): void {
    let lo = Infinity;
    let hi = -Infinity;
    this.unplaced = false;
    this.markers = false;
    for (const b of this.bars.values()) {
      if (b.kind === 'marker') this.markers = true;
      if (b.unplaced) {
        this.unplaced = true;
        continue;
      }
      if (b.t0 < lo) lo = b.t0;
      const t1 = barEnd(this.view, b);
      if (t1 > hi) hi = t1;
    }
    if (!Number.isFinite(lo)) {
      lo = this.runStart;
      hi = lo + 60_000;
    }
    const span = Math.max(hi - lo, 1000);
    // Room on the right for the "not started" markers and their words, when there are any.
    const room = this.unplaced ? 100 : this.markers ? 30 : 0;
    this.view.msPerPx = (span * 1.04) / Math.max(this.plotWidth() - room, 50);
    this.view.x0 = lo - span * 0.02;
  }

  /** Fits the whole run in time (the lanes stay scrolled where they are). */
  reset(): void {
    this.view.touched = false;
    this.fit();
    this.schedule();
  }

  /** Where a task's bar or marker is drawn (CSS pixels in the canvas), its kind and colour, for tests and links. */
  barBox(node: string | null, task: string): BarBox | null {
    const b = this.bars.get(rowKey(node, task));
    if (!b) return null;
    return { kind: b.kind, status: b.row.status, color: COLORS[b.row.status], ...barRect(this.view, b) };
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
    drawTimeline(this.ctx, this.view, this.fitter, this.stats.labels, this.stats.gutter);
    this.stats.draws++;
    this.stats.lastDrawMs = performance.now() - t;
  }

  // --- what the pointer and the keyboard ask (timeline/pointer.ts, timeline/keyboard.ts) ---

  /** Zoom by `factor` (>1 zooms out) around the canvas x `px`. */
  zoomAt(factor: number, px: number): void {
    const v = this.view;
    const x = Math.min(Math.max(px, v.gutter), v.width) - v.gutter;
    const at = v.x0 + x * v.msPerPx;
    v.msPerPx = Math.min(Math.max(v.msPerPx * factor, MIN_MS_PER_PX), MAX_MS_PER_PX);
    v.x0 = at - x * v.msPerPx;
    v.touched = true;
    this.schedule();
  }

  /** Pans by pixels: dx in time (positive shows earlier times), dy through the lanes (positive shows the lanes above). */
  panBy(dx: number, dy: number): void {
    const v = this.view;
    if (dx) {
      v.x0 -= dx * v.msPerPx;
      v.touched = true;
    }
    if (dy) this.scrollTo(v.yOff - dy);
    this.schedule();
  }

  /** The user moved the view: the page hears of it (it writes the window to the URL). */
  changed(): void {
    this.view.onViewChange?.();
  }

  /** A user's fit (double click, double tap, the Fit button, the 0 key). */
  userFit(): void {
    this.reset();
    this.changed();
  }

  /** The keyboard's and the buttons' zoom: around the focused bar when in view, else the middle; 0 fits. */
  zoomKey(factor: number): void {
    if (!factor) return this.userFit();
    const v = this.view;
    let px = v.gutter + this.plotWidth() / 2;
    if (v.focused) {
      const r = barRect(v, v.focused);
      const mid = r.x + r.w / 2;
      if (mid >= v.gutter && mid <= v.width) px = mid;
    }
    this.zoomAt(factor, px);
    this.changed();
  }

  /** The keyboard moved to a bar: ring it, bring it into view, say what it is. */
  focusBar(b: Bar): void {
    this.view.hasFocus = document.activeElement === this.scroller;
    this.setFocused(b);
    const before = { x0: this.view.x0, msPerPx: this.view.msPerPx };
    this.revealBar(b, false);
    if (before.x0 !== this.view.x0 || before.msPerPx !== this.view.msPerPx) this.changed();
    this.announce(this.describe(b));
  }

  /** Enter or Space on a bar: open it, as a click does. */
  open(b: Bar): void {
    this.pick(b.row);
  }

  // --- inside ---

  private setFocused(b: Bar): void {
    this.view.focused = b;
    this.stats.focused = { node: b.row.node_id, task: b.row.task_name };
    this.schedule();
  }

  private revealBar(b: Bar, intoPage = true): void {
    const v = this.view;
    // From where the lanes are now, not where they were last drawn: the scrollbar, the page or a script may
    // have moved them with their scroll event still to come (dispatched at the next frame), which would set
    // yOff back to that position after this reveal decided the lane was in view.
    this.syncY();
    // The lane: into the container's view (a lane of margin above and below when there is room).
    const top = b.lane * LANE_H;
    const rows = v.height - AXIS_H;
    if (top < v.yOff) this.scrollTo(top - LANE_H);
    else if (top + LANE_H > v.yOff + rows) this.scrollTo(top + 2 * LANE_H - rows);
    // The time: pan (or zoom out when the bar is wider than the view) so that it shows, with a margin.
    const plot = this.plotWidth();
    const t1 = barEnd(this.view, b);
    if (t1 - b.t0 > (plot - 80) * v.msPerPx) {
      const span = t1 - b.t0;
      v.msPerPx = Math.min(Math.max((span * 1.1) / plot, MIN_MS_PER_PX), MAX_MS_PER_PX);
      v.x0 = b.t0 - span * 0.05;
      v.touched = true;
    } else {
      const margin = 40 * v.msPerPx;
      // A "not started" marker sits right of its lane's end, with its words: room for them too.
      const end = b.unplaced ? b.t0 + 140 * v.msPerPx : t1;
      const right = v.x0 + plot * v.msPerPx;
      if (b.t0 < v.x0) v.x0 = b.t0 - margin;
      else if (end > right) v.x0 = Math.min(b.t0 - margin, end + margin - plot * v.msPerPx);
      else return this.afterReveal(intoPage);
      v.touched = true;
    }
    this.afterReveal(intoPage);
  }

  private afterReveal(intoPage: boolean): void {
    if (intoPage) this.scroller.scrollIntoView({ block: 'nearest' });
    this.schedule();
  }

  /**
   * Takes the container's scroll position as it is now (its scroll event may not have come yet). Not while
   * hidden (the Table tab): it does not scroll then, and yOff is where it goes back to (resize()).
   */
  private syncY(): void {
    const v = this.view;
    if (!this.scroller.clientHeight || this.scroller.scrollTop === v.yOff) return;
    v.yOff = this.scroller.scrollTop;
    this.tooltip.hidden = true;
    this.schedule();
  }

  private scrollTo(y: number): void {
    const v = this.view;
    v.yOff = y;
    clampY(v);
    this.scroller.scrollTop = v.yOff;
    // A hidden container (the Table tab) does not scroll: resize() applies yOff when it shows again.
    if (this.scroller.clientHeight) v.yOff = this.scroller.scrollTop;
  }

  /** How a task is said to a screen reader: "ceph on node 1 (controller): error, 20.0 s, started 12:00:10 UTC". */
  private describe(b: Bar): string {
    const r = b.row;
    const info = this.view.nodeInfo?.get(r.node_id);
    const who = [info?.roles.join(', '), info?.hostname].filter(Boolean).join(', ');
    const parts: string[] = [r.status];
    if (r.time_start) {
      const end = r.time_end ? Date.parse(r.time_end) : r.status === 'running' ? clock(this.view) : NaN;
      parts.push(Number.isFinite(end) ? fmtDuration(end - Date.parse(r.time_start)) : 'no end');
      parts.push(`started ${new Date(r.time_start).toISOString().slice(11, 19)} UTC`);
      if (r.status === 'running') parts.push('running');
    } else {
      parts.push('not started');
      if (r.time_end) parts.push(`closed ${new Date(r.time_end).toISOString().slice(11, 19)} UTC`);
    }
    if (r.closed_reason) parts.push(r.closed_reason);
    const order = this.view.lanes[b.lane].order;
    return `${r.task_name} on ${nodeLabel(r.node_id)}${who ? ` (${who})` : ''}: ${parts.join(', ')} — task ${order.indexOf(b) + 1} of ${order.length}`;
  }

  private announce(text: string): void {
    this.stats.announced = text;
    this.liveRegion.textContent = text;
  }

  /** The container's accessible name: what it holds and how to use it. */
  private label(): void {
    const run = /^\/runs\/(\d+)/.exec(parseRoute().path)?.[1];
    this.scroller.setAttribute(
      'aria-label',
      `Timeline of ${run ? `run #${run}` : 'the run'}: ${this.stats.total} tasks on ${this.view.lanes.length} nodes; ` +
        'arrow keys move between tasks, Enter opens, + and − zoom, 0 fits',
    );
  }

  private plotWidth(): number {
    return Math.max(this.view.width - this.view.gutter, 50);
  }

  private layoutLane(i: number): void {
    layoutLane(this.view.lanes[i], this.runStart, clock(this.view));
  }

  private count(): void {
    const by: Record<string, number> = { pending: 0, running: 0, ready: 0, error: 0, skipped: 0 };
    for (const b of this.bars.values()) by[b.row.status] = (by[b.row.status] ?? 0) + 1;
    this.stats.total = this.bars.size;
    this.stats.byStatus = by;
    this.stats.lanes = this.view.lanes.map((l) => nodeLabel(l.node));
    this.label();
  }

  /**
   * Sizes the canvas to the container: as tall as the lanes up to most of the window (then the
   * container scrolls), as wide as the container's inside (its scrollbar excluded).
   */
  private resize(redraw = true): void {
    const v = this.view;
    const content = contentHeight(v);
    // As tall as the lanes (two at least), up to most of the window's height; then the container scrolls.
    const h = Math.max(AXIS_H + 2 * LANE_H + 4, Math.min(content, Math.max(220, window.innerHeight - 240)));
    this.scroller.style.height = `${h}px`;
    this.spacer.style.height = `${Math.max(0, content - h)}px`;
    const w = Math.max(200, this.scroller.clientWidth || this.host.clientWidth);
    const gutter = w < PHONE_W ? GUTTER_NARROW : GUTTER_WIDE;
    if (this.scroller.clientHeight && this.scroller.scrollTop !== v.yOff) {
      clampY(v);
      this.scroller.scrollTop = v.yOff;
    }
    if (w === v.width && h === v.height && gutter === v.gutter && this.canvas.width) {
      if (redraw) this.schedule();
      return;
    }
    const t = v.msPerPx * (v.width - v.gutter);
    v.width = w;
    v.height = h;
    v.gutter = gutter;
    const d = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(w * d);
    this.canvas.height = Math.round(h * d);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    if (v.touched) v.msPerPx = t / this.plotWidth();
    else this.fit();
    clampY(v);
    if (redraw) this.draw();
  }
}
