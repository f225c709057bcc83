import type * as amqp from 'amqplib';
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import type { Options } from './options';
import { log } from './util';

/** The service under test, as `npm start` runs it, on its own database, exchange and queue. */
export interface BenchService {
  process: ChildProcess;
  /** Its HTTP base URL. */
  base: string;
  /** Its database's URL. */
  dbUrl: string;
  /** Its exchange and queue. */
  names: string;
  /** The largest resident memory seen so far, MB. */
  rssPeak(): number;
}

export async function startService(o: Options): Promise<BenchService> {
  const dbName = `dh_bench_${Date.now().toString(36)}`;
  const names = `dh_bench_${process.pid}`;
  const admin = new Client({ connectionString: o.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const dbUrl = new URL(o.databaseUrl);
  dbUrl.pathname = `/${dbName}`;
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
      // Said when it first passes each 50 MB step from 250 MB, so that the phase it belongs to shows in the log.
      const mb = kb / 1024;
      if (mb >= 250 && Math.floor(mb / 50) > Math.floor(rssPeak / 50)) log(`service RSS passed ${Math.floor(mb / 50) * 50} MB`);
      rssPeak = Math.max(rssPeak, mb);
    } catch {
      /* the service has not started or has ended */
    }
  }, 100);
  service.once('exit', () => clearInterval(rssTimer));
  return { process: service, base: `http://127.0.0.1:${o.port}`, dbUrl: dbUrl.toString(), names, rssPeak: () => rssPeak };
}

/** Stops the service and removes its exchange, queues and database. */
export async function stopService(s: BenchService, o: Options, conn: amqp.ChannelModel): Promise<void> {
  const service = s.process;
  service.kill('SIGTERM');
  await new Promise((r) => (service.exitCode !== null ? r(null) : service.once('exit', r)));
  // The measurements are written by now: a broker that went away (restarted under the run) leaves
  // the queues behind, said, and the database is still dropped.
  try {
    const ch = await conn.createChannel();
    await ch.deleteQueue(s.names).catch(() => undefined);
    await ch.deleteQueue(`${s.names}.dead-letter`).catch(() => undefined);
    await ch.deleteExchange(s.names).catch(() => undefined);
    await ch.deleteExchange(`${s.names}.dead-letter`).catch(() => undefined);
    await conn.close().catch(() => undefined);
  } catch (e) {
    log(`could not remove exchange and queues ${s.names}(.dead-letter): ${e instanceof Error ? e.message : String(e)}`);
  }
  const dbName = new URL(s.dbUrl).pathname.slice(1);
  // BENCH_KEEP_DATABASE=1 keeps it as the reads found it (bench.ts skips retention then), to look at its
  // plans afterwards (EXPLAIN on the very data measured); drop it by hand.
  if (process.env.BENCH_KEEP_DATABASE === '1') {
    log(`database ${dbName} kept (BENCH_KEEP_DATABASE=1): DROP DATABASE ${dbName} when done`);
    return;
  }
  const drop = new Client({ connectionString: o.databaseUrl });
  await drop.connect();
  await drop.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await drop.end();
}
