import {
  getJson,
  HttpError,
  isLive,
  isNetworkError,
  request,
  type Cluster,
  type Row,
  type RunNode,
  type RunsPage,
  type Summary,
  type Transaction,
} from '../api';
import { durationMs, fmtDuration, fmtTime, h } from '../dom';
import { Filters, nodeKey } from '../filters';
import { isCol, RowTable, type NodeIdentity } from '../table';
import { rowKey, Timeline, type TimelineStats } from '../timeline/timeline';
import { href, parseRoute, setParams, setTitle } from '../url';
import { app, badge, onLeave, onParamsChange, setCrumbs, showError, tooltip } from './page';
import { RunHeader } from './run-head';
import { followRun } from './run-live';
import { TaskDetailPanel } from './task-detail';

declare global {
  interface Window {
    __timeline?: unknown;
  }
}

/** What the page exposes to the browser tests as window.__timeline. */
export interface Exposed {
  stats: TimelineStats;
  bar: (node: string | null, task: string) => ReturnType<Timeline['barBox']>;
  pixel: (x: number, y: number) => string;
  /** The zoom window shown (null: the whole run fitted). */
  window: () => ReturnType<Timeline['getWindow']>;
  /** From opening the run to its rows drawn (fetch included). */
  loadMs: number | null;
  /** When the rows were drawn, in ms since the page's navigation started (performance.now()). */
  shownAt?: number;
  live: boolean;
  streamEvents?: number;
  /** The stream is down (the banner shows). */
  down?: boolean;
}

/** One run: its head and failure-first header, the timeline and the table of its rows, a task's detail. */
export async function runView(id: number): Promise<void> {
  const abort = new AbortController();
  onLeave(() => abort.abort());
  const t0 = performance.now();
  let run: Transaction;
  try {
    run = await getJson<Transaction>(`/transactions/${id}`, { signal: abort.signal });
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) return notFound(id);
    if (isNetworkError(e)) return unreachable(id, e);
    throw e;
  }
  const cluster = await getJson<Cluster>(`/clusters/${run.cluster}`, { signal: abort.signal }).catch(() => null);
  setCrumbs(['Clusters', '#/'], [cluster?.name || `cluster ${run.cluster}`, `#/clusters/${run.cluster}`], [`run #${id}`, null]);
  const screen = new RunScreen(run, cluster, t0, abort.signal);
  await screen.start();
}

/** An unknown run: said plainly, the breadcrumbs back to the clusters only. */
function notFound(id: number): void {
  setCrumbs(['Clusters', '#/']);
  setTitle(`Run #${id} not found`);
  app.replaceChildren(
    h('h1', { tabindex: -1 }, `Run #${id} does not exist`),
    h('p', { class: 'error-box', id: 'run-not-found' }, `No run has the id ${id}: it was never recorded, or it was deleted.`),
    h('p', {}, h('a', { href: '#/' }, 'Back to the clusters')),
  );
}

/** The service does not answer: said so, with a Retry that loads the run again. */
function unreachable(id: number, e: unknown): void {
  setCrumbs(['Clusters', '#/'], [`run #${id}`, null]);
  setTitle(`Run #${id}`, 'service unreachable');
  app.replaceChildren(
    h('h1', { tabindex: -1 }, `Run #${id}`),
    h(
      'div',
      { class: 'error-box', id: 'run-unreachable', role: 'alert' },
      `The service does not answer (network error: ${e instanceof Error ? e.message : String(e)}). `,
      h('button', { type: 'button', id: 'retry', onclick: () => void runView(id).catch(showError) }, 'Retry'),
    ),
    h('p', {}, h('a', { href: '#/' }, 'Back to the clusters')),
  );
}

