import { getJson, type Cluster, type Summary, type Transaction } from '../api';
import { durationMs, fmtDuration, fmtTime, h, listTable } from '../dom';
import { statusColor } from '../status';
import { app, badge, setCrumbs } from './page';

interface RunLine {
  t: Transaction;
  tr: HTMLTableRowElement;
  counts: HTMLTableCellElement;
}

/** A cluster's runs, newest first, each with its counts per status (filled in as the summaries arrive). */
export async function clusterView(id: number): Promise<void> {
  const [cluster, runs] = await Promise.all([
    getJson<Cluster>(`/clusters/${id}`),
    getJson<Transaction[]>(`/transactions?cluster_id=${id}`),
  ]);
  setCrumbs(['Clusters', '#/'], [cluster.name || `cluster ${id}`, null]);
  runs.sort((a, b) => b.id - a.id);
  const rows = runs.map((t): RunLine => {
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
      ? listTable(
          'runs',
          ['Run', 'Name', 'Status', 'Started (UTC)', 'Duration', 'Tasks', 'Epoch'],
          rows.map((r) => r.tr),
        )
      : h('p', { class: 'muted' }, 'No run yet.'),
  );
  if (!cluster.history_enabled) return;
  fillCounts(rows);
}

/** Counts per status, a few runs at a time (newest first). */
function fillCounts(rows: RunLine[]): void {
  const queue = rows.slice(0, 100);
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      try {
        const s = await getJson<Summary>(`/transactions/${r.t.id}/deployment_history/summary`);
        r.counts.replaceChildren(
          `${s.total} `,
          ...Object.entries(s.statuses)
            .filter(([, n]) => n > 0)
            .map(([st, n]) => h('span', { class: 'count', title: st, style: { color: statusColor(st) } }, `${st} ${n} `)),
        );
      } catch {
        r.counts.textContent = '—';
      }
    }
  };
  void Promise.all([worker(), worker(), worker(), worker()]);
}
