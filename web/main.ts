import {
  getJson,
  HttpError,
  isLive,
  request,
  taskPath,
  token,
  type Cluster,
  type Diff,
  type Row,
  type Summary,
  type TaskDetail,
  type Transaction,
} from './api';
import { openStream } from './sse';
import { RowTable } from './table';
import { COLORS, rowKey, Timeline } from './timeline';
import { clear, durationMs, fmtDuration, fmtTime, h } from './dom';

const app = document.getElementById('app')!;
const crumbs = document.getElementById('crumbs')!;
const tooltip = document.getElementById('tooltip')!;
const logout = document.getElementById('logout') as HTMLButtonElement;

/** What the current view holds open (the live stream, timers); closed when the route changes. */
let cleanup: Array<() => void> = [];

declare global {
  interface Window {
    __timeline?: unknown;
  }
}

function badge(status: string) {
  return h('span', { class: `badge s-${status}`, style: { background: (COLORS as Record<string, string>)[status] ?? '#64748b' } }, status);
}

function setCrumbs(...parts: Array<[string, string | null]>) {
  crumbs.replaceChildren(...parts.flatMap(([label, href], i) => [i ? ' / ' : '', href ? h('a', { href }, label) : h('span', {}, label)]));
}

async function route(): Promise<void> {
  for (const c of cleanup) c();
  cleanup = [];
  tooltip.hidden = true;
  logout.hidden = !token.get();
  const hash = location.hash.replace(/^#/, '') || '/';
  let m: RegExpMatchArray | null;
  try {
    if ((m = hash.match(/^\/clusters\/(\d+)$/))) await clusterView(Number(m[1]));
    else if ((m = hash.match(/^\/runs\/(\d+)$/))) await runView(Number(m[1]));
    else await clustersView();
  } catch (e) {
    showError(e);
  }
}

function showError(e: unknown): void {
  if (e instanceof HttpError && e.status === 401) return tokenForm(!!token.get());
  if (e instanceof DOMException && e.name === 'AbortError') return;
  app.replaceChildren(
    h('div', { class: 'error-box' }, h('b', {}, 'Error: '), e instanceof Error ? e.message : String(e)),
    h('p', {}, h('a', { href: '#/' }, 'Back to the clusters')),
  );
}

function tokenForm(rejected: boolean): void {
  setCrumbs(['Sign in', null]);
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', placeholder: 'API token', required: true, size: 48 });
  const form = h(
    'form',
    {
      class: 'token-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        token.set(input.value.trim());
        void route();
      },
    },
    h('h2', {}, 'This service needs a token'),
    h('p', { class: 'muted' }, 'Enter a read (or admin) token. It is kept for this browser tab only (sessionStorage).'),
    rejected ? h('p', { class: 'error-box' }, 'The token was not accepted.') : null,
    input,
    ' ',
    h('button', { type: 'submit' }, 'Use token'),
  );
  app.replaceChildren(form);
  input.focus();
}

