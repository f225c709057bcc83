import { compareNodes, nodeLabel } from '../../src/common/node-order';
import { getJson, type Cluster, type Diff, type Transaction } from '../api';
import { fmtTime, h, listTable } from '../dom';
import { href, parseRoute, setParams, setTitle, taskHref } from '../url';
import { app, badge, setCrumbs, showError, showNotFound, viewAlive } from './page';

type DiffOnlyRow = Diff['only_in_other'][number];
type DiffChangedRow = Diff['changed'][number];

/** Rows drawn at a time in each table of the comparison; "Show N more" draws the next ones (all reachable). */
const STEP = 500;

/** Task names compared as people read them: custom-step-2 before custom-step-11. */
const names = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });
/** Rows in the API's node order, then by task name (numeric-aware). */
const byNodeThenTask = (x: { node_id: string | null; task_name: string }, y: { node_id: string | null; task_name: string }) =>
  compareNodes(x.node_id, y.node_id) || names.compare(x.task_name, y.task_name);

/** A run as the picker names it. */
const runLabel = (t: Transaction) => `#${t.id} ${t.name} · ${t.status} · ${fmtTime(t.time_start)}`;

/**
 * Two runs of a cluster compared (`#/clusters/ID/compare?a=RUN&b=RUN`): a picker of the cluster's runs
 * (b defaults to the newest, a to the run before b), then every task whose status differs and the
 * tasks of only one of them, each a link to the task in its run.
 */
export async function compareView(clusterId: number): Promise<void> {
  const alive = viewAlive();
  const { params } = parseRoute();
  const [cluster, runs] = await Promise.all([
    getJson<Cluster>(`/clusters/${clusterId}`),
    getJson<Transaction[]>(`/transactions?cluster_id=${clusterId}`),
  ]);
  if (!alive()) return;
  runs.sort((x, y) => y.id - x.id);
  const name = cluster.name || `cluster ${clusterId}`;
  setCrumbs(['Clusters', '#/'], [name, href(`/clusters/${clusterId}`)], ['Compare', null]);
  const ids = new Set(runs.map((r) => r.id));
  const b = Number(params.get('b')) || runs[0]?.id;
  const a = Number(params.get('a')) || runs.find((r) => r.id < b)?.id;
  for (const [which, id] of [
    ['b', b],
    ['a', a],
  ] as const)
    if (params.get(which) && id && !ids.has(id)) return showNotFound(`Run #${id} of ${name}`);

  const result = h('div', { class: 'compare-result', id: 'compare-result' });
  const state = { a, b };
  const show = () => {
    setParams({ a: state.a ?? null, b: state.b ?? null });
    setTitle(state.a && state.b ? `Compare #${state.a} → #${state.b}` : 'Compare', name);
    void showDiff(runs, state.a, state.b, result, alive);
  };
  app.replaceChildren(h('h1', {}, 'Compare two runs of ', name), picker(runs, state, show), result);
  show();
}

/** The two labelled selects (A: the base, B: the run compared with it) and a swap button. */
function picker(runs: Transaction[], state: { a?: number; b?: number }, show: () => void): HTMLElement {
  const select = (id: string, value: number | undefined) =>
    h(
      'select',
      { id, name: id },
      value ? null : h('option', { value: '' }, '— pick a run —'),
      ...runs.map((t) => h('option', { value: String(t.id), selected: t.id === value }, runLabel(t))),
    );
  const selA = select('compare-a', state.a);
  const selB = select('compare-b', state.b);
  const changed = () => {
    state.a = Number(selA.value) || undefined;
    state.b = Number(selB.value) || undefined;
    show();
  };
  selA.addEventListener('change', changed);
  selB.addEventListener('change', changed);
  const swap = () => {
    [selA.value, selB.value] = [selB.value, selA.value];
    changed();
  };
  return h(
    'form',
    { class: 'compare-picker', onsubmit: (e: Event) => e.preventDefault() },
    h('div', { class: 'field' }, h('label', { for: 'compare-a' }, 'Base run (A)'), selA),
    h('div', { class: 'field' }, h('label', { for: 'compare-b' }, 'Compared run (B)'), selB),
    h('button', { type: 'button', id: 'compare-swap', onclick: swap, disabled: runs.length < 2 }, 'Swap A and B'),
  );
}

