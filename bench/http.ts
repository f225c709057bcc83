import * as http from 'node:http';
import * as https from 'node:https';
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

/**
 * The clients' side of the HTTP path (ours and ARA's): node:http on keep-alive connections, one per client.
 * Not fetch(): undici's fetch spent ~1 ms of CPU per request on this machine (945–1,400 µs per cast measured
 * in the benchmark), as much as the service it measured, on the same 2 cores; node:http spends ~300 µs.
 * Both servers are sent the same headers (JSON, no Accept-Encoding: answers come as they are).
 */
export class JsonClient {
  private readonly agent: http.Agent;
  private readonly lib: typeof http | typeof https;

  constructor(
    readonly base: string,
    clients: number,
  ) {
    this.lib = base.startsWith('https:') ? https : http;
    this.agent = new this.lib.Agent({ keepAlive: true, maxSockets: clients });
  }

  /** `method path` with a JSON body (a string or bytes as they are, else serialized): the status and the answer's text. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const bytes = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = this.lib.request(
        `${this.base}${path}`,
        {
          method,
          agent: this.agent,
          headers: bytes === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(bytes) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(bytes);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Sends every run's casts, `clients` requests in flight at once; throws on any answer that is not 200. */
export async function httpIngest(service: BenchService, runs: Run[], clients: number): Promise<HttpResult> {
  const lanes = Array.from({ length: clients }, (_, c) => runs.filter((_, i) => i % clients === c));
  const client = new JsonClient(service.base, clients);
  const latencies: number[] = [];
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
  ).finally(() => client.close());
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
