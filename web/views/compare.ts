import { getJson, HttpError, type Diff, type Transaction } from '../api';
import { h, listTable } from '../dom';
import { badge, showError } from './page';

type DiffOnlyRow = Diff['only_in_other'][number];

const node = (n: string | null) => n ?? 'cluster';

/** The tasks of one run only (at most 500 listed). */
function onlyIn(title: string, items: DiffOnlyRow[], cls: string): HTMLElement {
  return h(
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
}

/** The tasks whose status differs between the two runs (at most 1,000 listed). */
function changedIn(d: Diff, prev: Transaction, run: Transaction): HTMLElement {
  return h(
    'div',
    { class: 'changed' },
    h('h3', {}, `Status changed (${d.changed.length})`),
    d.changed.length
      ? listTable(
          'diff-changed',
          ['Node', 'Task', `#${prev.id}`, `#${run.id}`],
          d.changed
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
        )
      : h('p', { class: 'muted' }, 'No task changed status.'),
  );
}

/** The run compared with the cluster's previous run, in `box`. */
export async function showCompare(run: Transaction, box: HTMLElement): Promise<void> {
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
    box.replaceChildren(
      h('button', { class: 'close', onclick: () => (box.hidden = true) }, '×'),
      h('h2', {}, 'Run ', h('a', { href: `#/runs/${prev.id}` }, `#${prev.id}`), ` (${prev.status}) → run #${run.id} (${run.status})`),
      changedIn(d, prev, run),
      onlyIn(`Only in #${prev.id}`, d.only_in_transaction, 'only'),
      onlyIn(`Only in #${run.id}`, d.only_in_other, 'only'),
    );
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) return showError(e);
    box.replaceChildren(h('p', { class: 'error-box' }, e instanceof Error ? e.message : String(e)));
  }
}
