import { getJson, type Cluster } from '../api';
import { h, listTable } from '../dom';
import { href, setTitle } from '../url';
import { app, badge, keepFresh, keepingFocus, setCrumbs, viewAlive } from './page';

declare global {
  interface Window {
    /** What the lists expose to the browser tests: when the clusters list was first drawn (ms since navigation). */
    __lists?: { clustersDrawnMs?: number };
  }
}

/** Every cluster, with its counts and its last run (status and link); refreshed while shown. */
export async function clustersView(): Promise<void> {
  setCrumbs(['Clusters', null]);
  setTitle('Clusters');
  const alive = viewAlive();
  const clusters = await getJson<Cluster[]>('/clusters');
  if (!alive()) return;
  const updated = h('span', { class: 'muted small updated', id: 'clusters-updated', 'aria-live': 'off' });
  const body = h('div', { class: 'list-body' });
  app.replaceChildren(h('div', { class: 'list-head' }, h('h1', {}, 'Clusters'), updated), body);
  let shown = '';
  const draw = (list: Cluster[]) => {
    const text = JSON.stringify(list);
    if (text === shown) return;
    shown = text;
    keepingFocus(() => body.replaceChildren(clusterTable(list)));
  };
  draw(clusters);
  if (!window.__lists?.clustersDrawnMs) window.__lists = { ...window.__lists, clustersDrawnMs: performance.now() };
  keepFresh(async () => {
    const list = await getJson<Cluster[]>('/clusters');
    if (alive()) draw(list);
  }, updated);
}

function clusterTable(clusters: Cluster[]): HTMLElement {
  if (!clusters.length)
    return h('p', { class: 'empty', id: 'no-clusters' }, 'No cluster yet: clusters appear here once the orchestrator reports a run.');
  return listTable(
    'clusters',
    ['Id', 'Name', 'Release', 'Last run', 'Runs', 'In progress', 'Task rows'],
    clusters.map((c) =>
      h(
        'tr',
        { 'data-cluster': c.id },
        h('td', {}, c.id),
        h('td', {}, h('a', { href: href(`/clusters/${c.id}`), 'data-focus': `cluster-${c.id}` }, c.name || `cluster ${c.id}`)),
        h('td', {}, c.release, c.history_enabled ? '' : h('span', { class: 'muted history-note' }, ' (no task history before 9.0)')),
        h(
          'td',
          { class: 'last-run' },
          ...(c.last_transaction_id
            ? [
                h('a', { href: href(`/runs/${c.last_transaction_id}`), 'data-focus': `last-${c.id}` }, `#${c.last_transaction_id}`),
                ' ',
                c.last_transaction_status ? badge(c.last_transaction_status) : null,
              ]
            : ['—']),
        ),
        h('td', {}, c.transactions),
        h('td', {}, c.running_transactions),
        h('td', {}, c.history_rows),
      ),
    ),
    'Clusters',
  );
}
