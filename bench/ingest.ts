import type * as amqp from 'amqplib';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { JsonClient } from './json-client';
import { PgCpu, PgCpuResult } from './pg-cpu';
import type { BenchService } from './service';
import { log, processCpuSeconds, processes, sleep, USER_HZ, waitFor } from './util';
import type { Options } from './options';
import type { Run } from './workload';

/** The ingest: the runs' casts published to RabbitMQ as Astute would, timed until the service has committed them all. */

export type CpuSample = Record<'service' | 'postgres' | 'rabbitmq' | 'publisher' | 'machine', number> & {};

/**
 * CPU seconds used so far by the service, by every PostgreSQL and RabbitMQ process of the machine, by
 * this publisher, and by the whole machine (busy time over all cores), read from /proc (Linux).
 */
export function cpuSample(servicePid: number | undefined): CpuSample | null {
  try {
    const s: CpuSample = { service: 0, postgres: 0, rabbitmq: 0, publisher: 0, machine: 0 };
    for (const { pid, comm } of processes()) {
      try {
        if (Number(pid) === servicePid) s.service += processCpuSeconds(pid);
        // PostgreSQL's backends that ended (a client connecting per request, as ARA's Django does; an
        // autovacuum worker) take their CPU out of the sum: the postmaster's reaped children give it back.
        else if (comm === 'postgres') s.postgres += processCpuSeconds(pid, true);
        else if (comm === 'beam.smp') s.rabbitmq += processCpuSeconds(pid);
      } catch {
        /* the process ended meanwhile */
      }
    }
    const u = process.cpuUsage();
    s.publisher = (u.user + u.system) / 1e6;
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
    s.machine = (cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]) / USER_HZ; // user nice system irq softirq steal
    return s;
  } catch {
    return null;
  }
}

/** The service's receiver counters. */
type ReceiverStats = {
  applied: number;
  duplicates: number;
  dead_lettered: number;
  batches: number;
  batched_casts: number;
  commit_ms: number;
};

/**
 * The service's receiver counters, on one keep-alive connection (bench/json-client.ts) without
 * Accept-Encoding: the answer comes uncompressed. Asked with fetch() until issue #17, each poll cost the
 * service its answer's brotli compression and this process ~1 ms of undici: ~8 % of the service's CPU
 * profile during the ingest was the benchmark asking how far it got (Express, compression). Asked again
 * once if the request fails: a keep-alive connection the server closed after idling (while this process
 * prepares the casts) fails the first request on it.
 */
const statsClients = new Map<string, JsonClient>();
function receiverStats(base: string): Promise<ReceiverStats> {
  let client = statsClients.get(base);
  if (!client) statsClients.set(base, (client = new JsonClient(base, 1)));
  const get = async () => {
    const { status, text } = await client.request('GET', '/api/v1/receiver/stats');
    if (status !== 200) throw new Error(`GET /api/v1/receiver/stats answered ${status}`);
    return JSON.parse(text) as ReceiverStats;
  };
  return get().catch(get);
}

/** Casts the service has settled (applied, found duplicate or dead-lettered) since `before`. */
const settledSince = (st: ReceiverStats, before: ReceiverStats) =>
  st.applied + st.duplicates + st.dead_lettered - (before.applied + before.duplicates + before.dead_lettered);

export interface IngestResult {
  casts: number;
  updates: number;
  seconds: number;
  cpu: Record<string, number> | null;
  /** WAL the server wrote during the phase, per cast (pg-cpu.ts). */
  wal: PgCpuResult['wal'];
  /**
   * Casts waiting ready in the service's queue (not yet delivered), sampled whenever the publisher waited
   * for its window: what the broker holds for us, which its CPU per message depends on (bench/README.md).
   */
  queue_ready: { samples: number; mean: number; max: number } | null;
}