/** The run's view on the page, and its rows: loaded whole, then changed (live) a few at a time. */
export class RunScreen {
  readonly head = h('div', { class: 'run-head' });
  readonly timelineBox = h('div', { class: 'timeline-box', id: 'timeline' });
  readonly status = h('span', { class: 'muted', id: 'live-status', role: 'status' });
  readonly banner = h('div', { class: 'live-banner', id: 'live-banner', role: 'alert', hidden: true });
  readonly filters: Filters;
  readonly table: RowTable;
  readonly detail: TaskDetailPanel;
  readonly header: RunHeader;
  readonly timeline: Timeline;
  readonly exposed: Exposed;
  readonly nodeInfo = new Map<string | null, NodeIdentity>();
  private rows: Row[] = [];
  private readonly index = new Map<string, number>();
  private readonly tableBox: HTMLElement;
  private readonly tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': 'View' });
  private readonly compareLink: HTMLAnchorElement;
  private readonly timelineControls: HTMLElement[];
  private tab: 'timeline' | 'table' = 'timeline';
  private loaded = false;

  constructor(
    public run: Transaction,
    readonly cluster: Cluster | null,
    private readonly t0: number,
    readonly signal: AbortSignal,
  ) {
    const params = parseRoute().params;
    this.filters = new Filters(() => this.applyFilters(true));
    this.filters.fromParams(params);
    this.table = new RowTable(
      (r) => this.taskHref(r.node_id, r.task_name),
      (r, from) => this.openTask(r, from, { push: true }),
      () => setParams({ sort: this.table.sort ? `${this.table.sort.dir === -1 ? '-' : ''}${this.table.sort.col}` : null }),
      () => this.emptyState(),
    );
    const sort = params.get('sort') ?? '';
    const col = sort.replace(/^-/, '');
    if (isCol(col)) this.table.setSort({ col, dir: sort.startsWith('-') ? -1 : 1 });
    this.detail = new TaskDetailPanel(
      () => this.run.id,
      () => this.nodeInfo,
      () => {
        this.timeline.select(null);
        setParams({ task: null, task_node: null });
      },
    );
    this.header = new RunHeader(run.id, (node, task, text) => this.taskLink(node, task, text));
    this.tableBox = h('div', { class: 'table-box', id: 'table', hidden: true }, this.table.el);
    this.compareLink = h(
      'a',
      { id: 'compare-prev', class: 'button-link', href: href(`/clusters/${run.cluster}/compare`, { b: run.id }) },
      'Compare with previous run',
    );
    // The timeline has its own zoom controls (Fit among them): the toolbar only says how to use it.
    const hintEl = h('span', { class: 'muted small hint', id: 'timeline-hint' }, Timeline.HINT);
    this.timelineControls = [hintEl];
    app.replaceChildren(
      this.head,
      this.header.el,
      h(
        'div',
        { class: 'toolbar' },
        this.tabs,
        h('button', { type: 'button', id: 'export-csv', onclick: () => void exportCsv(run.id) }, 'Export CSV'),
        this.compareLink,
        this.status,
        hintEl,
      ),
      this.banner,
      this.filters.el,
      h('div', { class: 'run-body' }, h('div', { class: 'run-main' }, this.timelineBox, this.tableBox), this.detail.el),
    );
    // Opened from the timeline: focus returns to what had it there (its focusable part), else to the box.
    const fromTimeline = () => {
      const a = document.activeElement;
      return a instanceof HTMLElement && this.timelineBox.contains(a) ? a : this.timelineBox;
    };
    const timeline = (this.timeline = new Timeline(this.timelineBox, tooltip, (r) => this.openTask(r, fromTimeline(), { push: true })));
    this.exposed = {
      stats: timeline.stats,
      bar: (node: string | null, task: string) => timeline.barBox(node, task),
      pixel: (x: number, y: number) => timeline.pixel(x, y),
      window: () => timeline.getWindow(),
      loadMs: null,
      live: false,
    };
    window.__timeline = this.exposed;
    this.renderTabs();
    this.setTab(params.get('tab') === 'table' ? 'table' : 'timeline', false);
    this.renderHead();
    this.watchWindow();
    this.listenKeys();
  }

