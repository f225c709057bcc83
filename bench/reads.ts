import { Client } from 'pg';
import { percentileOfSorted } from '../src/history/task-stats';
import { log, round } from './util';
import type { Options, Run } from './workload';

/** Reads over HTTP at the ingested scale, and retention applied to it. */

export type ReadFigures = Record<string, { p50_ms: number; p95_ms: number; rows: number }>;

/**
 * Reads at that scale, on a settled database: the baseline's scratch table dropped, and the vacuum
 * that autovacuum would start now (after a million fresh rows) done first, not during them.
 */
export async function measureReads(o: Options, base: string, db: Client, runs: Run[], big: Run): Promise<ReadFigures> {
  await db.query(`DROP TABLE raw_history`);
  await db.query(`VACUUM (ANALYZE) deployment_history, transactions, cluster_state`);
  const ids = new Map<string, number>(
    (
      await db.query<{ id: number; uuid: string }>(`SELECT id, uuid FROM transactions WHERE uuid = ANY($1)`, [
        [runs[Math.floor(runs.length / 2)].uuid, big.uuid],
      ])
    ).rows.map((r) => [r.uuid, r.id]),
  );
  const mid = ids.get(runs[Math.floor(runs.length / 2)].uuid)!;
  const bigId = ids.get(big.uuid)!;
  const reads: Record<string, string> = {
    run_filtered_by_status: `/api/v1/transactions/${mid}/deployment_history?statuses=error,skipped`,
    run_whole: `/api/v1/transactions/${mid}/deployment_history`,
    large_run_whole: `/api/v1/transactions/${bigId}/deployment_history`,
    large_run_summary: `/api/v1/transactions/${bigId}/deployment_history/summary`,
    node_history_first_page: `/api/v1/clusters/3/nodes/7/deployment_history`,
    cluster_history_status_time_range: `/api/v1/clusters/3/deployment_history?statuses=error&since=2026-01-02T00:00:00Z&until=2026-01-05T00:00:00Z`,
    cluster_state: `/api/v1/clusters/3/state`,
  };
  const readFigures: ReadFigures = {};
  for (const [name, path] of Object.entries(reads)) {
    readFigures[name] = await sample(base, path, o.readSamples);
    log(`read ${name}: p50 ${readFigures[name].p50_ms} ms, p95 ${readFigures[name].p95_ms} ms (${readFigures[name].rows} rows)`);
  }
  return readFigures;
}

/** p50 and p95 of `samples` requests, after 5 that warm the caches. */
async function sample(base: string, path: string, samples: number): Promise<ReadFigures[string]> {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < samples + 5; i++) {
    const t0 = process.hrtime.bigint();
    const res = await fetch(base + path);
    const body: unknown = await res.json();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    rows = Array.isArray(body) ? body.length : 1;
    if (i >= 5) times.push(ms); // the first few warm the caches
  }
  times.sort((a, b) => a - b);
  // Nearest rank, the rule of the service's own task statistics (src/history/task-stats.ts).
  return { p50_ms: round(percentileOfSorted(times, 50) ?? NaN), p95_ms: round(percentileOfSorted(times, 95) ?? NaN), rows };
}

/**
 * Retention at that scale: first keep the last half of each cluster's runs (space freed for reuse),
 * then the last tenth, compacting (space given back to the system).
 */
export async function measureRetention(o: Options, base: string): Promise<Record<string, unknown>[]> {
  const perCluster = Math.ceil(o.transactions / o.clusters);
  const retention: Record<string, unknown>[] = [];
  for (const [keep, compact] of [
    [Math.max(1, Math.floor(perCluster / 2)), false],
    [Math.max(1, Math.floor(perCluster / 10)), true],
  ] as const) {
    const res = await fetch(`${base}/api/v1/retention?keep_runs=${keep}&compact=${compact}`, { method: 'POST' });
    const body = (await res.json()) as {
      transactions: number;
      rows: number;
      seconds: number;
      disk_before_bytes: number;
      disk_after_bytes: number;
    };
    if (!res.ok) throw new Error(`retention: ${res.status} ${JSON.stringify(body)}`);
    const mb = (b: number) => Math.round(b / 2 ** 20);
    retention.push({
      keep_runs: keep,
      compact,
      transactions: body.transactions,
      rows: body.rows,
      seconds: body.seconds,
      disk_before_mb: mb(body.disk_before_bytes),
      disk_after_mb: mb(body.disk_after_bytes),
    });
    log(
      `retention keep_runs=${keep}${compact ? ' compact' : ''}: removed ${body.transactions} runs (${body.rows} rows) in ${body.seconds} s; disk ${mb(body.disk_before_bytes)} MB → ${mb(body.disk_after_bytes)} MB`,
    );
  }
  return retention;
}
