import { percentileOfSorted } from '../src/history/task-stats';
import { cpuPerCast, cpuSample } from './ingest';
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
}

/** Sends every run's casts, `clients` requests in flight at once; throws on any answer that is not 200. */
export async function httpIngest(service: BenchService, runs: Run[], clients: number): Promise<HttpResult> {
  const lanes = Array.from({ length: clients }, (_, c) => runs.filter((_, i) => i % clients === c));
  const latencies: number[] = [];
  const cpuBefore = cpuSample(service.process.pid);
  const started = process.hrtime.bigint();
  await Promise.all(
    lanes.map(async (lane) => {
      for (const run of lane)
        for (const cast of run.casts) {
          const t0 = process.hrtime.bigint();
          const res = await fetch(`${service.base}/api/v1/casts`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: cast,
          });
          const body = await res.text();
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (res.status !== 200) throw new Error(`POST /api/v1/casts (run ${run.uuid}): ${res.status} ${body.slice(0, 500)}`);
        }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const casts = latencies.length;
  const cpu = cpuPerCast(cpuBefore, cpuSample(service.process.pid), casts, seconds);
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
  };
  log(
    `HTTP path: ${casts} casts, one per request, ${clients} clients: ${result.casts_per_s} casts/s, p50 ${result.latency_p50_ms} ms, p95 ${result.latency_p95_ms} ms; service + PostgreSQL ${result.service_pg_us_per_cast} µs CPU per cast`,
  );
  return result;
}

/** Service + PostgreSQL CPU per cast, µs, from cpuPerCast's figures. */
export function servicePgUs(cpu: Record<string, number> | null): number | null {
  return cpu ? cpu.service_us_per_cast + cpu.postgres_us_per_cast : null;
}
