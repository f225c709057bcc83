import { Client } from 'pg';
import { DATABASE_URL, waitFor } from '../support/services';
import { checkWorkload, dump, terminateServiceBackends } from '../support/faults/dump';
import { ServiceProcess } from '../support/faults/service';
import { FaultSetup, useFaultSuite } from '../support/faults/setup';
import { sampleOf } from '../support/metrics';
import { TcpProxy } from '../support/faults/tcp-proxy';
import { faultWorkload, Workload } from '../support/faults/workload';

/**
 * Nothing lost when the database blinks: the built service (a separate process) takes ~500 casts
 * published over RabbitMQ at ~50 casts/s while its database is away for ~6 s, in four ways —
 * connections refused by the database (ALLOW_CONNECTIONS false + its sessions terminated), backends
 * killed again and again mid-batch, the database unreachable at its URL (the port closed: a server
 * restart as the service sees it), and the database missing (renamed away: 3D000). After the outage
 * every cast is recorded, none is dead-lettered, and the final state is exactly the workload's.
 * During it the consumer pauses, readiness says 503 and /metrics shows it, and HTTP ingestion
 * answers 503 JSON with Retry-After.
 */
jest.setTimeout(150_000);

const OUTAGE_MS = 6000;

type Setup = FaultSetup;

async function admin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Ends every session of the service on a database (its pool and its listening connection). */
const terminateService = (database: string) => terminateServiceBackends(database, { listener: true });

