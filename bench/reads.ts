import { Client } from 'pg';
import { MAX_INSIGHT_RUNS } from '../src/history/dto/insights.dto';
import { percentileOfSorted } from '../src/history/task-stats';
import { JsonClient } from './json-client';
import { log, round } from './util';
import type { Options } from './options';
import { emptyReads } from './verify';
import { runStartMs, type Run } from './workload';

/** Reads over HTTP at the ingested scale, and retention applied to it. */

/**
 * One read's figures: `rows` for the history reads (rows of the list, 1 for one object), `items` for the
 * issue #15 answers (what they list: tasks, regressions, steps); `first_ms` for the critical path and the task statistics, whose
 * first computation is timed apart (the answer is kept after it for a finished run).
 */
export interface ReadFigure {
  p50_ms: number;
  p95_ms: number;
  rows?: number;
  items?: number;
  first_ms?: number;
  target_p95_ms: number;
}
export type ReadFigures = Record<string, ReadFigure>;

/** A read: its path, its p95 target (bench/README.md), and, for the issue #15 answers, what counts as an item. */
interface Read {
  path: string;
  target: number;
  items?: (body: Record<string, unknown[]>) => number;
  first?: boolean;
}

/**
 * Reads at that scale, on a settled database: the baseline's scratch table dropped, and the vacuum
 * that autovacuum would start now (after a million fresh rows) done first, not during them.
 */
export async function measureReads(o: Options, base: string, db: Client, runs: Run[], big: Run): Promise<ReadFigures> {
  await db.query(`DROP TABLE raw_history`);
  await db.query(`VACUUM (ANALYZE) deployment_history, transactions, cluster_state`);
  const midRun = runs[Math.floor(runs.length / 2)];
  const slowRun = runs.find((r) => r.slowTask !== undefined);
  const ids = new Map<string, number>(
    (
      await db.query<{ id: number; uuid: string }>(`SELECT id, uuid FROM transactions WHERE uuid = ANY($1)`, [
        [midRun.uuid, big.uuid, ...(slowRun ? [slowRun.uuid] : [])],
      ])
    ).rows.map((r) => [r.uuid, r.id]),
  );
  const mid = ids.get(midRun.uuid)!;
  const bigId = ids.get(big.uuid)!;
  // Without a slow run (fewer than 4 runs on cluster 3) the regressions are asked of the middle run: an empty answer, reported as such.
  const slowId = slowRun ? ids.get(slowRun.uuid)! : mid;
  const clusterRuns = Math.ceil(o.transactions / o.clusters);
  const reads: Record<string, Read> = {
    run_filtered_by_status: { path: `/api/v1/transactions/${mid}/deployment_history?statuses=error,skipped`, target: 20 },
    run_whole: { path: `/api/v1/transactions/${mid}/deployment_history`, target: 20 },
    large_run_whole: { path: `/api/v1/transactions/${bigId}/deployment_history`, target: 300 },
    large_run_summary: { path: `/api/v1/transactions/${bigId}/deployment_history/summary`, target: 20 },
    node_history_first_page: { path: `/api/v1/clusters/3/nodes/${Math.min(7, o.nodes)}/deployment_history`, target: 20 },
    cluster_history_status_time_range: { path: `/api/v1/clusters/3/deployment_history?statuses=error&${timeRange(o)}`, target: 20 },
    cluster_state: { path: `/api/v1/clusters/3/state`, target: 20 },
    // Issue #15: the first computation of the large run's critical path is timed before the samples (kept after it).
    large_run_critical_path: {
      path: `/api/v1/transactions/${bigId}/critical_path`,
      target: 300,
      items: (b) => b.steps.length,
      first: true,
    },
    // Its first read keeps each finished run's counted rows in the run (built once): timed apart too.
    cluster_task_stats: { path: `/api/v1/clusters/3/task_stats`, target: 200, items: (b) => b.tasks.length, first: true },
    // Flaky tasks as asked by default (its last 20 runs), and over all the cluster's runs (at most the route's limit), the heaviest.
    cluster_flaky_tasks: { path: `/api/v1/clusters/3/flaky_tasks`, target: 200, items: (b) => b.tasks.length },
    cluster_flaky_tasks_all_runs: {
      path: `/api/v1/clusters/3/flaky_tasks?last_runs=${Math.min(clusterRuns, MAX_INSIGHT_RUNS)}`,
      target: 200,
      items: (b) => b.tasks.length,
    },
    run_regressions: { path: `/api/v1/transactions/${slowId}/regressions?baseline=20`, target: 100, items: (b) => b.regressions.length },
  };
  const readFigures: ReadFigures = {};
  const client = readClient(o, base);
  try {
    for (const [name, read] of Object.entries(reads)) {
      const f = (readFigures[name] = await sample(client.timed, read, o.readSamples));
      const first = f.first_ms === undefined ? '' : `, first ${f.first_ms} ms`;
      const count = f.items === undefined ? `${f.rows} rows` : `${f.items} items`;
      log(`read ${name}: p50 ${f.p50_ms} ms, p95 ${f.p95_ms} ms (target ≤ ${f.target_p95_ms} ms${first}; ${count})`);
    }
  } finally {
    client.close();
  }
  return readFigures;
}

