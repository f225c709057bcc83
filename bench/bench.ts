/**
 * The scale benchmark (issue 5): N deployment runs ingested through the real path — the built service
 * on PostgreSQL, casts published in Astute's format to RabbitMQ by this separate process — measured
 * against the physical limit (the same rows upserted straight with `pg`), then reads over HTTP, then a
 * full correctness check. Prints the figures and writes them as JSON to bench/results/.
 *
 *   npm run bench -- --transactions 10000            (the default workload: 1,000,000 rows + a 30,000-row run)
 *   npm run bench -- --transactions 200 --out /tmp/x  (the smoke preset run by the test suite)
 */
import * as amqp from 'amqplib';
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';

interface Options {
  transactions: number;
  clusters: number;
  nodes: number;
  tasks: number;
  bigNodes: number;
  bigTasks: number;
  batch: number;
  readSamples: number;
  duplicates: number;
  outOfOrder: number;
  out: string;
  latest: boolean;
  databaseUrl: string;
  amqpUrl: string;
  port: number;
  window: number;
}

function options(argv: string[]): Options {
  const get = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
  };
  const transactions = Number(get('transactions', '10000'));
  return {
    transactions,
    clusters: Number(get('clusters', '20')),
    nodes: Number(get('nodes', '10')),
    tasks: Number(get('tasks', '10')),
    bigNodes: Number(get('big-nodes', '200')),
    bigTasks: Number(get('big-tasks', '150')),
    batch: Number(get('batch', '1000')),
    readSamples: Number(get('read-samples', '100')),
    duplicates: Number(get('duplicates', '0.05')),
    outOfOrder: Number(get('out-of-order', '0.05')),
    out: resolve(get('out', join(__dirname, 'results'))),
    latest: argv.includes('--latest') || (transactions >= 10000 && !argv.includes('--no-latest')),
    databaseUrl: get('database-url', process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres'),
    amqpUrl: get('amqp-url', process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672'),
    port: Number(get('port', '8765')),
    window: Number(get('window', '20000')),
  };
}

/** Deterministic random numbers (mulberry32). */
function rng(seed: number) {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Final = 'ready' | 'error' | 'skipped';
interface Run {
  uuid: string;
  cluster: number;
  nodes: number;
  tasks: number;
  /** Final status of each (node, task), node-major. */
  finals: Final[];
  /** The casts, serialized ahead (an orchestrator's cost of making a message is not the service's), in order. */
  casts: Buffer[];
  /** How many of them are status updates (carry nodes[] entries). */
  updates: number;
}

const TASK_NAMES = [
  'hiera',
  'globals',
  'netconfig',
  'tools',
  'hosts',
  'firewall',
  'ntp-client',
  'openstack-haproxy-mysqld',
  'rabbitmq',
  'keystone',
];
const taskName = (i: number) => (i < TASK_NAMES.length ? TASK_NAMES[i] : `task-${i}`);

/** One run, and its casts as Astute sends them: one nodes[] entry per cast, running then the outcome. */
function makeRun(o: Options, index: number, uuid: string, cluster: number, nodes: number, tasks: number): Run {
  const rand = rng(index + 1);
  const graph: Record<string, Array<{ id: string; type: string }>> = {};
  for (let n = 1; n <= nodes; n++) graph[String(n)] = Array.from({ length: tasks }, (_, t) => ({ id: taskName(t), type: 'puppet' }));
  const finals: Final[] = [];
  const reports: unknown[] = [];
  const base = Date.UTC(2026, 0, 1) + index * 60_000;
  let failed = false;
  for (let n = 1; n <= nodes; n++) {
    for (let t = 0; t < tasks; t++) {
      const r = rand();
      const final: Final = r < 0.03 ? 'error' : r < 0.08 ? 'skipped' : 'ready';
      if (final === 'error') failed = true;
      finals.push(final);
      const time = (k: number) => new Date(base + (t * 2 + k) * 1000).toISOString();
      const entry = (status: string, k: number, extra: Record<string, unknown> = {}) => ({
        method: 'transaction_resp',
        args: {
          task_uuid: uuid,
          nodes: [
            {
              uid: String(n),
              deployment_graph_task_name: taskName(t),
              task_status: status,
              progress: k ? 100 : 0,
              time: time(k),
              ...extra,
            },
          ],
        },
      });
      reports.push(entry('running', 0));
      reports.push(entry(final, 1, final === 'error' ? { error_msg: `Task ${taskName(t)} failed on node node-${n}` } : {}));
    }
  }
  // Out-of-order deliveries (a swap with the next cast) and duplicates (the same cast again, later).
  for (let i = 0; i + 1 < reports.length; i++) if (rand() < o.outOfOrder) [reports[i], reports[i + 1]] = [reports[i + 1], reports[i]];
  const withDuplicates: unknown[] = [];
  for (const c of reports) {
    withDuplicates.push(c);
    if (rand() < o.duplicates) withDuplicates.splice(Math.floor(rand() * withDuplicates.length), 0, c);
  }
  const start = {
    method: 'transaction_start',
    args: {
      task_uuid: uuid,
      name: 'deployment',
      graph_type: 'default',
      dry_run: false,
      cluster: { id: cluster, name: `bench-${cluster}`, release: 'mitaka-9.0' },
      tasks_graph: graph,
      time: new Date(base).toISOString(),
    },
  };
  const finish = {
    method: 'transaction_resp',
    args: {
      task_uuid: uuid,
      status: failed ? 'error' : 'ready',
      progress: 100,
      time: new Date(base + (tasks * 2 + 5) * 1000).toISOString(),
    },
  };
  const casts = [start, ...withDuplicates, finish];
  return { uuid, cluster, nodes, tasks, finals, casts: casts.map((c) => Buffer.from(JSON.stringify(c))), updates: withDuplicates.length };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type CpuSample = Record<'service' | 'postgres' | 'rabbitmq' | 'publisher' | 'machine', number>;

/**
 * CPU seconds used so far by the service, by every PostgreSQL and RabbitMQ process of the machine, by
 * this publisher, and by the whole machine (busy time over all cores), read from /proc (Linux).
 */
function cpuSample(servicePid: number | undefined): CpuSample | null {
  const hz = 100; // USER_HZ: 100 on Linux
  const ticks = (pid: string) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / hz;
  };
  try {
    const s: CpuSample = { service: 0, postgres: 0, rabbitmq: 0, publisher: 0, machine: 0 };
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        if (Number(pid) === servicePid) s.service += ticks(pid);
        else if (comm === 'postgres') s.postgres += ticks(pid);
        else if (comm === 'beam.smp') s.rabbitmq += ticks(pid);
      } catch {
        /* the process ended meanwhile */
      }
    }
    const u = process.cpuUsage();
    s.publisher = (u.user + u.system) / 1e6;
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
    s.machine = (cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]) / hz; // user nice system irq softirq steal
    return s;
  } catch {
    return null;
  }
}

