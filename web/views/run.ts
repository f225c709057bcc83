import { getJson, isLive, request, type Cluster, type Row, type Transaction } from '../api';
import { durationMs, fmtDuration, fmtTime, h } from '../dom';
import { statusColor } from '../status';
import { RowTable } from '../table';
import { rowKey, Timeline, type TimelineStats } from '../timeline/timeline';
import { showCompare } from './compare';
import { app, badge, onLeave, setCrumbs, showError, tooltip } from './page';
import { followRun } from './run-live';
import { showTaskDetail } from './task-detail';

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
  loadMs: number | null;
  live: boolean;
  streamEvents?: number;
}

/** One run: its head, the timeline and the table of its rows, a task's detail, the comparison with the previous run. */
export async function runView(id: number): Promise<void> {
  const abort = new AbortController();
  onLeave(() => abort.abort());
  const t0 = performance.now();
  const run = await getJson<Transaction>(`/transactions/${id}`);
  const cluster = await getJson<Cluster>(`/clusters/${run.cluster}`).catch(() => null);
  setCrumbs(['Clusters', '#/'], [cluster?.name || `cluster ${run.cluster}`, `#/clusters/${run.cluster}`], [`run #${id}`, null]);
  const screen = new RunScreen(run, t0);

  if (!isLive(run)) {
    screen.load(await getJson<Row[]>(`/transactions/${id}/deployment_history`, { signal: abort.signal }));
    screen.status.textContent = '';
    return;
  }
  await followRun(screen, abort.signal);
}

/** The run's view on the page, and its rows: loaded whole, then changed (live) a few at a time. */
export class RunScreen {
  readonly head = h('div', { class: 'run-head' });
  readonly legend = h('div', { class: 'legend', id: 'legend' });
  readonly detail = h('aside', { class: 'detail', id: 'detail', hidden: true });
  readonly compare = h('section', { class: 'compare', id: 'compare', hidden: true });
  readonly timelineBox = h('div', { class: 'timeline-box', id: 'timeline' });
  readonly status = h('span', { class: 'muted', id: 'live-status' });
  readonly table = new RowTable((r) => this.showDetail(r));
  readonly timeline: Timeline;
  readonly exposed: Exposed;
  private rows: Row[] = [];
  private readonly index = new Map<string, number>();

  constructor(
    public run: Transaction,
    private readonly t0: number,
  ) {
    const tableBox = h('div', { class: 'table-box', id: 'table', hidden: true }, this.table.el);
    app.replaceChildren(
      this.head,
      this.toolbar(tableBox),
      this.legend,
      h('div', { class: 'run-body' }, h('div', { class: 'run-main' }, this.timelineBox, tableBox), this.detail),
      this.compare,
    );
    const timeline = (this.timeline = new Timeline(this.timelineBox, tooltip, (r) => this.showDetail(r)));
    this.exposed = {
      stats: timeline.stats,
      bar: (node: string | null, task: string) => timeline.barBox(node, task),
      pixel: (x: number, y: number) => timeline.pixel(x, y),
      loadMs: null,
      live: false,
    };
    window.__timeline = this.exposed;
    this.renderHead();
  }

  /** All the run's rows (the first load). */
  load(all: Row[]): void {
    this.rows = all;
    this.index.clear();
    all.forEach((r, i) => this.index.set(rowKey(r.node_id, r.task_name), i));
    this.timeline.setRows(this.rows, this.run.time_start);
    this.exposed.loadMs = performance.now() - this.t0;
    this.table.setRows(this.rows);
    this.renderLegend();
  }

  /** Rows that changed (live): new ones are added, the others replaced. */
  apply(changed: Row[]): void {
    for (const r of changed) {
      const k = rowKey(r.node_id, r.task_name);
      const i = this.index.get(k);
      if (i === undefined) {
        this.index.set(k, this.rows.length);
        this.rows.push(r);
      } else this.rows[i] = r;
    }
    this.timeline.update(changed);
    this.table.changed();
    this.renderLegend();
  }

  renderHead(): void {
    const run = this.run;
    this.head.replaceChildren(
      h(
        'h1',
        {},
        `Run #${run.id} `,
        h('span', { class: 'small' }, run.name),
        ' ',
        badge(run.status),
        run.dry_run ? h('span', { class: 'muted small' }, ' dry run') : '',
      ),
      h(
        'p',
        { class: 'muted' },
        `started ${fmtTime(run.time_start)} · ${run.time_end ? `ended ${fmtTime(run.time_end)} · ` : ''}duration ${fmtDuration(durationMs(run.time_start, run.time_end))} · progress ${run.progress}%`,
        run.message ? ` · ${run.message}` : '',
      ),
    );
  }

  private renderLegend(): void {
    const stats = this.timeline.stats;
    this.legend.replaceChildren(
      `${stats.total} tasks on ${stats.lanes.length} rows: `,
      ...Object.entries(stats.byStatus).map(([s, n]) =>
        h('span', { class: 'legend-item', 'data-status': s }, h('i', { class: 'dot', style: { background: statusColor(s) } }), `${s} ${n}`),
      ),
    );
    this.timelineBox.dataset.bars = JSON.stringify({ total: stats.total, ...stats.byStatus });
  }

  private showDetail(row: Row): void {
    void showTaskDetail(this.detail, this.run.id, row, this.timeline);
  }

  /** The tabs (timeline or table) and the run's actions. */
  private toolbar(tableBox: HTMLElement): HTMLElement {
    const tabs = h('div', { class: 'tabs' });
    const setTab = (which: 'timeline' | 'table') => {
      this.timelineBox.hidden = which !== 'timeline';
      tableBox.hidden = which !== 'table';
      for (const b of tabs.children) b.classList.toggle('active', (b as HTMLElement).dataset.tab === which);
    };
    tabs.append(
      h('button', { 'data-tab': 'timeline', class: 'active', onclick: () => setTab('timeline') }, 'Timeline'),
      h('button', { 'data-tab': 'table', onclick: () => setTab('table') }, 'Table'),
    );
    const id = this.run.id;
    return h(
      'div',
      { class: 'toolbar' },
      tabs,
      h('button', { id: 'fit', onclick: () => this.timeline.reset(), title: 'Fit the whole run (or double-click the timeline)' }, 'Fit'),
      h('button', { id: 'export-csv', onclick: () => void exportCsv(id) }, 'Export CSV'),
      h('button', { id: 'compare-prev', onclick: () => void showCompare(this.run, this.compare) }, 'Compare with previous run'),
      this.status,
      h('span', { class: 'muted small hint' }, 'wheel: zoom · drag: pan · shift+wheel: scroll nodes · click: details'),
    );
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