/** The reads whose p95 is above target, and those that found nothing (verify.ts: the benchmark fails on them). */
export function readChecks(reads: ReadFigures): { over_target: string[]; empty: string[] } {
  return {
    over_target: Object.entries(reads)
      .filter(([, f]) => f.p95_ms > f.target_p95_ms)
      .map(([name]) => name),
    empty: emptyReads(reads),
  };
}

/**
 * The cluster history's time range: from the start of the run at 14.4 % of the workload to that at
 * 57.6 %, wherever the workload ends (at 10,000 runs exactly 2026-01-02 to 2026-01-05, the range
 * earlier results were measured on; a fixed range lay past the last run at 1,000 runs and found nothing).
 */
export function timeRange(o: Pick<Options, 'transactions'>): string {
  const at = (share: number) => new Date(runStartMs(Math.floor(o.transactions * share))).toISOString();
  return `since=${at(0.144)}&until=${at(0.576)}`;
}

/** One request: its time (ms) and its parsed answer. */
type Timed = (path: string) => Promise<{ ms: number; body: unknown }>;

/** One GET: its status and its answer, parsed. */
type Get = (path: string) => Promise<{ status: number; body: unknown }>;

/**
 * The reads' client (--read-client). `http`: node:http on one keep-alive connection, asking for gzip as
 * fetch() does, so that the answers are those fetch() got (compressed over 1 KB, a kept list as kept), decoded
 * and parsed in the time. `fetch`: undici's, the reads' client until 2026-12-02, which spent 2.2–2.7 ms of CPU per
 * request here (over half of what the service it measured spent, on the same 2 cores): kept to compare with earlier figures.
 */
function readClient(o: Pick<Options, 'readClient'>, base: string): { timed: Timed; close(): void } {
  const client =
    o.readClient === 'http' ? new JsonClient(base, 1, { accept: 'application/json', 'accept-encoding': 'gzip, deflate' }) : null;
  const get: Get = client
    ? async (path) => {
        const res = await client.request('GET', path);
        return { status: res.status, body: JSON.parse(res.text) as unknown };
      }
    : async (path) => {
        const res = await fetch(base + path);
        return { status: res.status, body: await res.json() };
      };
  return {
    timed: async (path) => {
      const t0 = process.hrtime.bigint();
      const { status, body } = await get(path);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (status < 200 || status > 299) throw new Error(`${path}: ${status} ${JSON.stringify(body)}`);
      return { ms, body };
    },
    close: () => client?.close(),
  };
}

/** p50 and p95 of `samples` requests, after 5 that warm the caches (and, for `first`, one timed alone before them). */
async function sample(timed: Timed, read: Read, samples: number): Promise<ReadFigure> {
  const first = read.first ? (await timed(read.path)).ms : undefined;
  const times: number[] = [];
  let body: unknown;
  for (let i = 0; i < samples + 5; i++) {
    const r = await timed(read.path);
    body = r.body;
    if (i >= 5) times.push(r.ms); // the first few warm the caches
  }
  times.sort((a, b) => a - b);
  // Nearest rank, the rule of the service's own task statistics (src/history/task-stats.ts).
  const figure: ReadFigure = {
    p50_ms: round(percentileOfSorted(times, 50) ?? NaN),
    p95_ms: round(percentileOfSorted(times, 95) ?? NaN),
    target_p95_ms: read.target,
  };
  if (read.items) figure.items = read.items(body as Record<string, unknown[]>);
  else figure.rows = Array.isArray(body) ? body.length : 1;
  if (first !== undefined) figure.first_ms = round(first);
  return figure;
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
