import type { Client } from 'pg';
import { startCast, TasksGraph } from '../src/receiver/cast-builder';
import type { Options } from './options';
import type { BenchService } from './service';
import { log, round, sleep } from './util';
import { makeRun, runStartMs, taskName } from './workload';

/**
 * Issue #17's retention measurement (`--rows-only N`): the history table filled with N rows through the
 * service's own write path (`POST /api/v1/casts`, runs' starts, many a request: the writer's batches, not
 * the bus), the runs then marked finished by one UPDATE of `transactions` (their finish casts would
 * close every pending row, an update of all N rows through the writer: not what is measured here, and
 * it would double the fill), then one retention pass removing `--retention-share` of them (the oldest
 * runs of each cluster: `keep_runs`) while casts keep being written, on clusters of their own.
 *
 * Reported: the pass's time, what went whole (partitions dropped) and row by row, the disk of the
 * history tables and of the database before and after; and whether the ingest stalled meanwhile: the
 * casts committed per second and the longest time without any commit, before the pass and during it.
 */

/**
 * Runs per POST while filling (a start each). Small enough that the writer's transactions
 * stay short (a partition's creation waits for the transactions in progress: partitions.ts).
 */
const RUNS_PER_POST = 25;
/** Requests in flight while filling. */
const FILL_LANES = 2;
/** Clients writing casts during the pass, each a POST of CASTS_PER_POST casts at a time, waiting for its answer. */
const LOAD_LANES = 4;
const CASTS_PER_POST = 20;
/** How long the ingest is measured alone before the pass, and after it, seconds. */
const QUIET_SECONDS = 5;

export interface RetentionBenchResult {
  rows_filled: number;
  runs_filled: number;
  fill_seconds: number;
  fill_rows_per_s: number;
  partition_runs: number;
  retention: {
    keep_runs: number;
    transactions: number;
    rows: number;
    seconds: number;
    partitions_dropped: number;
    history_disk_before_mb: number;
    history_disk_after_mb: number;
    database_before_mb: number;
    database_after_mb: number;
  };
  /** The ingest on other clusters, alone before the pass and during it. */
  ingest_before: IngestWindow;
  ingest_during: IngestWindow;
}

interface IngestWindow {
  seconds: number;
  casts: number;
  casts_per_s: number;
  /** The longest time no POST of casts was answered (committed), ms. */
  longest_gap_ms: number;
  /** The slowest POST of casts, ms. */
  slowest_post_ms: number;
}

export async function retentionBench(o: Options, service: BenchService, db: Client): Promise<RetentionBenchResult> {
  const perRun = o.nodes * o.tasks;
  const runs = Math.ceil(o.rowsOnly / perRun);
  log(`rows-only: filling ${runs} runs × ${perRun} rows (${runs * perRun} rows) on ${o.clusters} clusters through POST /api/v1/casts`);
  const filled = await fill(o, service.base, runs);
  // Finished an hour after they started (retention removes finished runs only).
  await db.query(
    `UPDATE transactions SET status = 'ready', progress = 100, time_end = time_start + interval '1 hour', status_time = time_start + interval '1 hour'
     WHERE uuid LIKE 'fill-%' AND status = 'running'`,
  );
  log(`rows-only: ${filled.rows} rows in ${filled.seconds.toFixed(1)} s = ${Math.round(filled.rows / filled.seconds)} rows/s`);
  await db.query('ANALYZE');
  const partitionRuns = Number(process.env.HISTORY_PARTITION_RUNS ?? 1000);

  const keep = Math.max(1, Math.round(Math.ceil(runs / o.clusters) * (1 - o.retentionShare)));
  const load = startLoad(o, service.base);
  await sleep(QUIET_SECONDS * 1000);
  const before = load.window();
  const dbBefore = await databaseMb(db);
  const res = await fetch(`${service.base}/api/v1/retention?keep_runs=${keep}`, { method: 'POST' });
  const during = load.window();
  await load.stop();
  const body = (await res.json()) as {
    transactions: number;
    rows: number;
    seconds: number;
    partitions_dropped: string[];
    disk_before_bytes: number;
    disk_after_bytes: number;
  };
  if (!res.ok) throw new Error(`retention: ${res.status} ${JSON.stringify(body)}`);
  const mb = (b: number) => Math.round(b / 2 ** 20);
  const result: RetentionBenchResult = {
    rows_filled: filled.rows,
    runs_filled: runs,
    fill_seconds: round(filled.seconds),
    fill_rows_per_s: Math.round(filled.rows / filled.seconds),
    partition_runs: partitionRuns,
    retention: {
      keep_runs: keep,
      transactions: body.transactions,
      rows: body.rows,
      seconds: body.seconds,
      partitions_dropped: body.partitions_dropped.length,
      history_disk_before_mb: mb(body.disk_before_bytes),
      history_disk_after_mb: mb(body.disk_after_bytes),
      database_before_mb: dbBefore,
      database_after_mb: await databaseMb(db),
    },
    ingest_before: before,
    ingest_during: during,
  };
  const r = result.retention;
  log(
    `retention keep_runs=${keep}: ${r.transactions} runs (${r.rows} rows) in ${r.seconds} s, ${r.partitions_dropped} partitions dropped whole; ` +
      `history tables ${r.history_disk_before_mb} MB → ${r.history_disk_after_mb} MB, database ${r.database_before_mb} MB → ${r.database_after_mb} MB`,
  );
  log(
    `ingest on other clusters: before ${before.casts_per_s} casts/s, longest gap ${before.longest_gap_ms} ms, slowest POST ${before.slowest_post_ms} ms; ` +
      `during ${during.casts_per_s} casts/s, longest gap ${during.longest_gap_ms} ms, slowest POST ${during.slowest_post_ms} ms`,
  );
  return result;
}

