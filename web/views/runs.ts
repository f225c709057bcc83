import { nodeLabel } from '../../src/common/node-order';
import { getJson, type Cluster, type RunListItem, type RunsPage, type RunStatus } from '../api';
import { append, durationMs, fmtDuration, fmtTime, h, listTable } from '../dom';
import { RUN_STATUSES, statusColor } from '../status';
import { href, listParam, parseRoute, setParams, setTitle, taskHref } from '../url';
import { app, badge, keepFresh, keepingFocus, serviceDown, serviceDownError, serviceUp, setCrumbs, showError, viewAlive } from './page';

/** A failure's message as the list shows it (the whole text is the cell's title). */
const clip = (s: string) => (s.length > 90 ? `${s.slice(0, 89)}…` : s);

/** Runs per page of the list. */
const PAGE_SIZE = 50;

/**
 * A cluster's runs, newest first, a page at a time (`?page=`), filtered by run status (`?statuses=`),
 * each with its task counts and first failure from the list's own answer (no request per run);
 * refreshed while shown, keeping the page, the filter and the focus.
 */
export async function clusterView(id: number): Promise<void> {
  const alive = viewAlive();
  const { params } = parseRoute();
  const state = {
    statuses: listParam(params, 'statuses').filter((s): s is RunStatus => (RUN_STATUSES as readonly string[]).includes(s)),
    page: Math.max(1, Math.floor(Number(params.get('page'))) || 1),
  };
  /** Answers are drawn only if no newer request was made since (a refresh started before the user changed the filter is dropped). */
  let asked = 0;
  const fetchPage = async (): Promise<RunsPage | null> => {
    const mine = ++asked;
    const p = await getJson<RunsPage>(
      `/clusters/${id}/runs?${new URLSearchParams({ limit: String(PAGE_SIZE), page: String(state.page), ...(state.statuses.length ? { statuses: state.statuses.join(',') } : {}) })}`,
    );
    return mine === asked ? p : null;
  };
  const [cluster, first] = await Promise.all([getJson<Cluster>(`/clusters/${id}`), fetchPage()]);
  if (!alive() || !first) return;
  const name = cluster.name || `cluster ${id}`;
  setCrumbs(['Clusters', '#/'], [name, null]);
  setTitle(`${name} — runs`);

  const updated = h('span', { class: 'muted small updated', id: 'runs-updated' });
  const body = h('div', { class: 'list-body' });
  app.replaceChildren();
  append(
    app,
    h(
      'div',
      { class: 'list-head' },
      h('h1', {}, name, ' ', h('span', { class: 'muted small' }, `${cluster.release} · epoch ${cluster.epoch}`)),
      updated,
    ),
    cluster.history_enabled
      ? null
      : h(
          'p',
          { class: 'note', id: 'history-note' },
          `Release ${cluster.release} is older than 9.0: its runs are listed, but no task history was recorded for them.`,
        ),
    cluster.transactions > 1
      ? h('p', {}, h('a', { href: href(`/clusters/${id}/compare`), id: 'compare-link' }, 'Compare two runs of this cluster'))
      : null,
    body,
  );

  let shown = '';
  const draw = (p: RunsPage | null) => {
    if (!p) return;
    const text = JSON.stringify(p);
    if (text === shown) return;
    shown = text;
    keepingFocus(() => body.replaceChildren(...runsPage(p, state.statuses, go)));
  };
  /** The user changed the page or the filter: in the URL, then drawn from a new answer. */
  const go = (change: { page?: number; statuses?: RunStatus[] }) => {
    if (change.statuses) state.statuses = change.statuses;
    state.page = change.page ?? (change.statuses ? 1 : state.page);
    setParams({ page: state.page > 1 ? state.page : null, statuses: state.statuses.join(',') || null });
    body.setAttribute('aria-busy', 'true');
    fetchPage()
      .then((p) => {
        if (!alive()) return;
        serviceUp();
        draw(p);
      })
      .catch((e: unknown) => alive() && (serviceDownError(e) ? serviceDown(() => go({})) : showError(e)))
      .finally(() => body.removeAttribute('aria-busy'));
  };
  draw(first);
  keepFresh(async () => {
    const p = await fetchPage();
    if (alive()) draw(p);
  }, updated);
}

