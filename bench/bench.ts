/**
 * The scale benchmark (issue 5): N deployment runs ingested through the real path — the built service
 * on PostgreSQL, casts published in Astute's format to RabbitMQ by this separate process — measured
 * against the physical limit (the same rows upserted straight with `pg`), then reads over HTTP, then a
 * full correctness check. Prints the figures and writes them as JSON to bench/results/.
 *
 *   npm run bench -- --transactions 10000            (the default workload: 1,000,000 rows + a 30,000-row run)
 *   npm run bench -- --transactions 200 --out /tmp/x  (the smoke preset run by the test suite)
 *
 * Its parts: options.ts (the command line), workload.ts (runs and their casts), service.ts (the service under test),
 * ingest.ts (publishing, CPU accounting), limits.ts (PostgreSQL's and RabbitMQ's own limits),
 * verify.ts (correctness), reads.ts (reads and retention).
 */
import * as amqp from 'amqplib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { araIngest, AraResult } from './ara';
import { httpIngest, HttpResult, servicePgUs } from './http';
import { ingest, IngestResult } from './ingest';
import { brokerRelay, postgresConnectionCost, rawUpserts } from './limits';
import { measureReads, measureRetention, readChecks } from './reads';
import { retentionBench } from './retention';
import { BenchService, startService, stopService } from './service';
import { log, round, waitFor } from './util';
import { verify } from './verify';
import { helpText, Options, parseArgs, UsageError } from './options';
import { makeRun, Run, slowRunIndex, slowTaskOf } from './workload';

/** The options, or the process ended: 0 after `--help`, 2 (naming the culprit) after a wrong command line. */
function commandLine(): Options {
  let parsed: Options | 'help';
  try {
    parsed = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`[bench] ${e.message}`);
    process.exit(2);
  }
  if (parsed === 'help') {
    process.stdout.write(helpText());
    process.exit(0);
  }
  return parsed;
}

