import type { DataSource } from 'typeorm';
import { HistoryPartitions } from '../../src/history/persistence/partitions';
import { RELEASE } from './history-store';

/**
 * A history as the benchmark's ingest leaves it, written in bulk by SQL (the writer would take minutes at
 * this size): `runs` finished runs on `clusters` clusters in turn (run id i on cluster 1 + i % clusters),
 * `nodes` × `tasks` rows each, in range partitions of `partitionRuns` run ids. Each row is inserted
 * pending, then reported running, then final, as the ingest does: the first report changes sort_time
 * (indexed), so those updates are not HOT and a run's rows end up spread over its partition's pages.
 * About 3 % of the rows end in `error` (a few tasks of a few nodes: flaky pairs), 5 % `skipped`.
 */
export async function seedSpreadHistory(
  ds: DataSource,
  o: { runs: number; clusters: number; nodes: number; tasks: number; partitionRuns: number; firstRun?: number },
): Promise<void> {
  const q = (sql: string, params: unknown[] = []) => ds.query(sql, params);
  await q(`INSERT INTO clusters (id, name, release) SELECT c, 'env-' || c, $2 FROM generate_series(1, $1::int) c ON CONFLICT DO NOTHING`, [
    o.clusters,
    RELEASE,
  ]);
  const first = o.firstRun ?? 1;
  const last = first + o.runs - 1;
  // Partitions for every run id to be given out, made by the service's own keeper.
  await q(`SELECT setval('transactions_id_seq', $1::int, true)`, [last]);
  await new HistoryPartitions(ds, { historyPartitionRuns: o.partitionRuns }).keepAhead();
  await q(
    `INSERT INTO transactions (id, uuid, cluster_id, name, status, history_recorded, release, time_start, time_end)
     SELECT i, 'run-' || i, 1 + i % $2::int, 'deployment', 'ready', true, $3,
            timestamptz '2026-01-01' + i * interval '1 minute', timestamptz '2026-01-01' + i * interval '1 minute' + interval '50 seconds'
     FROM generate_series($1::int, $4::int) i`,
    [first, o.clusters, RELEASE, last],
  );
  // Runs are ingested a few at a time (one in flight per cluster): chunks of `clusters` runs, each chunk's rows
  // inserted, then all reported running, then final, as the ingest interleaves them.
  for (let lo = first; lo <= last; lo += o.clusters) {
    const hi = Math.min(last, lo + o.clusters - 1);
    await q(
      `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, task_type, status, created_at)
       SELECT t.id, t.cluster_id, n::text, 'task-' || k, 'puppet', 'pending', t.time_start
       FROM transactions t, generate_series(1, $3::int) n, generate_series(1, $4::int) k
       WHERE t.id BETWEEN $1 AND $2`,
      [lo, hi, o.nodes, o.tasks],
    );
    await q(
      `UPDATE deployment_history SET status = 'running', time_start = created_at + interval '1 second'
       WHERE transaction_id BETWEEN $1 AND $2`,
      [lo, hi],
    );
    await q(
      `UPDATE deployment_history h SET time_end = time_start + (1 + (h.id % 17)) * interval '1 second',
         status = CASE WHEN h.task_name IN ('task-1', 'task-2') AND h.node_id IN ('1', '2') AND (h.transaction_id / $3::int) % 3 = 0 THEN 'error'
                       WHEN h.task_name = 'task-3' AND h.transaction_id % 4 = 0 THEN 'skipped'
                       ELSE 'ready' END::history_status,
         error_message = CASE WHEN h.task_name IN ('task-1', 'task-2') AND h.node_id IN ('1', '2') AND (h.transaction_id / $3::int) % 3 = 0
                              THEN 'puppet failed' END
       WHERE transaction_id BETWEEN $1 AND $2`,
      [lo, hi, o.clusters],
    );
  }
  await q(`VACUUM (ANALYZE) deployment_history, transactions`);
}