describe('database outages: the consumer pauses, nothing is dead-lettered, every cast is recorded', () => {
  const proxies: TcpProxy[] = [];
  const suite = useFaultSuite('dh_outage', {
    repair: async () => {
      for (const p of proxies) await p.close();
    },
    // A test that failed mid-outage may have left its database renamed or closed.
    dropDatabase: (s) =>
      admin(async (c) => {
        for (const n of [s.db.name, `${s.db.name}_away`]) await c.query(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
      }),
  });

  /** Publishes the casts at about `perSecond`, in order, in the background. */
  async function publishPaced(exchange: string, casts: unknown[], perSecond: number): Promise<void> {
    const t0 = Date.now();
    const step = 5;
    for (let i = 0; i < casts.length; i += step) {
      const due = t0 + (i / perSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      await suite.pub.publish(exchange, casts.slice(i, i + step));
    }
  }

  const metric = async (svc: ServiceProcess, name: string): Promise<number | null> =>
    sampleOf(await (await svc.fetch('/metrics')).text(), name) ?? null;

  interface Outage {
    /** Makes the database unavailable. */
    begin: () => Promise<void>;
    /** Called again and again during the outage (e.g. to kill new backends). */
    during?: () => Promise<void>;
    end: () => Promise<void>;
    /** The database refuses everything for the whole outage (no write can slip through). */
    total: boolean;
  }

  /**
   * Runs `outage` under the workload, saying where it was when it fails: the step it was in and the
   * service's last lines (before this, a run that hung was reported only as jest's timeout).
   */
  async function throughOutage(s: Setup, w: Workload, outage: Outage, databaseUrl = s.db.url): Promise<void> {
    const at: Progress = { step: 'starting the service' };
    const tail = () => at.svc?.output().split('\n').slice(-40).join('\n') ?? '(no service)';
    const watchdog = setTimeout(() => console.error(`still at "${at.step}" after 140 s; the service's last lines:\n${tail()}`), 140_000);
    try {
      await outageSteps(s, w, outage, databaseUrl, at);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new Error(`at "${at.step}": ${message}\n--- the service's last lines ---\n${tail()}`, { cause: e });
    } finally {
      clearTimeout(watchdog);
    }
  }

  interface Progress {
    step: string;
    svc?: ServiceProcess;
  }

  async function outageSteps(s: Setup, w: Workload, outage: Outage, databaseUrl: string, at: Progress): Promise<void> {
    expect(w.casts.length).toBeGreaterThanOrEqual(500);
    const svc = await ServiceProcess.start({
      databaseUrl,
      exchange: s.exchange,
      queue: s.queue,
      name: s.name,
      // Small batches, so that many are in flight when the outage starts; a 2 s back-off cap, so the
      // test does not wait 30 s for the next probe.
      env: { BATCH_MAX_SIZE: '20', AMQP_PREFETCH: '100', STORE_RETRY_MAX_MS: '2000' },
    });
    at.svc = svc;
    at.step = 'the first 100 casts';
    const publishing = publishPaced(s.exchange, w.casts, 50);
    await waitFor(async () => (await svc.stats()).batched_casts >= 100, 'the first 100 casts to be written', 30_000);

    at.step = 'the outage beginning';
    await outage.begin();
    at.step = 'the outage';
    const began = Date.now();
    const seen = {
      notReady: false,
      paused: false,
      storeDown: false,
      http: null as null | { status: number; retryAfter: string | null; body: unknown },
    };
    try {
      // The outage lasts OUTAGE_MS: meanwhile, what the service says about itself.
      await waitFor(
        async () => {
          await outage.during?.();
          const ready = await svc.fetch('/health/ready');
          if (ready.status === 503) seen.notReady = true;
          if ((await metric(svc, 'dh_consumer_paused')) === 1) seen.paused = true;
          if ((await metric(svc, 'dh_store_available')) === 0) seen.storeDown = true;
          if (outage.total && !seen.http && seen.storeDown) {
            // A cast over HTTP (a duplicate start: it would change nothing) is refused for now, not failed.
            const r = await svc.fetch('/api/v1/casts', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(w.casts[0]),
            });
            seen.http = { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.json().catch(() => 'not JSON') };
          }
          return Date.now() - began >= OUTAGE_MS;
        },
        'the outage to last its time',
        OUTAGE_MS + 20_000,
      );
    } finally {
      at.step = 'the outage ending';
      await outage.end();
    }

    at.step = 'the publisher';
    await publishing;
    at.step = 'the expected state';
    // Every cast recorded, exactly as expected; nothing parked in the dead-letter queue.
    let problems: string[] = [];
    await waitFor(
      async () => {
        problems = checkWorkload(await dump(s.sql), w);
        return problems.length === 0 || (await suite.pub.ready(s.dlq)) > 0;
      },
      `the expected state on ${s.name}`,
      60_000,
    ).catch(() => undefined);
    at.step = 'the checks after';
    const dead = (await suite.pub.drain(s.dlq)).map((m) => `${m.properties.headers?.['x-dead-letter-reason']}`);
    expect({ deadLettered: dead.length, reasons: [...new Set(dead)] }).toEqual({ deadLettered: 0, reasons: [] });
    expect(problems).toEqual([]);
    const stats = await svc.stats();
    expect(stats.dead_lettered).toBe(0);
    expect(stats.batch_retries).toBeGreaterThan(0);
    await waitFor(() => suite.pub.settled(s.queue), `${s.queue} to be empty`, 15_000);

    // What the service said while the database was away, and that it is back.
    if (outage.total) {
      expect(seen.paused).toBe(true);
      expect(seen.storeDown).toBe(true);
      expect(seen.notReady).toBe(true);
      expect(seen.http).toEqual({
        status: 503,
        retryAfter: expect.stringMatching(/^\d+$/),
        body: expect.objectContaining({ statusCode: 503, message: expect.stringMatching(/database/i) }),
      });
    }
    await svc.ready(15_000);
    expect(await metric(svc, 'dh_consumer_paused')).toBe(0);
    expect(await metric(svc, 'dh_store_available')).toBe(1);
    expect(await metric(svc, 'dh_store_outages_total')).toBeGreaterThanOrEqual(1);
    // Logged once per interval, not once per failed batch or query; every line JSON.
    const lines = svc
      .output()
      .split('\n')
      .filter((l) => l.trim());
    expect(lines.filter((l) => /cast\(s\) held, unacked/.test(l)).length).toBeLessThan(10);
    expect(lines.filter((l) => !l.startsWith('{'))).toEqual([]);
    expect(lines.length).toBeLessThan(200);
    expect(svc.exit).toBeNull();
    await svc.stop();
  }

  const workload = (name: string, clusterBase: number) => faultWorkload(name, { runs: 2, nodes: 5, tasks: 25, clusterBase });

  it('connections refused by the database (ALLOW_CONNECTIONS false, sessions terminated) for 6 s', async () => {
    const s = await suite.setup('refused');
    await throughOutage(s, workload('refused', 310), {
      total: true,
      begin: async () => {
        await admin((c) => c.query(`ALTER DATABASE ${s.db.name} ALLOW_CONNECTIONS false`));
        await terminateService(s.db.name);
      },
      end: () => admin((c) => c.query(`ALTER DATABASE ${s.db.name} ALLOW_CONNECTIONS true`)).then(() => undefined),
    });
  });

  it('backends killed again and again, mid-batch, for 6 s', async () => {
    const s = await suite.setup('killed');
    let midBatch = 0;
    /**
     * Kills a batch in the middle of its transaction: the runs table is held (EXCLUSIVE: reads pass,
     * row locks wait) until a batch of the service waits for it inside its transaction, then that
     * backend is terminated and the table let go. Then every other session of the service goes too.
     */
    const killMidBatch = async () => {
      await s.sql.query('BEGIN');
      try {
        await s.sql.query('LOCK TABLE transactions IN EXCLUSIVE MODE');
        // Watched from another session: inside a transaction, pg_stat_activity is a snapshot.
        const waiting = await admin((c) =>
          waitFor(
            async () =>
              (
                await c.query(
                  `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'deployment-history'
                   AND wait_event_type = 'Lock' AND xact_start IS NOT NULL`,
                  [s.db.name],
                )
              ).rowCount,
            'a batch to wait inside its transaction',
            5000,
          ).catch(() => 0),
        );
        midBatch += waiting;
      } finally {
        await s.sql.query('ROLLBACK');
      }
      await terminateService(s.db.name);
    };
    await throughOutage(s, workload('killed', 320), {
      total: false,
      begin: killMidBatch,
      during: killMidBatch,
      end: async () => undefined,
    });
    expect(midBatch).toBeGreaterThanOrEqual(3);
  });

  it('the database unreachable at its URL (port closed, open connections cut) for 6 s, then back on the same port', async () => {
    const s = await suite.setup('unreachable');
    const target = new URL(DATABASE_URL);
    const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    proxies.push(proxy);
    const url = new URL(s.db.url);
    url.port = String(proxy.port);
    await throughOutage(
      s,
      workload('unreachable', 330),
      { total: true, begin: () => proxy.cut(), end: () => proxy.open() },
      url.toString(),
    );
  });

  it('the database missing (renamed away: 3D000) for 6 s, then back', async () => {
    const s = await suite.setup('missing');
    const away = `${s.db.name}_away`;
    await throughOutage(s, workload('missing', 340), {
      total: true,
      begin: async () => {
        await s.sql.end();
        await admin(async (c) => {
          await c.query(`ALTER DATABASE ${s.db.name} ALLOW_CONNECTIONS false`);
          await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [s.db.name]);
          await waitFor(
            async () => (await c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [s.db.name])).rows[0].n === 0,
            'no session',
          );
          await c.query(`ALTER DATABASE ${s.db.name} RENAME TO ${away}`);
        });
      },
      end: async () => {
        await admin(async (c) => {
          await c.query(`ALTER DATABASE ${away} RENAME TO ${s.db.name}`);
          await c.query(`ALTER DATABASE ${s.db.name} ALLOW_CONNECTIONS true`);
        });
        s.sql = new Client({ connectionString: s.db.url });
        await s.sql.connect();
      },
    });
  });
});
