import { getJson, type Cluster } from '../api';
import { h, listTable } from '../dom';
import { app, setCrumbs } from './page';

/** Every cluster, with its counts and a link to its latest run. */
export async function clustersView(): Promise<void> {
  setCrumbs(['Clusters', null]);
  const clusters = await getJson<Cluster[]>('/clusters');
  app.replaceChildren(
    h('h1', {}, 'Clusters'),
    clusters.length
      ? listTable(
          'clusters',
          ['Id', 'Name', 'Release', 'Runs', 'In progress', 'Task rows', 'Latest run'],
          clusters.map((c) =>
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
        )
      : h('p', { class: 'muted' }, 'No cluster yet: runs appear here once the orchestrator reports them.'),
  );
}
