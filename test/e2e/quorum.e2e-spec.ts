import { Client } from 'pg';
import { QueueType } from '../../src/common/config/app-config';
import { BusConsumer } from '../../src/receiver/rmq/bus-consumer';
import { declareDeadLetterTopology, QueueTypeMismatchError } from '../../src/receiver/rmq/dead-letter-topology';
import { startApp, TestApp } from '../support/app';
import { Bus } from '../support/bus';
import { resp, start, task } from '../support/casts';
import { createTestDatabase } from '../support/database';
import { terminateServiceBackends } from '../support/faults/dump';
import { removeBuiltService, ServiceProcess } from '../support/faults/service';
import { AMQP_URL, DATABASE_URL, uniqueName, waitFor } from '../support/services';

/**
 * AMQP_QUEUE_TYPE=quorum beyond what the bus suite checks with both types (test/e2e/bus.e2e-spec.ts):
 * a queue that exists with the other type stops the start with what to do, and casts held while the
 * database is away go back to the quorum queue and are applied once by the next consumer.
 */
jest.setTimeout(60_000);

async function admin(sql: string): Promise<void> {
  const c = new Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

describe('quorum queues', () => {
  let bus: Bus;
  beforeAll(async () => {
    bus = await Bus.connect();
  });
  afterAll(() => bus?.close());

  /** Declares `queue` (and, with `dlq`, its dead-letter queue) as `type`, as an older setup would have. */
  async function existing(queue: string, type: QueueType, dlq = false): Promise<void> {
    const options = { durable: true, arguments: type === 'quorum' ? { 'x-queue-type': 'quorum' } : {} };
    await bus.channel.assertQueue(queue, options);
    if (dlq) await bus.channel.assertQueue(`${queue}.dead-letter`, options);
  }
  const remove = async (queue: string) => {
    await bus.removeDeclared({ amqpQueue: queue, amqpExchange: `${queue}.none` });
  };

  it.each([
    ['quorum', 'classic', true],
    ['classic', 'quorum', true],
    ['quorum', 'classic', false],
  ] as const)(
    'wanting %s queues, a %s queue already there (dead-letter queue too: %s) stops the start, naming it, its type and what to do',
    async (wanted, found, dlqToo) => {
      const queue = uniqueName('dh_qtype');
      await existing(queue, found, dlqToo);
      try {
        const e = await declareDeadLetterTopology({ amqpUrl: AMQP_URL, amqpQueue: queue, amqpQueueType: wanted }).then(
          () => null,
          (err: unknown) => err,
        );
        expect(e).toBeInstanceOf(QueueTypeMismatchError);
        const mismatch = e as QueueTypeMismatchError;
        expect(mismatch.mismatches).toEqual([{ queue, type: found }, ...(dlqToo ? [{ queue: `${queue}.dead-letter`, type: found }] : [])]);
        expect(mismatch.message).toContain(`AMQP_QUEUE_TYPE is '${wanted}', but queue '${queue}' exists on the broker as a ${found} queue`);
        expect(mismatch.message).toContain(`set AMQP_QUEUE_TYPE=${found}`);
        expect(mismatch.message).toContain('set AMQP_QUEUE to a new name');
        // Nothing was changed: the queue still takes its own type only.
        const own = { durable: true, arguments: found === 'quorum' ? { 'x-queue-type': 'quorum' } : {} };
        expect(await bus.accepts(queue, own)).toBe(true);
      } finally {
        await remove(queue);
      }
    },
  );

  it('the app does not start on a queue of the other type, and says why', async () => {
    const queue = uniqueName('dh_qtype');
    await existing(queue, 'classic', true);
    try {
      await expect(startApp({ amqp: true, env: { AMQP_QUEUE: queue, AMQP_QUEUE_TYPE: 'quorum' } })).rejects.toThrow(
        `queue '${queue}' exists on the broker as a classic queue`,
      );
    } finally {
      await remove(queue);
    }
  });

  it('the built service on a queue of the other type exits 1, its log saying which queue, its type and what to do', async () => {
    const queue = uniqueName('dh_qtype');
    await existing(queue, 'classic');
    const db = await createTestDatabase();
    try {
      const start = ServiceProcess.start({ databaseUrl: db.url, exchange: queue, queue, env: { AMQP_QUEUE_TYPE: 'quorum' } });
      // Logs are buffered until the service listens: a start failing before that must still be logged.
      await expect(start).rejects.toThrow(
        /exited \(1\) while starting:[\s\S]*"level":50[^\n]*queue '[^']+' exists on the broker as a classic queue/,
      );
    } finally {
      removeBuiltService();
      await remove(queue);
      await db.drop();
    }
  });

  it('casts held while the database is away go back to the quorum queue on shutdown and are applied once by the next instance', async () => {
    const a: TestApp = await startApp({ amqp: true, env: { AMQP_QUEUE_TYPE: 'quorum' } });
    const { amqpQueue: queue, amqpExchange: exchange } = a.config;
    const dbName = new URL(a.databaseUrl).pathname.slice(1);
    let b: TestApp | undefined;
    try {
      expect(
        await bus.accepts(queue, {
          durable: true,
          arguments: { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': `${queue}.dead-letter` },
        }),
      ).toBe(true);
      const uuid = 'quorum-redelivered';
      const nodes = ['1', '2', '3'];
      const tasks = ['netconfig', 'hiera', 'globals'];
      await bus.publish(
        exchange,
        'nailgun',
        start(uuid, { id: 71, release: 'mitaka-9.0' }, Object.fromEntries(nodes.map((n) => [n, tasks.map((id) => ({ id }))]))),
      );
      await waitFor(
        async () => (await a.sql.query('SELECT 1 FROM transactions WHERE uuid = $1', [uuid])).rowCount === 1,
        'the run to start',
      );

      // The database goes away: the batch fails on the store side, the casts are held unacked.
      await admin(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
      await terminateServiceBackends(dbName, { listener: true });
      const reports = nodes.flatMap((n) => tasks.map((id) => resp(uuid, [task(n, id, 'ready')])));
      await bus.publishAll(exchange, 'nailgun', reports);
      await waitFor(() => a.app.get(BusConsumer).paused, 'A to pause on the store-side failure');
      const held = (await a.http().get('/api/v1/receiver/stats').expect(200)).body;
      expect(held.casts).toBeGreaterThan(1); // reports were delivered to A, and not acked
      expect(held.dead_lettered).toBe(0);

      // A stops during the outage (its database kept: B uses it): what it held goes back to the queue.
      await a.sql.end();
      await a.app.close();
      await waitFor(async () => (await bus.queueDepth(queue)).messages === reports.length, `${reports.length} casts back in the queue`);
      expect((await bus.queueDepth(`${queue}.dead-letter`)).messages).toBe(0);

      await admin(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
      b = await startApp({
        amqp: true,
        env: { AMQP_QUEUE_TYPE: 'quorum', AMQP_QUEUE: queue, AMQP_EXCHANGE: exchange, DATABASE_URL: a.databaseUrl },
      });
      // B's own test client is on the (unused) database startApp made for it: read A's, which B writes to.
      const rows = async () => {
        const c = new Client({ connectionString: a.databaseUrl });
        await c.connect();
        try {
          const r = await c.query(
            `SELECT h.status, count(*)::int AS n FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
             WHERE t.uuid = $1 GROUP BY h.status`,
            [uuid],
          );
          return r.rows as { status: string; n: number }[];
        } finally {
          await c.end();
        }
      };
      await waitFor(async () => (await rows()).find((r) => r.status === 'ready')?.n === reports.length, 'every report applied by B');
      expect(await rows()).toEqual([{ status: 'ready', n: nodes.length * tasks.length }]);
      await waitFor(async () => (await bus.queueDepth(queue)).messages === 0, 'the queue to drain');
      const stats = (await b.http().get('/api/v1/receiver/stats').expect(200)).body;
      expect(stats.casts).toBe(reports.length);
      expect(stats.dead_lettered).toBe(0);
      expect((await bus.queueDepth(`${queue}.dead-letter`)).messages).toBe(0);
    } finally {
      await admin(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`).catch(() => undefined);
      await bus.removeDeclared({ amqpQueue: queue, amqpExchange: exchange });
      await b?.close();
      // A's database is B's too: B was started on it, and its own (unused) one is dropped with it.
      await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    }
  });
});