async function clustersView(): Promise<void> {
  setCrumbs(['Clusters', null]);
  const clusters = await getJson<Cluster[]>('/clusters');
  app.replaceChildren(
    h('h1', {}, 'Clusters'),
    clusters.length
      ? h(
          'table',
          { class: 'list', id: 'clusters' },
          h(
            'thead',
            {},
            h('tr', {}, ...['Id', 'Name', 'Release', 'Runs', 'In progress', 'Task rows', 'Latest run'].map((t) => h('th', {}, t))),
          ),
          h(
            'tbody',
            {},
            ...clusters.map((c) =>
              h(
                'tr',
                { 'data-cluster': c.id },
                h('td', {}, c.id),
                h('td', {}, h('a', { href: `#/clusters/${c.id}` }, c.name || `cluster ${c.id}`)),
                h('td', {}, c.release, c.history_enabled ? '' : h('span', { class: 'muted' }, ' (no task history before 9.0)')),
                h('td', {}, c.transactions),
                h('td', {}, c.running_transactions),
                h('td', {}, c.history_rows),
                h('td', {}, c.last_transaction_id ? h('a', { href: `#/runs/${c.last_transaction_id}` }, `#${c.last_transaction_id}`) : '—'),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No cluster yet: runs appear here once the orchestrator reports them.'),
  );
}

async function clusterView(id: number): Promise<void> {
  const [cluster, runs] = await Promise.all([
    getJson<Cluster>(`/clusters/${id}`),
    getJson<Transaction[]>(`/transactions?cluster_id=${id}`),
  ]);
  setCrumbs(['Clusters', '#/'], [cluster.name || `cluster ${id}`, null]);
  runs.sort((a, b) => b.id - a.id);
  const rows = runs.map((t) => {
    const counts = h('td', { class: 'counts' }, cluster.history_enabled ? '…' : '—');
    const tr = h(
      'tr',
      { 'data-run': t.id, 'data-status': t.status },
      h('td', {}, h('a', { href: `#/runs/${t.id}` }, `#${t.id}`)),
      h('td', {}, t.name, t.dry_run ? ' (dry run)' : ''),
      h('td', {}, badge(t.status), t.status === 'running' ? ` ${t.progress}%` : ''),
      h('td', {}, fmtTime(t.time_start)),
      h('td', {}, fmtDuration(durationMs(t.time_start, t.time_end))),
      counts,
      h('td', {}, t.epoch),
    );
    return { t, tr, counts };
  });
  app.replaceChildren(
    h('h1', {}, cluster.name || `Cluster ${id}`, ' ', h('span', { class: 'muted small' }, `${cluster.release} · epoch ${cluster.epoch}`)),
    runs.length
      ? h(
          'table',
          { class: 'list', id: 'runs' },
          h(
            'thead',
            {},
            h('tr', {}, ...['Run', 'Name', 'Status', 'Started (UTC)', 'Duration', 'Tasks', 'Epoch'].map((x) => h('th', {}, x))),
          ),
          h('tbody', {}, ...rows.map((r) => r.tr)),
        )
      : h('p', { class: 'muted' }, 'No run yet.'),
  );
  if (!cluster.history_enabled) return;
  // Counts per status, a few runs at a time (newest first).
  const queue = rows.slice(0, 100);
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      try {
        const s = await getJson<Summary>(`/transactions/${r.t.id}/deployment_history/summary`);
        r.counts.replaceChildren(
          `${s.total} `,
          ...Object.entries(s.statuses)
            .filter(([, n]) => n > 0)
            .map(([st, n]) =>
              h('span', { class: 'count', title: st, style: { color: (COLORS as Record<string, string>)[st] } }, `${st} ${n} `),
            ),
        );
      } catch {
        r.counts.textContent = '—';
      }
    }
  };
  void Promise.all([worker(), worker(), worker(), worker()]);
}

async function runView(id: number): Promise<void> {
  const abort = new AbortController();
  cleanup.push(() => abort.abort());
  const t0 = performance.now();
  let run = await getJson<Transaction>(`/transactions/${id}`);
  const cluster = await getJson<Cluster>(`/clusters/${run.cluster}`).catch(() => null);
  setCrumbs(['Clusters', '#/'], [cluster?.name || `cluster ${run.cluster}`, `#/clusters/${run.cluster}`], [`run #${id}`, null]);

  const head = h('div', { class: 'run-head' });
  const legend = h('div', { class: 'legend', id: 'legend' });
  const detail = h('aside', { class: 'detail', id: 'detail', hidden: true });
  const compare = h('section', { class: 'compare', id: 'compare', hidden: true });
  const timelineBox = h('div', { class: 'timeline-box', id: 'timeline' });
  const status = h('span', { class: 'muted', id: 'live-status' });
  let rows: Row[] = [];
  const index = new Map<string, number>();

  const showDetail = async (row: Row) => {
    detail.hidden = false;
    timeline.select(row);
    detail.replaceChildren(h('h3', {}, row.task_name), h('p', { class: 'muted' }, 'Loading…'));
    try {
      const d = await getJson<TaskDetail>(taskPath(id, row.node_id, row.task_name));
      const dl = h('dl');
      const item = (k: string, v: Node | string) => dl.append(h('dt', {}, k), h('dd', {}, v));
      item('node', d.node_id ?? 'cluster (null)');
      item('status', badge(d.status));
      item('type', d.type ?? '—');
      item('start', fmtTime(d.time_start));
      item('end', fmtTime(d.time_end));
      item('duration', d.duration_s === null ? '—' : fmtDuration(d.duration_s * 1000));
      if (d.error_message) item('error', h('pre', { class: 'err' }, d.error_message));
      if (d.closed_reason) item('closed', d.closed_reason);
      detail.replaceChildren(
        h('button', { class: 'close', title: 'Close', onclick: () => ((detail.hidden = true), timeline.select(null)) }, '×'),
        h('h3', {}, d.task_name),
        dl,
        h('h4', {}, 'Summary'),
        h('pre', {}, d.summary ? JSON.stringify(d.summary, null, 2) : '—'),
        ...(Object.keys(d.custom ?? {}).length ? [h('h4', {}, 'Custom'), h('pre', {}, JSON.stringify(d.custom, null, 2))] : []),
        h('h4', {}, 'Graph definition'),
        h('pre', { class: 'definition' }, d.definition ? JSON.stringify(d.definition, null, 2) : 'not announced by the run'),
      );
    } catch (e) {
      detail.replaceChildren(h('p', { class: 'error-box' }, e instanceof Error ? e.message : String(e)));
    }
  };

  const table = new RowTable((r) => void showDetail(r));
  const tabs = h('div', { class: 'tabs' });
  const tableBox = h('div', { class: 'table-box', id: 'table', hidden: true }, table.el);
  const setTab = (which: 'timeline' | 'table') => {
    timelineBox.hidden = which !== 'timeline';
    tableBox.hidden = which !== 'table';
    for (const b of tabs.children) b.classList.toggle('active', (b as HTMLElement).dataset.tab === which);
  };
  tabs.append(
    h('button', { 'data-tab': 'timeline', class: 'active', onclick: () => setTab('timeline') }, 'Timeline'),
    h('button', { 'data-tab': 'table', onclick: () => setTab('table') }, 'Table'),
  );

  const toolbar = h(
    'div',
    { class: 'toolbar' },
    tabs,
    h('button', { id: 'fit', onclick: () => timeline.reset(), title: 'Fit the whole run (or double-click the timeline)' }, 'Fit'),
    h('button', { id: 'export-csv', onclick: () => void exportCsv(id) }, 'Export CSV'),
    h('button', { id: 'compare-prev', onclick: () => void showCompare(run, compare) }, 'Compare with previous run'),
    status,
    h('span', { class: 'muted small hint' }, 'wheel: zoom · drag: pan · shift+wheel: scroll nodes · click: details'),
  );

  app.replaceChildren(
    head,
    toolbar,
    legend,
    h('div', { class: 'run-body' }, h('div', { class: 'run-main' }, timelineBox, tableBox), detail),
    compare,
  );
  const timeline = new Timeline(timelineBox, tooltip, (r) => void showDetail(r));
  window.__timeline = {
    stats: timeline.stats,
    bar: (node: string | null, task: string) => timeline.barBox(node, task),
    pixel: (x: number, y: number) => timeline.pixel(x, y),
    loadMs: null as number | null,
    live: false,
  };
  const exposed = window.__timeline as { loadMs: number | null; live: boolean; streamEvents?: number };

  const renderHead = () => {
    head.replaceChildren(
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
  };
  const renderLegend = () => {
    legend.replaceChildren(
      `${timeline.stats.total} tasks on ${timeline.stats.lanes.length} rows: `,
      ...Object.entries(timeline.stats.byStatus).map(([s, n]) =>
        h(
          'span',
          { class: 'legend-item', 'data-status': s },
          h('i', { class: 'dot', style: { background: (COLORS as Record<string, string>)[s] } }),
          `${s} ${n}`,
        ),
      ),
    );
    timelineBox.dataset.bars = JSON.stringify({ total: timeline.stats.total, ...timeline.stats.byStatus });
  };
  renderHead();

  const load = (all: Row[]) => {
    rows = all;
    index.clear();
    all.forEach((r, i) => index.set(rowKey(r.node_id, r.task_name), i));
    timeline.setRows(rows, run.time_start);
    exposed.loadMs = performance.now() - t0;
    table.setRows(rows);
    renderLegend();
  };
  const apply = (changed: Row[]) => {
    for (const r of changed) {
      const k = rowKey(r.node_id, r.task_name);
      const i = index.get(k);
      if (i === undefined) {
        index.set(k, rows.length);
        rows.push(r);
      } else rows[i] = r;
    }
    timeline.update(changed);
    table.changed();
    renderLegend();
  };

  if (!isLive(run)) {
    load(await getJson<Row[]>(`/transactions/${id}/deployment_history`, { signal: abort.signal }));
    status.textContent = '';
    return;
  }

  // Live: the stream sends every row first, then only the rows that changed.
  timeline.live = exposed.live = true;
  const ticker = setInterval(() => timeline.tick(), 1000);
  cleanup.push(() => clearInterval(ticker));
  let lastId: string | undefined;
  let first = true;
  let ended = false;
  /** The run was deleted while shown (the stream's last event): what was drawn stays, marked as gone. */
  let deleted = false;
  /** The first rows, as they come in pages (only the last one has an id), drawn once all are in. */
  let firstRows: Row[] = [];
  let pause = 1000;
  exposed.streamEvents = 0;
  const connect = async (): Promise<void> => {
    status.textContent = '● live';
    status.className = 'live';
    firstRows = [];
    await openStream(
      `/transactions/${id}/deployment_history/stream`,
      (e) => {
        if (e.id) lastId = e.id;
        exposed.streamEvents = (exposed.streamEvents ?? 0) + 1;
        if (e.type === 'rows') {
          const data = JSON.parse(e.data) as Row[];
          if (!first) apply(data);
          else {
            for (const r of data) firstRows.push(r);
            if (e.id) {
              load(firstRows);
              firstRows = [];
              first = false;
            }
          }
        } else if (e.type === 'transaction' || e.type === 'end') {
          run = { ...run, ...(JSON.parse(e.data) as Partial<Transaction>) };
          renderHead();
          if (e.type === 'end') ended = true;
        } else if (e.type === 'deleted') {
          // Nothing left to follow or resume: the run is gone with its history.
          ended = deleted = true;
        } else if (e.type === 'shutdown') {
          // The service is stopping and ends the stream: resume from the last id once it is back.
          status.textContent = '○ service restarting: reconnecting…';
          status.className = 'muted';
          pause = Math.max(pause, Number((JSON.parse(e.data) as { retry_ms?: number }).retry_ms) || 0);
        }
      },
      abort.signal,
      lastId,
    );
  };
  for (let attempt = 0; !ended && !abort.signal.aborted; attempt++) {
    try {
      await connect();
    } catch (e) {
      if (abort.signal.aborted) return;
      // 429: too many live views open on the service (or for this token); try again later.
      if (e instanceof HttpError && e.status !== 503 && e.status !== 429 && e.status < 500) throw e;
      status.textContent = e instanceof HttpError && e.status === 429 ? '○ too many live views open: retrying…' : '○ reconnecting…';
      status.className = 'muted';
      await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * 2 ** Math.min(attempt, 4))));
      continue;
    }
    if (!ended && !abort.signal.aborted) await new Promise((r) => setTimeout(r, pause));
    pause = 1000;
  }
  if (abort.signal.aborted) return;
  clearInterval(ticker);
  timeline.live = exposed.live = false;
  timeline.tick();
  status.textContent = deleted ? 'this run was deleted: what is shown is what it held then' : `run ended: ${run.status}`;
  status.className = deleted ? 'gone' : 'muted';
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

async function showCompare(run: Transaction, box: HTMLElement): Promise<void> {
  box.hidden = false;
  box.replaceChildren(h('h2', {}, 'Compared with the previous run'), h('p', { class: 'muted' }, 'Loading…'));
  try {
    const runs = await getJson<Transaction[]>(`/transactions?cluster_id=${run.cluster}`);
    const prev = runs.filter((t) => t.id < run.id).sort((a, b) => b.id - a.id)[0];
    if (!prev) {
      box.replaceChildren(
        h('h2', {}, 'Compared with the previous run'),
        h('p', { class: 'muted', id: 'no-previous' }, 'This is the cluster’s first run: nothing to compare with.'),
      );
      return;
    }
    const d = await getJson<Diff>(`/transactions/${prev.id}/diff/${run.id}`);
    const node = (n: string | null) => n ?? 'cluster';
    const list = (title: string, items: Array<{ node_id: string | null; task_name: string; status: string }>, cls: string) =>
      h(
        'div',
        { class: cls },
        h('h3', {}, `${title} (${items.length})`),
        items.length
          ? h(
              'table',
              { class: 'list' },
              h(
                'tbody',
                {},
                ...items
                  .slice(0, 500)
                  .map((r) => h('tr', {}, h('td', {}, node(r.node_id)), h('td', {}, r.task_name), h('td', {}, badge(r.status)))),
              ),
            )
          : h('p', { class: 'muted' }, 'none'),
      );
    box.replaceChildren(
      h('button', { class: 'close', onclick: () => (box.hidden = true) }, '×'),
      h('h2', {}, 'Run ', h('a', { href: `#/runs/${prev.id}` }, `#${prev.id}`), ` (${prev.status}) → run #${run.id} (${run.status})`),
      h(
        'div',
        { class: 'changed' },
        h('h3', {}, `Status changed (${d.changed.length})`),
        d.changed.length
          ? h(
              'table',
              { class: 'list', id: 'diff-changed' },
              h('thead', {}, h('tr', {}, h('th', {}, 'Node'), h('th', {}, 'Task'), h('th', {}, `#${prev.id}`), h('th', {}, `#${run.id}`))),
              h(
                'tbody',
                {},
                ...d.changed
                  .slice(0, 1000)
                  .map((c) =>
                    h(
                      'tr',
                      {},
                      h('td', {}, node(c.node_id)),
                      h('td', {}, c.task_name),
                      h('td', {}, badge(c.status)),
                      h('td', {}, badge(c.other_status)),
                    ),
                  ),
              ),
            )
          : h('p', { class: 'muted' }, 'No task changed status.'),
      ),
      list(`Only in #${prev.id}`, d.only_in_transaction, 'only'),
      list(`Only in #${run.id}`, d.only_in_other, 'only'),
    );
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) return showError(e);
    box.replaceChildren(h('p', { class: 'error-box' }, e instanceof Error ? e.message : String(e)));
  }
}

logout.addEventListener('click', () => {
  token.clear();
  void route();
});
window.addEventListener('hashchange', () => void route());
void route();
clear(tooltip);