/** The filter, the table (or why it is empty) and the page links, for one answer. */
function runsPage(p: RunsPage, statuses: RunStatus[], go: (c: { page?: number; statuses?: RunStatus[] }) => void): Node[] {
  const all = RUN_STATUSES.reduce((n, s) => n + (p.by_status[s] ?? 0), 0);
  const from = (p.page - 1) * p.limit + 1;
  const to = from + p.runs.length - 1;
  const filter = h(
    'div',
    { class: 'status-filter', role: 'group', 'aria-labelledby': 'status-filter-label' },
    h('span', { id: 'status-filter-label' }, 'Run status:'),
    ...RUN_STATUSES.map((s) => {
      const on = statuses.includes(s);
      return h(
        'button',
        {
          type: 'button',
          class: 'chip',
          'data-status': s,
          'data-focus': `status-${s}`,
          'aria-pressed': String(on),
          onclick: () =>
            go({ statuses: on ? statuses.filter((x) => x !== s) : RUN_STATUSES.filter((x) => x === s || statuses.includes(x)) }),
        },
        h('i', { class: 'dot', 'aria-hidden': 'true', style: { background: statusColor(s) } }),
        `${s} `,
        h('span', { class: 'chip-count' }, p.by_status[s] ?? 0),
      );
    }),
    statuses.length
      ? h(
          'button',
          { type: 'button', class: 'chip clear', id: 'clear-filter', 'data-focus': 'status-all', onclick: () => go({ statuses: [] }) },
          `All ${all}`,
        )
      : null,
  );
  const what = statuses.length ? `runs with status ${statuses.join(' or ')}` : 'runs';
  const summary = h(
    'p',
    { class: 'muted small', id: 'runs-summary', role: 'status' },
    p.runs.length ? `${from}–${to} of ${p.total} ${what}` : `${p.total} ${what}`,
  );
  let table: HTMLElement;
  if (p.runs.length)
    table = listTable(
      'runs',
      ['Run', 'Status', 'Name', 'Started (UTC)', 'Duration', 'Tasks', 'First failure', 'Epoch'],
      p.runs.map(runRow),
      'Runs',
    );
  else if (!all) table = h('p', { class: 'empty', id: 'no-runs' }, 'No run yet: runs appear here once the orchestrator starts one.');
  else if (!p.total)
    table = h(
      'p',
      { class: 'empty', id: 'no-runs' },
      `No run with status ${statuses.join(' or ')}. `,
      h('button', { type: 'button', 'data-focus': 'empty-all', onclick: () => go({ statuses: [] }) }, 'Show all runs'),
    );
  else
    table = h(
      'p',
      { class: 'empty', id: 'no-runs' },
      `Page ${p.page} is past the last page (${p.pages}). `,
      h('button', { type: 'button', 'data-focus': 'empty-last', onclick: () => go({ page: p.pages }) }, `Go to page ${p.pages}`),
    );
  const pages = pager(p, go);
  return pages ? [filter, summary, table, pages] : [filter, summary, table];
}

/** First / previous / "Page 2 of 7" / next / last: buttons (the page is in the URL, kept on refresh). */
function pager(p: RunsPage, go: (c: { page: number }) => void): HTMLElement | null {
  if (p.pages <= 1 && p.page <= 1) return null;
  const last = Math.max(1, p.pages);
  const button = (label: string, key: string, page: number, enabled: boolean) =>
    h('button', { type: 'button', 'data-focus': `page-${key}`, 'data-page': page, disabled: !enabled, onclick: () => go({ page }) }, label);
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages of runs' },
    button('« First', 'first', 1, p.page > 1),
    button('‹ Previous', 'prev', Math.min(p.page - 1, last), p.page > 1),
    h('span', { class: 'page-of', id: 'page-of' }, `Page ${p.page} of ${last}`),
    button('Next ›', 'next', p.page + 1, p.page < last),
    button('Last »', 'last', last, p.page < last),
  );
}

function runRow(t: RunListItem): HTMLTableRowElement {
  const f = t.first_failure;
  return h(
    'tr',
    { 'data-run': t.id, 'data-status': t.status },
    h(
      'td',
      {},
      h('a', { href: href(`/runs/${t.id}`), 'data-focus': `run-${t.id}`, 'aria-label': `Run #${t.id} ${t.name} ${t.status}` }, `#${t.id}`),
    ),
    h('td', {}, badge(t.status), t.status === 'running' ? ` ${t.progress}%` : ''),
    h('td', {}, t.name, t.dry_run ? h('span', { class: 'muted' }, ' (dry run)') : ''),
    h('td', {}, fmtTime(t.time_start)),
    h('td', {}, fmtDuration(durationMs(t.time_start, t.time_end))),
    h(
      'td',
      { class: 'counts' },
      ...(t.tasks
        ? [
            `${t.tasks.total} `,
            ...Object.entries(t.tasks.statuses)
              .filter(([, n]) => n > 0)
              .map(([st, n]) =>
                h(
                  'span',
                  { class: 'count' },
                  h('i', { class: 'dot', 'aria-hidden': 'true', style: { background: statusColor(st) } }),
                  `${st} ${n} `,
                ),
              ),
          ]
        : [h('span', { class: 'muted', title: 'no task history before 9.0' }, '—')]),
    ),
    h(
      'td',
      { class: 'failure' },
      f
        ? h(
            'span',
            { class: 'failure-cell' },
            h(
              'a',
              { href: taskHref(t.id, f.node_id, f.task_name), 'data-focus': `fail-${t.id}` },
              `${f.task_name} on ${nodeLabel(f.node_id)}`,
            ),
            f.error_message ? h('span', { class: 'err-text', title: f.error_message }, clip(f.error_message)) : null,
          )
        : '',
    ),
    h('td', {}, t.epoch),
  );
}