/** Sends every run's start, RUNS_PER_POST runs a request, FILL_LANES requests at once. */
async function fill(o: Options, base: string, runs: number): Promise<{ rows: number; seconds: number }> {
  const graph: TasksGraph = {};
  const definitions = Array.from({ length: o.tasks }, (_, t) => ({ id: taskName(t), type: 'puppet' }));
  for (let n = 1; n <= o.nodes; n++) graph[String(n)] = definitions;
  const started = process.hrtime.bigint();
  let next = 0;
  let rows = 0;
  let reported = 0;
  await Promise.all(
    Array.from({ length: FILL_LANES }, async () => {
      while (next < runs) {
        const from = next;
        const to = Math.min(runs, from + RUNS_PER_POST);
        next = to;
        const casts: object[] = [];
        for (let i = from; i < to; i++) {
          const cluster = { id: (i % o.clusters) + 1, name: `bench-${(i % o.clusters) + 1}`, release: 'mitaka-9.0' };
          casts.push(startCast(`fill-${i}`, cluster, graph, { time: new Date(runStartMs(i)).toISOString() }));
        }
        const res = await fetch(`${base}/api/v1/casts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(casts),
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`filling: POST /api/v1/casts ${res.status} ${text.slice(0, 500)}`);
        rows += (to - from) * o.nodes * o.tasks;
        if (to - reported >= runs / 10) {
          reported = to;
          log(`rows-only: ${rows} rows so far (${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(0)} s)`);
        }
      }
    }),
  );
  return { rows, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/**
 * Clients writing runs' casts (the benchmark's own runs: start, status reports, finish) on clusters of
 * their own, CASTS_PER_POST a request, until stopped; `window()` measures what was answered since the last call.
 */
function startLoad(o: Options, base: string): { window(): IngestWindow; stop(): Promise<void> } {
  let stopped = false;
  let since = performance.now();
  let answered: number[] = [];
  let slowest = 0;
  let casts = 0;
  let runIndex = 0;
  const lanes = Array.from({ length: LOAD_LANES }, async (_, lane) => {
    while (!stopped) {
      const k = runIndex++;
      const run = makeRun(o, 1_000_000 + k, `load-${k}`, o.clusters + 1 + lane, o.nodes, o.tasks);
      for (let i = 0; i < run.casts.length && !stopped; i += CASTS_PER_POST) {
        const part = run.casts.slice(i, i + CASTS_PER_POST);
        const t0 = performance.now();
        const res = await fetch(`${base}/api/v1/casts`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: `[${part.map((c) => c.toString()).join(',')}]`,
        });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`load: POST /api/v1/casts ${res.status} ${text.slice(0, 300)}`);
        const t1 = performance.now();
        answered.push(t1);
        slowest = Math.max(slowest, t1 - t0);
        casts += part.length;
      }
    }
  });
  const all = Promise.all(lanes);
  return {
    window() {
      const now = performance.now();
      const times = [since, ...answered, now];
      let gap = 0;
      for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
      const w: IngestWindow = {
        seconds: round((now - since) / 1000),
        casts,
        casts_per_s: Math.round(casts / ((now - since) / 1000)),
        longest_gap_ms: Math.round(gap),
        slowest_post_ms: Math.round(slowest),
      };
      since = now;
      answered = [];
      slowest = 0;
      casts = 0;
      return w;
    },
    async stop() {
      stopped = true;
      await all;
    },
  };
}

async function databaseMb(db: Client): Promise<number> {
  const r = await db.query<{ b: string }>('SELECT pg_database_size(current_database())::text AS b');
  return Math.round(Number(r.rows[0].b) / 2 ** 20);
}