  /** Escape closes the task's detail (focus back to what opened it), wherever the focus is. */
  private listenKeys(): void {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && this.detail.open) {
        e.preventDefault();
        this.detail.close();
      }
    };
    document.addEventListener('keydown', onKey);
    onLeave(() => document.removeEventListener('keydown', onKey));
  }

  /** Loads the run: its rows (whole, or live from its stream), the header, the nodes, the previous run. */
  async start(): Promise<void> {
    const id = this.run.id;
    const failed = this.run.status === 'error' || this.run.status === 'stopped';
    const summary = getJson<Summary>(`/transactions/${id}/deployment_history/summary`, { signal: this.signal });
    summary.catch(() => undefined);
    void this.loadNodes();
    void this.findPrevious();
    if (isLive(this.run)) {
      void this.header.load(summary).catch(() => undefined);
      await followRun(this, this.signal);
      return;
    }
    let rows: Row[];
    try {
      rows = await getJson<Row[]>(`/transactions/${id}/deployment_history`, { signal: this.signal });
    } catch (e) {
      if (e instanceof HttpError && e.status === 409) return this.notRecorded(e.message);
      if (isNetworkError(e)) return unreachable(id, e);
      throw e;
    }
    // The critical path's first computation takes the service a while on a large run: asked for once
    // the rows are drawn, so it never delays them.
    const header = () => void this.header.load(summary).catch(() => undefined);
    // A failed run opens its first failure, unless the URL names a task: opened before the rows are
    // drawn, so the timeline takes its width once (the panel beside it) and the bar stays put.
    const named = parseRoute().params.has('task');
    if (failed && !named) {
      const f = (await summary.catch(() => null))?.first_failure;
      const row = f && rows.find((r) => r.node_id === f.node_id && r.task_name === f.task_name);
      this.load(rows, row || null);
    } else this.load(rows);
    header();
  }

  /** All the run's rows (the first load); `open` a task to open with them (the first failure). */
  load(all: Row[], open: Row | null = null): void {
    this.rows = all;
    this.index.clear();
    all.forEach((r, i) => this.index.set(rowKey(r.node_id, r.task_name), i));
    const params = parseRoute().params;
    const named = params.get('task');
    if (named !== null) {
      const node = params.get('task_node');
      open = all.find((r) => r.task_name === named && (node === null || nodeKey(r.node_id) === node)) ?? null;
    }
    if (open) void this.detail.show(open, null);
    this.timeline.setRows(this.rows, this.run.time_start);
    this.exposed.loadMs = performance.now() - this.t0;
    this.exposed.shownAt = performance.now();
    this.filters.setNodes([...new Set(all.map((r) => r.node_id))]);
    this.table.setRows(this.rows);
    this.applyFilters(false);
    this.renderLegend();
    this.loaded = true;
    const from = Date.parse(params.get('from') ?? '');
    const to = Date.parse(params.get('to') ?? '');
    if (from < to) this.timeline.setWindow({ from, to });
    if (open) this.selectAndReveal(open);
    onParamsChange(() => this.fromUrl());
  }

  /**
   * Back or Forward to another state of this run (another task, tab or filter): taken in place from the
   * URL, the rows kept (showing the view again would fetch them anew).
   */
  private fromUrl(): void {
    const params = parseRoute().params;
    this.filters.fromParams(params);
    this.applyFilters(false);
    this.setTab(params.get('tab') === 'table' ? 'table' : 'timeline', false);
    const named = params.get('task');
    const node = params.get('task_node');
    const row = named === null ? undefined : this.rows.find((r) => r.task_name === named && (node === null || nodeKey(r.node_id) === node));
    if (row) {
      if (this.detail.open && this.detail.row === row) return;
      void this.detail.show(row, null);
      this.selectAndReveal(row);
    } else if (this.detail.open) this.detail.close();
  }

  /** Rows that changed (live): new ones are added, the others replaced. */
  apply(changed: Row[]): void {
    let newNode = false;
    for (const r of changed) {
      const k = rowKey(r.node_id, r.task_name);
      const i = this.index.get(k);
      if (i === undefined) {
        this.index.set(k, this.rows.length);
        this.rows.push(r);
        newNode = true;
      } else this.rows[i] = r;
    }
    this.timeline.update(changed);
    this.table.changed();
    if (newNode) this.filters.setNodes([...new Set(this.rows.map((r) => r.node_id))]);
    this.renderLegend();
  }

  /** The run's own head: number, status, times, message, uuid; and the page's title. */
  renderHead(): void {
    const run = this.run;
    setTitle(`Run #${run.id} ${run.status}`, this.cluster?.name || `cluster ${run.cluster}`);
    const uuid = h('code', { class: 'uuid', id: 'run-uuid', title: 'The run’s uuid (task_uuid)' }, run.uuid);
    this.head.replaceChildren(
      h(
        'h1',
        { tabindex: -1 },
        `Run #${run.id} `,
        h('span', { class: 'small' }, run.name),
        ' ',
        badge(run.status),
        run.dry_run ? h('span', { class: 'small' }, ' dry run') : '',
      ),
      h(
        'p',
        { class: 'muted run-times' },
        `started ${fmtTime(run.time_start)} · ${run.time_end ? `ended ${fmtTime(run.time_end)} · ` : ''}duration ${fmtDuration(durationMs(run.time_start, run.time_end))} · progress ${run.progress}%`,
      ),
      run.message ? h('p', { class: 'run-message', id: 'run-message' }, run.message) : '',
      h(
        'p',
        { class: 'muted small run-uuid' },
        'uuid ',
        uuid,
        ' ',
        h(
          'button',
          {
            type: 'button',
            class: 'copy',
            'aria-label': 'Copy the run’s uuid',
            onclick: (e: Event) => {
              const b = e.currentTarget as HTMLButtonElement;
              navigator.clipboard?.writeText(run.uuid).then(
                () => (b.textContent = 'Copied'),
                () => (b.textContent = 'Select the text to copy'),
              );
            },
          },
          'Copy',
        ),
      ),
    );
  }

  /** The run ended while shown (live): its header is computed again (final counts, path, regressions). */
  ended(): void {
    void this.header.load().catch(() => undefined);
  }

  /** A link to a task of this run (the contract's form); a plain click opens it here without reloading the view. */
  taskLink(node: string | null, task: string, text: string): HTMLElement {
    return h(
      'a',
      {
        href: this.taskHref(node, task),
        class: 'task-link',
        onclick: (e: MouseEvent) => {
          if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
          e.preventDefault();
          const row = this.row(node, task);
          if (row) this.openTask(row, e.currentTarget as HTMLElement, { push: true, reveal: true });
        },
      },
      text,
    );
  }

  private taskHref(node: string | null, task: string): string {
    const keep = parseRoute().params;
    keep.set('task', task);
    keep.set('task_node', nodeKey(node));
    return href(`/runs/${this.run.id}`, keep);
  }

  private row(node: string | null, task: string): Row | undefined {
    const i = this.index.get(rowKey(node, task));
    return i === undefined ? undefined : this.rows[i];
  }

  /** Opens a task: its detail, its bar selected (and brought into view), the URL naming it (a history entry). */
  openTask(row: Row, from: HTMLElement | null, opts: { push?: boolean; reveal?: boolean } = {}): void {
    setParams({ task: row.task_name, task_node: nodeKey(row.node_id) }, { push: opts.push });
    void this.detail.show(row, from);
    if (opts.reveal) this.selectAndReveal(row);
    else this.timeline.select(row);
  }

  private selectAndReveal(row: Row): void {
    this.timeline.select(row);
    this.timeline.reveal(row.node_id, row.task_name);
  }

  /** The filters changed (or were read from the URL): applied to the table and the timeline alike. */
  private applyFilters(write: boolean): void {
    const f = this.filters;
    if (write) setParams(f.toParams());
    this.table.setFilter(f.keep);
    this.timeline.setFilter(f.active ? f.keep : null);
    f.showSummary(this.table.shown, this.rows.length);
  }

  private emptyState(): HTMLElement {
    return h(
      'p',
      { class: 'empty', id: 'table-empty' },
      `No task matches: ${this.filters.describe()}. `,
      h('button', { type: 'button', onclick: () => this.filters.clear() }, 'Clear filters'),
    );
  }

  private renderTabs(): void {
    this.tabs.replaceChildren(
      ...(['timeline', 'table'] as const).map((t) =>
        h(
          'button',
          {
            type: 'button',
            'data-tab': t,
            class: t === this.tab ? 'active' : '',
            'aria-pressed': t === this.tab ? 'true' : 'false',
            onclick: () => this.setTab(t, true),
          },
          t === 'timeline' ? 'Timeline' : 'Table',
        ),
      ),
    );
  }

  private setTab(which: 'timeline' | 'table', write: boolean): void {
    this.tab = which;
    this.timelineBox.hidden = which !== 'timeline';
    this.tableBox.hidden = which !== 'table';
    for (const c of this.timelineControls) c.hidden = which !== 'timeline';
    this.renderTabs();
    if (which === 'table') this.table.fitHeight();
    if (write) setParams({ tab: which === 'table' ? 'table' : null });
  }

  /** The zoom window goes to the URL (`from`/`to`), once the user stops zooming or panning for a moment. */
  private watchWindow(): void {
    let timer = 0;
    this.timeline.view.onViewChange = () => {
      clearTimeout(timer);
      timer = window.setTimeout(() => {
        if (!this.loaded) return;
        const w = this.timeline.getWindow();
        setParams(w ? { from: new Date(w.from).toISOString(), to: new Date(w.to).toISOString() } : { from: null, to: null });
      }, 300);
    };
    onLeave(() => clearTimeout(timer));
  }

  /** Who the nodes are (roles, host names), for the timeline, the table, the filters, the detail. */
  private async loadNodes(): Promise<void> {
    try {
      const nodes = await getJson<RunNode[]>(`/transactions/${this.run.id}/nodes`, { signal: this.signal });
      for (const n of nodes) this.nodeInfo.set(n.node_id === 'null' ? null : n.node_id, { roles: n.roles, hostname: n.hostname });
    } catch {
      // Not known (an older service answers 404, or it failed): nodes are named by their ids only.
      return;
    }
    this.timeline.setNodeInfo(this.nodeInfo);
    this.table.nodeInfo = this.nodeInfo;
    this.table.refresh();
    this.filters.setNodes([...new Set(this.rows.map((r) => r.node_id))], this.nodeInfo);
  }

  /**
   * The cluster's run before this one, for the compare link (a link with only `b` when none): from the
   * cluster's runs, newest first, a page at a time (the run shown is most often among the newest).
   */
  private async findPrevious(): Promise<void> {
    const id = this.run.id;
    try {
      for (let page = 1, pages = 1; page <= pages; page++) {
        const p = await getJson<RunsPage>(`/clusters/${this.run.cluster}/runs?limit=200&page=${page}`, { signal: this.signal });
        pages = p.pages;
        const prev = p.runs.find((r) => r.id < id);
        if (prev) {
          this.compareLink.href = href(`/clusters/${this.run.cluster}/compare`, { a: prev.id, b: id });
          return;
        }
      }
      this.compareLink.textContent = 'Compare with another run';
    } catch {
      /* the link keeps only `b`: the compare view lets one pick the other run */
    }
  }

  /** A run recorded on a release before 9.0: its own head stays, and why there is no task history. */
  notRecorded(message: string): void {
    const release = /release '([^']+)'/.exec(message)?.[1] ?? this.cluster?.release ?? 'unknown';
    this.header.el.replaceChildren(
      h(
        'p',
        { class: 'note', id: 'not-recorded' },
        `Task history is not recorded for release ${release} (before 9.0): this run’s status, times and message are all there is.`,
      ),
    );
    for (const el of [this.filters.el, this.tabs.parentElement!, this.timelineBox.parentElement!.parentElement!]) el.hidden = true;
  }

  /** The counts per status (on the status filter's buttons: the colours' legend too) and the filter summary. */
  private renderLegend(): void {
    const stats = this.timeline.stats;
    this.filters.setCounts(stats.byStatus);
    this.filters.lanes = stats.lanes.length;
    this.filters.showSummary(this.table.shown, this.rows.length);
    this.timelineBox.dataset.bars = JSON.stringify({ total: stats.total, ...stats.byStatus });
  }
}

async function exportCsv(id: number): Promise<void> {
  try {
    const res = await request(`/transactions/${id}/deployment_history`, { accept: 'text/csv' });
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `transaction-${id}-deployment-history.csv`, hidden: true });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) {
    showError(e);
  }
}
