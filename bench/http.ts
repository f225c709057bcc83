import { percentileOfSorted } from '../src/history/task-stats';
import { cpuPerCast, cpuSample } from './ingest';
import { JsonClient } from './json-client';
import { PgCpu } from './pg-cpu';
import type { BenchService } from './service';
import { log, round } from './util';
import type { Run } from './workload';

/**
 * The HTTP path measured as ARA is (issue #17): N clients, each sending one cast per `POST /api/v1/casts`
 * and waiting for its answer before the next, each client one run at a time, the casts in the order
 * the bus gets them. The same runs' casts as the bus ingest's, on clusters of their own.
 */

export interface HttpResult {
  clients: number;
  runs: number;
  casts: number;
  seconds: number;
  casts_per_s: number;
  latency_p50_ms: number;
  latency_p95_ms: number;
  /** CPU per cast on this path, µs: the service, PostgreSQL, RabbitMQ, and the clients (this process). */
  cpu: Record<string, number> | null;
  /** The service's and PostgreSQL's CPU per cast on this path, µs. */
  service_pg_us_per_cast: number | null;
  /**
   * Requests per database transaction on this path (GET /receiver/stats' http_batched_requests ÷
   * http_batches over the run): how many concurrent requests shared each; null when the service does
   * not count them.
   */
  requests_per_transaction: number | null;
  /**
   * PostgreSQL's CPU per cast on this path counting only the service's own database's backends and
   * autovacuum workers (bench/pg-cpu.ts; `cpu.postgres_backends_us_per_cast` and the others split it):
   * `cpu.postgres_us_per_cast` is every PostgreSQL process of the machine, other sessions' included when
   * the machine is shared.
   */
  postgres_own_db_us_per_cast: number | null;
}

/** Sends every run's casts, `clients` requests in flight at once; throws on any answer that is not 200. */
export async function httpIngest(service: BenchService, runs: Run[], clients: number): Promise<HttpResult> {
  const lanes = Array.from({ length: clients }, (_, c) => runs.filter((_, i) => i % clients === c));
  const client = new JsonClient(service.base, clients);
  const latencies: number[] = [];
  const batchesBefore = await httpBatches(client);
  const pg = await PgCpu.start(service.dbUrl).catch(() => null);
  const cpuBefore = cpuSample(service.process.pid);
  const started = process.hrtime.bigint();
  await Promise.all(
    lanes.map(async (lane) => {
      for (const run of lane)
        for (const cast of run.casts) {
          const t0 = process.hrtime.bigint();
          const res = await client.request('POST', '/api/v1/casts', cast);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (res.status !== 200) throw new Error(`POST /api/v1/casts (run ${run.uuid}): ${res.status} ${res.text.slice(0, 500)}`);
        }
    }),
  ).catch((e: unknown) => {
    client.close();
    throw e;
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const casts = latencies.length;
  const cpuAfter = cpuSample(service.process.pid);
  const pgUse = pg ? await pg.stop(casts) : null;
  const cpu = cpuPerCast(cpuBefore, cpuAfter, casts, seconds, pgUse);
  const batchesAfter = await httpBatches(client).finally(() => client.close());
  latencies.sort((a, b) => a - b);
  const result: HttpResult = {
    clients,
    runs: runs.length,
    casts,
    seconds: round(seconds),
    casts_per_s: Math.round(casts / seconds),
    latency_p50_ms: round(percentileOfSorted(latencies, 50) ?? NaN),
    latency_p95_ms: round(percentileOfSorted(latencies, 95) ?? NaN),
    cpu,
    service_pg_us_per_cast: servicePgUs(cpu),
    requests_per_transaction:
      batchesBefore && batchesAfter && batchesAfter.batches > batchesBefore.batches
        ? round((batchesAfter.requests - batchesBefore.requests) / (batchesAfter.batches - batchesBefore.batches))
        : null,
    postgres_own_db_us_per_cast: pgUse ? pgUse.us_per_cast.backends + pgUse.us_per_cast.autovacuum : null,
  };
  log(
    `HTTP path: ${casts} casts, one per request, ${clients} clients: ${result.casts_per_s} casts/s, p50 ${result.latency_p50_ms} ms, p95 ${result.latency_p95_ms} ms; service + PostgreSQL ${result.service_pg_us_per_cast} µs CPU per cast (PostgreSQL ${cpu?.postgres_us_per_cast}, of which its own database's backends ${result.postgres_own_db_us_per_cast}); ${result.requests_per_transaction} requests per database transaction`,
  );
  return result;
}

/** The service's count of HTTP transactions and their requests (GET /receiver/stats), or null when it has none. */
async function httpBatches(client: JsonClient): Promise<{ batches: number; requests: number } | null> {
  const { status, text } = await client.request('GET', '/api/v1/receiver/stats');
  if (status !== 200) return null;
  const st = JSON.parse(text) as { http_batches?: number; http_batched_requests?: number };
  return st.http_batches === undefined || st.http_batched_requests === undefined
    ? null
    : { batches: st.http_batches, requests: st.http_batched_requests };
}

/** Service + PostgreSQL CPU per cast, µs, from cpuPerCast's figures. */
export function servicePgUs(cpu: Record<string, number> | null): number | null {
  return cpu ? cpu.service_us_per_cast + cpu.postgres_us_per_cast : null;
}
