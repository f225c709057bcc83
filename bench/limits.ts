import * as amqp from 'amqplib';
import { Client } from 'pg';
import { cpuSample } from './ingest';
import { processes, sleep, waitFor } from './util';
import { Final, Run, taskName } from './workload';

/** The physical limits the ingest is measured against: PostgreSQL's (raw upserts) and RabbitMQ's (relay alone). */

/**
 * The physical limit: the same status updates written straight to PostgreSQL with `pg`, as multi-row
 * upserts of the same batch size, into a copy of the history table with the same indexes. The pending
 * rows are inserted first (untimed, as the service's start casts are not status updates); then the
 * `running` and the outcome updates are timed.
 */
export async function rawUpserts(db: Client, runs: Run[], batch: number): Promise<{ updates: number; seconds: number }> {
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
export async function brokerRelay(amqpUrl: string, names: string, bodies: Buffer[], window: number) {
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
  const us = (k: 'rabbitmq' | 'publisher') => (before && after ? Math.round(((after[k] - before[k]) / bodies.length) * 1e6) : null);
  return {
    messages: bodies.length,
    msgs_per_s: Math.round(bodies.length / seconds),
    rabbitmq_us_per_msg: us('rabbitmq'),
    client_us_per_msg: us('publisher'),
  };
}

/**
 * What a PostgreSQL connection costs PostgreSQL on this machine: `count` connections opened, asked `SELECT 1`
 * and closed one after the other, and the CPU of every PostgreSQL process over them (the postmaster's fork,
 * the backend's start and end; the reaped backends' CPU counted, as cpuSample does). ARA's Django opens a
 * connection per request, so on a machine where starting a process is dear (the sixth round's: 23 ms of
 * PostgreSQL's CPU per connection) this is most of ARA's PostgreSQL CPU per result, and says how far ARA's
 * figure is the machine's rather than ARA's. Null when /proc cannot be read.
 */
export async function postgresConnectionCost(
  databaseUrl: string,
  count = 50,
): Promise<{ connections: number; postgres_us_per_connection: number | null }> {
  const pidsBefore = new Set(postgresPids());
  const before = cpuSample(undefined)?.postgres;
  for (let i = 0; i < count; i++) {
    const c = new Client({ connectionString: databaseUrl });
    await c.connect();
    try {
      await c.query('SELECT 1');
    } finally {
      await c.end();
    }
  }
  // A backend ends after its client has gone, and its CPU reaches the postmaster's reaped children once it
  // is reaped: wait until no PostgreSQL process is left that was not there before (5 s at most).
  const ended = () => Promise.resolve(postgresPids().every((pid) => pidsBefore.has(pid)));
  await waitFor(ended, 'the closed connections to end', 5000).catch(() => undefined);
  const after = cpuSample(undefined)?.postgres;
  return {
    connections: count,
    postgres_us_per_connection: before === undefined || after === undefined ? null : Math.round(((after - before) / count) * 1e6),
  };
}

/** The machine's PostgreSQL processes (by their command name, as cpuSample finds them). */
const postgresPids = (): string[] => processes().flatMap((p) => (p.comm === 'postgres' ? [p.pid] : []));