async function waitFor<T>(check: () => Promise<T | false | null | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dbName = `dh_bench_${Date.now().toString(36)}`;
  const names = `dh_bench_${process.pid}`;
  const admin = new Client({ connectionString: o.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const dbUrl = new URL(o.databaseUrl);
  dbUrl.pathname = `/${dbName}`;
  const log = (s: string) => console.log(`[bench] ${s}`);
  log(
    `workload: ${o.transactions} runs on ${o.clusters} clusters, ${o.nodes} nodes × ${o.tasks} tasks each, then one run of ${o.bigNodes} × ${o.bigTasks}`,
  );

  // The service, as `npm start` runs it, on its own database, exchange and queue.
  // BENCH_SERVICE_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the service.
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const service: ChildProcess = spawn(process.execPath, [...nodeArgs, join(__dirname, '../dist/src/main.js')], {
    env: {
      ...process.env,
      DATABASE_URL: dbUrl.toString(),
      AMQP_URL: o.amqpUrl,
      AMQP_EXCHANGE: names,
      AMQP_QUEUE: names,
      AMQP_ROUTING_KEY: 'nailgun',
      PORT: String(o.port),
      LOG_LEVEL: 'warn',
      BATCH_MAX_SIZE: String(o.batch),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let rssPeak = 0;
  const rssTimer = setInterval(() => {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${service.pid}/status`, 'utf8'))?.[1] ?? 0);
      rssPeak = Math.max(rssPeak, kb / 1024);
    } catch {
      /* the service has not started or has ended */
    }
  }, 100);
  const base = `http://127.0.0.1:${o.port}`;
  const conn = await amqp.connect(o.amqpUrl);
  const db = new Client({ connectionString: dbUrl.toString() });
  try {
    await waitFor(async () => (await fetch(`${base}/health/ready`)).ok, 'the service', 60_000);
    await db.connect();
    // Astute casts fire-and-forget: a plain channel, no publisher confirms; completion is read from the service.
    const ch = await conn.createChannel();

    const runs: Run[] = [];
    for (let i = 0; i < o.transactions; i++) runs.push(makeRun(o, i, `bench-${i}`, (i % o.clusters) + 1, o.nodes, o.tasks));
    const big = makeRun(o, o.transactions, 'bench-big', 1, o.bigNodes, o.bigTasks);

    /**
     * The service's receiver counters. Asked again once if the request fails: a keep-alive connection
     * the server closed after idling (while this process prepares the casts) fails the first request on it.
     */
    type ReceiverStats = {
      applied: number;
      duplicates: number;
      dead_lettered: number;
      batches: number;
      batched_casts: number;
      commit_ms: number;
    };
    const receiverStats = async (): Promise<ReceiverStats> => {
      const get = async () => (await (await fetch(`${base}/api/v1/receiver/stats`)).json()) as ReceiverStats;
      return get().catch(get);
    };

    /** Publishes the runs, a few clusters' runs interleaved as concurrent deployments would be. */
    async function ingest(set: Run[]): Promise<{ casts: number; updates: number; seconds: number; cpu: Record<string, number> | null }> {
      const before = await receiverStats();
      let casts = 0;
      let updates = 0;
      const lanes = Math.min(o.clusters, set.length);
      const queues = Array.from({ length: lanes }, (_, l) => set.filter((_, i) => i % lanes === l));
      for (const run of set) updates += run.updates;
      /** Casts of each run published so far (the casts are kept: the broker's baseline sends them again). */
      const sentOf = new Map<Run, number>();
      const cpuBefore = cpuSample(service.pid);
      const started = process.hrtime.bigint();
      const committed = async () => {
        const st = await receiverStats();
        return st.applied + st.duplicates + st.dead_lettered - (before.applied + before.duplicates + before.dead_lettered);
      };
      // Like an orchestrator, the publisher does not run arbitrarily far ahead of the consumer: at most
      // `window` casts in flight, so the broker relays messages instead of storing a backlog. It asks
      // the service how far it got every 20 ms at most: asking in a tight loop loads the service measured.
      let done = 0;
      for (let step = 0; queues.some((q) => q.length); step++) {
        while (o.window > 0 && casts - done > o.window) {
          done = await committed();
          if (casts - done > o.window) await sleep(20);
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
          if (!ch.publish(names, 'nailgun', cast, { contentType: 'application/json' })) await new Promise((r) => ch.once('drain', r));
        }
      }
      const published = process.hrtime.bigint();
      await waitFor(
        async () => {
          const s = await receiverStats();
          const done = s.applied + s.duplicates + s.dead_lettered - (before.applied + before.duplicates + before.dead_lettered);
          return done >= casts;
        },
        'every cast to be committed',
        30 * 60_000,
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpuAfter = cpuSample(service.pid);
      // Microseconds of CPU per cast, by process, and the share of the machine's cores that was busy.
      const cpu =
        cpuBefore && cpuAfter
          ? {
              ...Object.fromEntries(
                (['service', 'postgres', 'rabbitmq', 'publisher'] as const).map((k) => [
                  `${k}_us_per_cast`,
                  Math.round(((cpuAfter[k] - cpuBefore[k]) / casts) * 1e6),
                ]),
              ),
              machine_busy_percent: Math.round(((cpuAfter.machine - cpuBefore.machine) / seconds / cpus().length) * 100),
            }
          : null;
      if (cpu)
        log(
          `CPU per cast: ${Object.entries(cpu)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        );
      const st = await receiverStats();
      log(
        `service: ${st.batches} batches, ${Math.round(st.batched_casts / st.batches)} casts each on average, ${(st.commit_ms / st.batches).toFixed(1)} ms per commit`,
      );
      log(`published ${casts} casts in ${(Number(published - started) / 1e9).toFixed(1)} s; all committed after ${seconds.toFixed(1)} s`);
      return { casts, updates, seconds, cpu };
    }

    const main = await ingest(runs);
    const ingestRate = main.updates / main.seconds;
    log(
      `ingest: ${main.updates} status updates in ${main.seconds.toFixed(1)} s = ${Math.round(ingestRate)} updates/s; peak RSS ${Math.round(rssPeak)} MB`,
    );
    const bigIngest = await ingest([big]);
    log(`large run: ${bigIngest.updates} updates in ${bigIngest.seconds.toFixed(1)} s`);

    // The physical limit: the same updates, upserted straight with pg, multi-row, same batch size.
    const raw = await rawUpserts(db, runs, o.batch);
    log(`raw upserts: ${raw.updates} updates in ${raw.seconds.toFixed(1)} s = ${Math.round(raw.updates / raw.seconds)} updates/s`);

    // The broker's own limit on this machine: the same casts relayed by RabbitMQ alone, to a plain
    // consumer that parses and acks them, with no service and no database.
    const relay = await brokerRelay(o.amqpUrl, names, runs.flatMap((r) => r.casts).slice(0, 300_000), o.window);
    log(
      `broker alone: ${relay.messages} casts relayed at ${relay.msgs_per_s} msg/s; RabbitMQ ${relay.rabbitmq_us_per_msg} µs CPU per message, publisher + consumer ${relay.client_us_per_msg} µs`,
    );

    // Correctness: every row in its expected final status; the count exact.
    const correct = await verify(db, [...runs, big]);
    log(`correctness: ${correct.mismatches} rows not in their expected status, ${correct.rows} rows (expected ${correct.expectedRows})`);

    // Reads at that scale, on a settled database: the baseline's scratch table dropped, and the
    // vacuum that autovacuum would start now (after a million fresh rows) done first, not during them.
    await db.query(`DROP TABLE raw_history`);
    await db.query(`VACUUM (ANALYZE) deployment_history, transactions, cluster_state`);
    const ids = new Map<string, number>(
      (
        await db.query(`SELECT id, uuid FROM transactions WHERE uuid = ANY($1)`, [[runs[Math.floor(runs.length / 2)].uuid, big.uuid]])
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
    const readFigures: Record<string, { p50_ms: number; p95_ms: number; rows: number }> = {};
    for (const [name, path] of Object.entries(reads)) {
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < o.readSamples + 5; i++) {
        const t0 = process.hrtime.bigint();
        const res = await fetch(base + path);
        const body = await res.json();
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
        rows = Array.isArray(body) ? body.length : 1;
        if (i >= 5) times.push(ms); // the first few warm the caches
      }
      times.sort((a, b) => a - b);
      readFigures[name] = { p50_ms: round(percentile(times, 50)), p95_ms: round(percentile(times, 95)), rows };
      log(`read ${name}: p50 ${readFigures[name].p50_ms} ms, p95 ${readFigures[name].p95_ms} ms (${rows} rows)`);
    }

    // Retention at that scale: first keep the last half of each cluster's runs (space freed for reuse),
    // then the last tenth, compacting (space given back to the system).
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

    const result = {
      machine: {
        cores: cpus().length,
        cpu: cpus()[0]?.model,
        memory_gb: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        postgres: (await db.query('SHOW server_version')).rows[0].server_version,
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
      broker_relay: relay,
      rss_peak_mb: Math.round(rssPeak),
      cpu: main.cpu,
      batch_size: o.batch,
      reads: readFigures,
      retention,
      correct: correct.mismatches === 0 && correct.rows === correct.expectedRows,
    };
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, `bench-${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
    if (o.latest) writeFileSync(join(o.out, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify(result, null, 2));
    if (!result.correct) {
      console.error('[bench] FAILED: the final database is not what the casts say');
      process.exitCode = 1;
    }
  } finally {
    clearInterval(rssTimer);
    service.kill('SIGTERM');
    await new Promise((r) => (service.exitCode !== null ? r(null) : service.once('exit', r)));
    await db.end().catch(() => undefined);
    const ch = await conn.createChannel();
    await ch.deleteQueue(names).catch(() => undefined);
    await ch.deleteQueue(`${names}.dead-letter`).catch(() => undefined);
    await ch.deleteExchange(names).catch(() => undefined);
    await ch.deleteExchange(`${names}.dead-letter`).catch(() => undefined);
    await conn.close().catch(() => undefined);
    const drop = new Client({ connectionString: o.databaseUrl });
    await drop.connect();
    await drop.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await drop.end();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

/**
 * The physical limit: the same status updates written straight to PostgreSQL with `pg`, as multi-row
 * upserts of the same batch size, into a copy of the history table with the same indexes. The pending
 * rows are inserted first (untimed, as the service's start casts are not status updates); then the
 * `running` and the outcome updates are timed.
 */
async function rawUpserts(db: Client, runs: Run[], batch: number): Promise<{ updates: number; seconds: number }> {
  await db.query(`CREATE TABLE raw_history (LIKE deployment_history INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS)`);
  await db.query(`ALTER TABLE raw_history ADD CONSTRAINT raw_history_uq UNIQUE NULLS NOT DISTINCT (transaction_id, task_name, node_id)`);
  await db.query(`CREATE INDEX raw_history_cluster_time_idx ON raw_history (cluster_id, sort_time DESC, id DESC)`);
  await db.query(`CREATE INDEX raw_history_node_time_idx ON raw_history (cluster_id, node_id, sort_time DESC, id DESC)`);
  type Row = { tx: number; cluster: number; node: string; task: string; final: Final };
  const rows: Row[] = [];
  runs.forEach((run, r) => {
    let i = 0;
    for (let n = 1; n <= run.nodes; n++)
      for (let t = 0; t < run.tasks; t++)
        rows.push({ tx: r + 1, cluster: run.cluster, node: String(n), task: taskName(t), final: run.finals[i++] });
  });
  const upsert = async (chunk: Row[], status: (r: Row) => string, timeStart: Date | null, timeEnd: Date | null) =>
    db.query(
      `INSERT INTO raw_history (id, transaction_id, cluster_id, node_id, task_name, status, time_start, time_end)
       SELECT nextval('deployment_history_id_seq'), u.tx, u.cl, u.node, u.task, u.status::history_status, $6, $7
       FROM unnest($1::int[], $2::int[], $3::varchar[], $4::varchar[], $5::text[]) AS u(tx, cl, node, task, status)
       ON CONFLICT (transaction_id, task_name, node_id) DO UPDATE
       SET status = EXCLUDED.status, time_start = COALESCE(raw_history.time_start, EXCLUDED.time_start), time_end = EXCLUDED.time_end`,
      [
        chunk.map((x) => x.tx),
        chunk.map((x) => x.cluster),
        chunk.map((x) => x.node),
        chunk.map((x) => x.task),
        chunk.map(status),
        timeStart,
        timeEnd,
      ],
    );
  for (let i = 0; i < rows.length; i += batch) await upsert(rows.slice(i, i + batch), () => 'pending', null, null);
  const t0 = process.hrtime.bigint();
  let updates = 0;
  for (const phase of ['running', 'final'] as const) {
    for (let i = 0; i < rows.length; i += batch) {
      const chunk = rows.slice(i, i + batch);
      const now = new Date();
      await upsert(chunk, (x) => (phase === 'running' ? 'running' : x.final), now, phase === 'final' ? now : null);
      updates += chunk.length;
    }
  }
  return { updates, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/**
 * RabbitMQ's own cost and rate on this machine: the casts published to a scratch queue and consumed
 * by a plain amqplib consumer (prefetch 2000, one multiple ack per 1000, each message parsed), with the
 * same window of casts in flight as the ingest.
 */
async function brokerRelay(amqpUrl: string, names: string, bodies: Buffer[], window: number) {
  // Two connections, as publisher and consumer are two processes in the ingest (RabbitMQ's flow
  // control blocks a publishing connection, which would hold back the consumer's acks with it).
  const pubConn = await amqp.connect(amqpUrl);
  const subConn = await amqp.connect(amqpUrl);
  const pub = await pubConn.createChannel();
  const sub = await subConn.createChannel();
  const exchange = `${names}.relay`;
  const queue = `${names}.relay`;
  await pub.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
  await sub.assertQueue(queue, { durable: true });
  await sub.bindQueue(queue, exchange, 'nailgun');
  await sub.prefetch(2000);
  let received = 0;
  let unacked = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  await sub.consume(queue, (m) => {
    if (!m) return;
    JSON.parse(m.content.toString());
    received++;
    if (++unacked >= 1000 || received === bodies.length) {
      sub.ack(m, true);
      unacked = 0;
    }
    if (received === bodies.length) finish();
  });
  const before = cpuSample(undefined);
  const started = process.hrtime.bigint();
  let sent = 0;
  while (sent < bodies.length) {
    while (sent - received > window) await sleep(1);
    for (let i = 0; i < 100 && sent < bodies.length; i++) {
      if (!pub.publish(exchange, 'nailgun', bodies[sent++], { contentType: 'application/json' }))
        await new Promise((r) => pub.once('drain', r));
    }
    await new Promise((r) => setImmediate(r));
  }
  await finished;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const after = cpuSample(undefined);
  await sub.deleteQueue(queue).catch(() => undefined);
  await pub.deleteExchange(exchange).catch(() => undefined);
  await Promise.all([pubConn.close(), subConn.close()]).catch(() => undefined);
  const us = (k: keyof CpuSample) => (before && after ? Math.round(((after[k] - before[k]) / bodies.length) * 1e6) : null);
  return {
    messages: bodies.length,
    msgs_per_s: Math.round(bodies.length / seconds),
    rabbitmq_us_per_msg: us('rabbitmq'),
    client_us_per_msg: us('publisher'),
  };
}

/** Compares every row with the status its casts say it must end in. */
async function verify(db: Client, runs: Run[]): Promise<{ mismatches: number; rows: number; expectedRows: number }> {
  await db.query(`CREATE TEMP TABLE expected (uuid text, node_id text, task_name text, status text)`);
  let expectedRows = 0;
  for (const run of runs) {
    const node: string[] = [];
    const task: string[] = [];
    for (let n = 1; n <= run.nodes; n++) for (let t = 0; t < run.tasks; t++) (node.push(String(n)), task.push(taskName(t)));
    expectedRows += node.length;
    await db.query(`INSERT INTO expected SELECT $1, u.n, u.t, u.s FROM unnest($2::text[], $3::text[], $4::text[]) AS u(n, t, s)`, [
      run.uuid,
      node,
      task,
      run.finals,
    ]);
  }
  const { rows } = await db.query(
    `SELECT count(*) FILTER (WHERE h.status::text IS DISTINCT FROM e.status)::int AS mismatches,
            (SELECT count(*)::int FROM deployment_history) AS rows
     FROM expected e JOIN transactions t ON t.uuid = e.uuid
     LEFT JOIN deployment_history h ON h.transaction_id = t.id AND h.node_id = e.node_id AND h.task_name = e.task_name`,
  );
  return { mismatches: rows[0].mismatches, rows: rows[0].rows, expectedRows };
}

main().catch((e) => {
  console.error(`[bench] ${e instanceof Error ? e.stack : e}`);
  process.exit(1);
});