/** The comparison of runs a and b in `box` (or why there is none). */
async function showDiff(
  runs: Transaction[],
  a: number | undefined,
  b: number | undefined,
  box: HTMLElement,
  alive: () => boolean,
): Promise<void> {
  const empty = (text: string) => box.replaceChildren(h('p', { class: 'empty', id: 'no-previous' }, text));
  if (runs.length < 2) return empty('This cluster has only one run: nothing to compare with.');
  if (!b) return empty('Pick the run to compare (B).');
  if (!a) return empty(`Run #${b} is the cluster’s first run: pick another run (A) to compare it with.`);
  if (a === b) return empty('The same run is picked twice: pick two different runs.');
  box.setAttribute('aria-busy', 'true');
  box.replaceChildren(h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  try {
    const d = await getJson<Diff>(`/transactions/${a}/diff/${b}`);
    if (!alive() || Number(parseRoute().params.get('a')) !== a || Number(parseRoute().params.get('b')) !== b) return;
    box.replaceChildren(...diffSections(d, a, b));
  } catch (e) {
    if (alive()) showError(e);
  } finally {
    box.removeAttribute('aria-busy');
  }
}

function diffSections(d: Diff, a: number, b: number): HTMLElement[] {
  const changed = [...d.changed].sort(byNodeThenTask);
  const onlyA = [...d.only_in_transaction].sort(byNodeThenTask);
  const onlyB = [...d.only_in_other].sort(byNodeThenTask);
  const run = (t: Transaction) => h('a', { href: href(`/runs/${t.id}`) }, `#${t.id}`);
  return [
    h(
      'h2',
      { id: 'compare-heading' },
      'Run ',
      run(d.transaction),
      ' ',
      badge(d.transaction.status),
      ' → run ',
      run(d.other),
      ' ',
      badge(d.other.status),
    ),
    h(
      'p',
      { class: 'muted', id: 'compare-summary' },
      `${changed.length} tasks changed status · ${onlyA.length} only in #${a} · ${onlyB.length} only in #${b}`,
    ),
    section(
      'diff-changed',
      `Status changed (${changed.length})`,
      'No task changed status.',
      changed,
      ['Node', 'Task', `#${a}`, `#${b}`],
      (c) => changedRow(c, a, b),
    ),
    section('diff-only-a', `Only in #${a} (${onlyA.length})`, `No task only in #${a}.`, onlyA, ['Node', 'Task', 'Status'], (r) =>
      onlyRow(r, a),
    ),
    section('diff-only-b', `Only in #${b} (${onlyB.length})`, `No task only in #${b}.`, onlyB, ['Node', 'Task', 'Status'], (r) =>
      onlyRow(r, b),
    ),
  ];
}

function changedRow(c: DiffChangedRow, a: number, b: number): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-node': c.node_id ?? 'null', 'data-task': c.task_name },
    h('td', {}, nodeLabel(c.node_id)),
    h('td', {}, h('a', { href: taskHref(b, c.node_id, c.task_name) }, c.task_name)),
    h(
      'td',
      {},
      h(
        'a',
        { href: taskHref(a, c.node_id, c.task_name), class: 'badge-link', 'aria-label': `${c.task_name} in #${a}: ${c.status}` },
        badge(c.status),
      ),
    ),
    h(
      'td',
      {},
      h(
        'a',
        { href: taskHref(b, c.node_id, c.task_name), class: 'badge-link', 'aria-label': `${c.task_name} in #${b}: ${c.other_status}` },
        badge(c.other_status),
      ),
    ),
  );
}

function onlyRow(r: DiffOnlyRow, run: number): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-node': r.node_id ?? 'null', 'data-task': r.task_name },
    h('td', {}, nodeLabel(r.node_id)),
    h('td', {}, h('a', { href: taskHref(run, r.node_id, r.task_name) }, r.task_name)),
    h('td', {}, badge(r.status)),
  );
}

/** One table of the comparison, STEP rows at a time with "Show N more" (every row reachable, none dropped). */
function section<T>(
  id: string,
  title: string,
  none: string,
  items: T[],
  headers: string[],
  row: (item: T) => HTMLTableRowElement,
): HTMLElement {
  const box = h('section', { class: 'diff-section', 'aria-labelledby': `${id}-title` }, h('h3', { id: `${id}-title` }, title));
  if (!items.length) {
    box.append(h('p', { class: 'empty' }, none));
    return box;
  }
  const headerCells = headers;
  const table = listTable(id, headerCells, items.slice(0, STEP).map(row), title);
  const tbody = table.tBodies[0];
  let shown = Math.min(STEP, items.length);
  const more = h('button', { type: 'button', id: `${id}-more`, class: 'more' });
  const note = h('span', { class: 'muted small', id: `${id}-shown` });
  const tell = () => {
    note.textContent = `${shown} of ${items.length} shown`;
    more.textContent = `Show ${Math.min(STEP, items.length - shown)} more`;
    more.hidden = shown >= items.length;
    note.hidden = shown >= items.length;
  };
  more.addEventListener('click', () => {
    const next = items.slice(shown, shown + STEP).map(row);
    for (const tr of next) Array.from(tr.cells).forEach((td, i) => (td.dataset.label = headerCells[i]));
    tbody.append(...next);
    shown += next.length;
    tell();
    // Focus the first row drawn: a keyboard user carries on from there.
    next[0]?.querySelector('a')?.focus();
  });
  tell();
  box.append(table, h('p', { class: 'toolbar' }, more, note));
  return box;
}