/** Publishes the runs, a few clusters' runs interleaved as concurrent deployments would be. */
export async function ingest(o: Options, service: BenchService, ch: amqp.Channel, set: Run[]): Promise<IngestResult> {
  const before = await receiverStats(service.base);
  let updates = 0;
  for (const run of set) updates += run.updates;
  const pg = await PgCpu.start(service.dbUrl).catch(() => null);
  const cpuBefore = cpuSample(service.process.pid);
  const started = process.hrtime.bigint();
  const backlog: number[] = [];
  const casts = await publish(o, service, ch, set, before, backlog);
  const published = process.hrtime.bigint();
  await waitFor(async () => settledSince(await receiverStats(service.base), before) >= casts, 'every cast to be committed', 30 * 60_000);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpuAfter = cpuSample(service.process.pid);
  const pgUse = pg ? await pg.stop(casts) : null;
  const cpu = cpuPerCast(cpuBefore, cpuAfter, casts, seconds, pgUse);
  if (cpu)
    log(
      `CPU per cast: ${Object.entries(cpu)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  const st = await receiverStats(service.base);
  log(
    `service: ${st.batches} batches, ${Math.round(st.batched_casts / st.batches)} casts each on average, ${(st.commit_ms / st.batches).toFixed(1)} ms per commit`,
  );
  log(`published ${casts} casts in ${(Number(published - started) / 1e9).toFixed(1)} s; all committed after ${seconds.toFixed(1)} s`);
  if (pgUse?.wal)
    log(
      `WAL per cast: ${pgUse.wal.bytes_per_cast} bytes, ${pgUse.wal.records_per_cast} records, ${pgUse.wal.fpi_per_cast} full-page images; ${pgUse.wal.checkpoints} checkpoint(s)`,
    );
  const queue_ready = backlog.length
    ? { samples: backlog.length, mean: Math.round(backlog.reduce((a, b) => a + b, 0) / backlog.length), max: Math.max(...backlog) }
    : null;
  if (queue_ready)
    log(
      `casts ready in the queue while the publisher waited: ${queue_ready.mean} on average, ${queue_ready.max} at most (${queue_ready.samples} samples)`,
    );
  return { casts, updates, seconds, cpu, wal: pgUse?.wal ?? null, queue_ready };
}

/**
 * Publishes every cast of the runs, one run per lane at a time; answers how many were published. Each time
 * it waits for its window, the casts ready in the queue go to `backlog`.
 */
async function publish(
  o: Options,
  service: BenchService,
  ch: amqp.Channel,
  set: Run[],
  before: ReceiverStats,
  backlog: number[],
): Promise<number> {
  let casts = 0;
  const lanes = Math.min(o.clusters, set.length);
  const queues = Array.from({ length: lanes }, (_, l) => set.filter((_, i) => i % lanes === l));
  /** Casts of each run published so far (the casts are kept: the broker's baseline sends them again). */
  const sentOf = new Map<Run, number>();
  // Like an orchestrator, the publisher does not run arbitrarily far ahead of the consumer: at most
  // `window` casts in flight, so the broker's backlog is bounded (not avoided: the window less the
  // service's prefetch can wait ready in the queue, and does whenever the ingest is the slower). It asks
  // the service how far it got every 100 ms at most: asking loads the service measured (a request costs it
  // ~1 ms of CPU; every 20 ms, as until issue #17, that was ~15 % of its CPU in the ingest). The window
  // (20,000 casts) is seconds of work, so the queue never runs dry between two questions.
  let done = 0;
  while (queues.some((q) => q.length)) {
    while (o.window > 0 && casts - done > o.window) {
      done = settledSince(await receiverStats(service.base), before);
      backlog.push((await ch.checkQueue(service.names)).messageCount);
      if (casts - done > o.window) await sleep(100);
    }
    for (const q of queues) {
      const run = q[0];
      if (!run) continue;
      const next = sentOf.get(run) ?? 0;
      const cast = run.casts[next];
      if (!cast) {
        q.shift();
        continue;
      }
      sentOf.set(run, next + 1);
      casts++;
      if (!ch.publish(service.names, 'nailgun', cast, { contentType: 'application/json' })) await new Promise((r) => ch.once('drain', r));
    }
  }
  return casts;
}

/** Microseconds of CPU per cast, by process, and the share of the machine's cores that was busy. */
export function cpuPerCast(
  before: CpuSample | null,
  after: CpuSample | null,
  casts: number,
  seconds: number,
  pg?: PgCpuResult | null,
): Record<string, number> | null {
  if (!before || !after) return null;
  const own = pg?.us_per_cast;
  return {
    ...Object.fromEntries(
      (['service', 'postgres', 'rabbitmq', 'publisher'] as const).map((k) => [
        `${k}_us_per_cast`,
        Math.round(((after[k] - before[k]) / casts) * 1e6),
      ]),
    ),
    ...(own
      ? {
          postgres_own_us_per_cast: own.backends + own.autovacuum + own.background,
          postgres_backends_us_per_cast: own.backends,
          postgres_autovacuum_us_per_cast: own.autovacuum,
          postgres_background_us_per_cast: own.background,
        }
      : {}),
    machine_busy_percent: Math.round(((after.machine - before.machine) / seconds / cpus().length) * 100),
  };
}