async function main(): Promise<void> {
  const o = commandLine();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  log(
    `workload: ${o.transactions} runs on ${o.clusters} clusters, ${o.nodes} nodes × ${o.tasks} tasks each, then one run of ${o.bigNodes} × ${o.bigTasks}`,
  );
  const service = await startService(o);
  const conn = await amqp.connect(o.amqpUrl);
  const db = new Client({ connectionString: service.dbUrl });
  try {
    await waitFor(async () => (await fetch(`${service.base}/health/ready`)).ok, 'the service', 60_000);
    await db.connect();
    if (o.rowsOnly > 0) {
      // Issue #17's retention at scale (bench/retention.ts): its own figures, in a file of their own.
      const r = await retentionBench(o, service, db);
      mkdirSync(o.out, { recursive: true });
      writeFileSync(join(o.out, `retention-${stamp}.json`), JSON.stringify(r, null, 2) + '\n');
      return;
    }
    // Astute casts fire-and-forget: a plain channel, no publisher confirms; completion is read from the service.
    const ch = await conn.createChannel();
    const result = await measure(o, service, ch, db);
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, `bench-${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
    if (o.latest) writeFileSync(join(o.out, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify(result, null, 2));
    summary(result);
    if (!result.correct) {
      console.error('[bench] FAILED: the final database is not what the casts say');
      process.exitCode = 1;
    }
    if (result.read_checks.empty.length > 0) {
      // The workload gives every read something to find at every scale (bench/README.md): an empty answer measures nothing.
      console.error(`[bench] FAILED: these reads found nothing: ${result.read_checks.empty.join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    await db.end().catch(() => undefined);
    await stopService(service, o, conn);
  }
}

/** The headline figures, after the JSON. */
function summary(r: ReturnType<typeof result>): void {
  log(
    `summary: ingest ${r.ingest_updates_per_s} updates/s; broker alone ${r.broker_relay_before.msgs_per_s} and ${r.broker_relay.msgs_per_s} msg/s (before and after); ratio_to_broker ${r.ratio_to_broker} (${r.ratio_to_broker_range.join(' to ')}); ` +
      `service_pg_us_per_cast ${r.service_pg_us_per_cast} (service ${r.cpu?.service_us_per_cast}, PostgreSQL ${r.cpu?.postgres_us_per_cast}, of which for this database ${r.cpu?.postgres_own_us_per_cast}: ` +
      `backends ${r.cpu?.postgres_backends_us_per_cast}, autovacuum ${r.cpu?.postgres_autovacuum_us_per_cast}, WAL writer/checkpointer/bgwriter ${r.cpu?.postgres_background_us_per_cast}); ` +
      `raw upserts ${r.raw_upserts_per_s}/s (ratio ${r.ratio}); peak RSS ${r.rss_peak_mb} MB; correct ${r.correct}`,
  );
  if (r.http_path)
    log(
      `summary: HTTP path ${r.http_path.casts_per_s} casts/s (${r.http_path.clients} clients, one cast per request), p50 ${r.http_path.latency_p50_ms} ms, p95 ${r.http_path.latency_p95_ms} ms, service + PostgreSQL ${r.http_path.service_pg_us_per_cast} µs per cast (PostgreSQL ${r.http_path.cpu?.postgres_us_per_cast})`,
    );
  if (r.ara?.reachable) {
    const c = araConnections(r.ara, r.machine.postgres_connection_us);
    log(
      `summary: ARA ${r.ara.results_per_s} results/s (${r.ara.clients} clients); ours ÷ ARA = ${r.http_to_ara_ratio}; ` +
        `ARA's PostgreSQL ${r.ara.postgres_us_per_result} µs per result, ~${c.us} of it its connections ` +
        `(${c.perResult} per result, ${r.machine.postgres_connection_us} µs each on this machine)`,
    );
  } else if (r.ara) log(`summary: ARA not reachable at ${r.ara.url} (${r.ara.reason}): not compared`);
  log(
    `summary: reads above their p95 target: ${r.read_checks.over_target.join(', ') || 'none'}; reads that found nothing: ${r.read_checks.empty.join(', ') || 'none'}`,
  );
}

/** ARA's connections per result (one per request), and the PostgreSQL CPU per result they cost at this machine's price of one (`conn` µs). */
function araConnections(ara: Extract<AraResult, { reachable: true }>, conn: number | null): { perResult: number; us: number | null } {
  return {
    perResult: round(ara.requests / Math.max(1, ara.results)),
    us: conn === null || !ara.results ? null : Math.round((ara.requests / ara.results) * conn),
  };
}

/** Every measurement, in order: ingest, the large run, the physical limits, correctness, reads, retention. */
async function measure(o: Options, service: BenchService, ch: amqp.Channel, db: Client) {
  const runs: Run[] = [];
  const slow = slowRunIndex(o);
  for (let i = 0; i < o.transactions; i++)
    runs.push(makeRun(o, i, `bench-${i}`, (i % o.clusters) + 1, o.nodes, o.tasks, i === slow ? slowTaskOf(o.tasks) : undefined));
  const big = makeRun(o, o.transactions, 'bench-big', 1, o.bigNodes, o.bigTasks);

  // The broker's own limit is measured on both sides of the ingest (below for the second time): the machine's
  // speed drifts over minutes here (the relay alone 21,600 to 30,900 msg/s between runs of one session), and
  // the ratio is taken against the mean of the two, the rate nearest the ingest's own time.
  const relayBefore = await relayAlone(o, service, runs, 'before the ingest');
  const main = await ingest(o, service, ch, runs);
  const ingestRate = main.updates / main.seconds;
  log(
    `ingest: ${main.updates} status updates in ${main.seconds.toFixed(1)} s = ${Math.round(ingestRate)} updates/s; peak RSS ${Math.round(service.rssPeak())} MB`,
  );
  const bigIngest = await ingest(o, service, ch, [big]);
  log(`large run: ${bigIngest.updates} updates in ${bigIngest.seconds.toFixed(1)} s`);

  // The HTTP path, one cast per request, as ARA is measured; runs of the same shape on clusters of their own
  // (cluster 3's reads and the bus runs' figures stay as they were). ARA, when given, gets the same runs.
  const httpRuns: Run[] = [];
  for (let i = 0; o.httpClients > 0 && i < o.httpRuns; i++)
    httpRuns.push(makeRun(o, i, `http-${i}`, o.clusters + 1 + (i % o.clusters), o.nodes, o.tasks));
  const http = httpRuns.length ? await httpIngest(service, httpRuns, o.httpClients) : null;
  const ara = o.araUrl !== undefined && httpRuns.length ? await araIngest(o.araUrl, httpRuns, o.httpClients) : null;
  if (ara && !ara.reachable) log(`ARA (${ara.url}) not reachable: ${ara.reason}; not compared`);

  // The physical limit: the same updates, upserted straight with pg, multi-row, same batch size.
  const raw = await rawUpserts(db, runs, o.batch);
  log(`raw upserts: ${raw.updates} updates in ${raw.seconds.toFixed(1)} s = ${Math.round(raw.updates / raw.seconds)} updates/s`);

  // The broker's own limit on this machine, the second time (relayAlone).
  const relay = await relayAlone(o, service, runs, 'after the ingest');
  // The casts are not sent again: let them go (~940 MB at 10,000 runs), so that this process's own garbage
  // collection of them does not run inside the reads' timed requests below (the load during retention makes
  // runs of its own).
  for (const r of [...runs, big]) r.casts = [];

  // What a connection costs PostgreSQL here: ARA opens one per request (its figures depend on it).
  const connection = await postgresConnectionCost(service.dbUrl);
  log(`PostgreSQL: ${connection.postgres_us_per_connection} µs of its CPU per connection (${connection.connections} opened and closed)`);

  // Correctness: every row in its expected final status; the count exact.
  const correct = await verify(db, [...runs, big, ...httpRuns]);
  log(`correctness: ${correct.mismatches} rows not in their expected status, ${correct.rows} rows (expected ${correct.expectedRows})`);

  const reads = await measureReads(o, service.base, db, runs, big);
  const checks = readChecks(reads);
  log(`reads above their p95 target: ${checks.over_target.join(', ') || 'none'}`);
  // BENCH_KEEP_DATABASE=1 (bench/service.ts): the database is kept as the reads found it, for its plans.
  const retention = process.env.BENCH_KEEP_DATABASE === '1' ? [] : await measureRetention(o, service.base);
  const postgres = (await db.query<{ server_version: string }>('SHOW server_version')).rows[0].server_version;
  return result(o, {
    main,
    bigIngest,
    ingestRate,
    raw,
    relay,
    relayBefore,
    connection,
    http,
    ara,
    correct,
    reads,
    checks,
    retention,
    postgres,
    rssPeak: service.rssPeak(),
  });
}

type RelayResult = Awaited<ReturnType<typeof brokerRelay>>;

/** The same casts relayed by RabbitMQ alone, to a plain consumer that parses and acks them, with no service and no database. */
async function relayAlone(o: Options, service: BenchService, runs: Run[], when: string): Promise<RelayResult> {
  const relay = await brokerRelay(o.amqpUrl, service.names, runs.flatMap((r) => r.casts).slice(0, 300_000), o.window);
  log(
    `broker alone (${when}): ${relay.messages} casts relayed at ${relay.msgs_per_s} msg/s; RabbitMQ ${relay.rabbitmq_us_per_msg} µs CPU per message, publisher + consumer ${relay.client_us_per_msg} µs`,
  );
  return relay;
}

/** The broker's relay rate the ingest is compared with: the mean of its measures before and after the ingest. */
function relayMean(before: RelayResult, after: RelayResult): number {
  return (before.msgs_per_s + after.msgs_per_s) / 2;
}

/** The figures as written to bench/results/ (its fields are what earlier results are compared by). */
function result(
  o: Options,
  m: {
    main: IngestResult;
    bigIngest: IngestResult;
    ingestRate: number;
    raw: Awaited<ReturnType<typeof rawUpserts>>;
    relay: RelayResult;
    relayBefore: RelayResult;
    connection: Awaited<ReturnType<typeof postgresConnectionCost>>;
    http: HttpResult | null;
    ara: AraResult | null;
    correct: Awaited<ReturnType<typeof verify>>;
    reads: Awaited<ReturnType<typeof measureReads>>;
    checks: ReturnType<typeof readChecks>;
    retention: Awaited<ReturnType<typeof measureRetention>>;
    postgres: string;
    rssPeak: number;
  },
) {
  const { main, bigIngest, ingestRate, raw, correct } = m;
  return {
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model,
      memory_gb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      postgres: m.postgres,
      // ARA's Django opens a PostgreSQL connection per request: what one costs here (limits.ts).
      postgres_connection_us: m.connection.postgres_us_per_connection,
    },
    date: new Date().toISOString(),
    transactions: o.transactions,
    clusters: o.clusters,
    rows: correct.rows,
    casts: main.casts + bigIngest.casts,
    status_updates: main.updates,
    ingest_seconds: round(main.seconds),
    ingest_updates_per_s: Math.round(ingestRate),
    large_run: {
      rows: o.bigNodes * o.bigTasks,
      updates: bigIngest.updates,
      seconds: round(bigIngest.seconds),
      updates_per_s: Math.round(bigIngest.updates / bigIngest.seconds),
    },
    raw_upserts_per_s: Math.round(raw.updates / raw.seconds),
    ratio: round(ingestRate / (raw.updates / raw.seconds)),
    broker_relay: m.relay,
    broker_relay_before: m.relayBefore,
    // Issue #17: the ingest against the broker's own relay rate, same run (the mean of its two measures, one
    // on each side of the ingest; the ratio against each of them in `ratio_to_broker_range`); and our side's
    // CPU per cast.
    ratio_to_broker: round(ingestRate / relayMean(m.relayBefore, m.relay)),
    ratio_to_broker_range: [m.relayBefore, m.relay].map((r) => round(ingestRate / r.msgs_per_s)).sort((a, b) => a - b),
    service_pg_us_per_cast: servicePgUs(main.cpu),
    http_path: m.http,
    ara: m.ara,
    http_to_ara_ratio: m.http && m.ara?.reachable ? round(m.http.casts_per_s / m.ara.results_per_s) : null,
    rss_peak_mb: Math.round(m.rssPeak),
    cpu: main.cpu,
    wal: main.wal,
    queue_ready: main.queue_ready,
    batch_size: o.batch,
    // The client the reads were timed with (--read-client): its own CPU is inside every figure.
    read_client: o.readClient,
    reads: m.reads,
    read_checks: m.checks,
    retention: m.retention,
    correct: correct.mismatches === 0 && correct.rows === correct.expectedRows,
  };
}

main().catch((e) => {
  console.error(`[bench] ${e instanceof Error ? e.stack : e}`);
  process.exit(1);
});
