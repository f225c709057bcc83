import { Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { AppConfig } from '../../src/common/config/app-config';
import { DatabaseConnectionError } from '../../src/common/database/pg-driver';
import { StoreHealth } from '../../src/common/database/store-health';
import { Readiness } from '../../src/common/health/readiness';
import { Metrics } from '../../src/common/metrics/metrics.service';
import type { HistoryWriter } from '../../src/history/history-writer.service';
import type { CommandOutcome, StoreCommand } from '../../src/history/store-commands';
import { RetryableWriteError } from '../../src/common/database/retrying-transaction';
import { parseCast, ParsedCast } from '../../src/receiver/cast';
import { encodeCast, runStatusCast } from '../../src/receiver/cast-builder';
import { CastsService } from '../../src/receiver/casts.service';
import type { HttpCastBatcher } from '../../src/receiver/http-batcher';
import { IngestBatcher } from '../../src/receiver/ingest-batcher';
import { ReceiverStats } from '../../src/receiver/receiver-stats';
import { BusConsumer, PausableRmqServer } from '../../src/receiver/rmq/bus-consumer';
import { CastBatcher } from '../../src/receiver/rmq/cast-batcher.service';
import { DeadLetterer } from '../../src/receiver/rmq/dead-letterer.service';

/**
 * Unit tests of the bus batcher: acks after commit, batching, dead-lettering, retries, splitting
 * a batch around a poisonous cast, and returning messages to the queue. The writer and the AMQP
 * channel are fakes; casts are real parsed casts.
 */

const QUEUE = 'q';
const DLQ = 'q.dead-letter';
const RECEIVED = new Date('2020-01-02T03:04:05.000Z');

type ApplyFn = (commands: StoreCommand[]) => Promise<CommandOutcome[]>;
/** A test's writer: answers at once or later; throwing is failing (as an async function's body). */
type WorkFn = (commands: StoreCommand[]) => CommandOutcome[] | Promise<CommandOutcome[]>;

interface FakeChannel {
  channel: ConfirmChannel;
  ack: jest.Mock;
  nack: jest.Mock;
  assertQueue: jest.Mock;
  sendToQueue: jest.Mock;
  /** Ordered log: `send:<tag>`, `confirmed:<tag>`, `ack:<tag>`, `nack:<tag>:<requeue>`. */
  events: string[];
  /** Registers a delivery, as the broker would before handing the message over. */
  deliver(tag: number): void;
  /** Tags acked (one by one, or covered by a `multiple` ack), in tag order. */
  acked(): number[];
  /** How many times each tag was settled (acked or nacked); the broker refuses a second time. */
  settlements: Map<number, number>;
  /** Headers of every message sent with sendToQueue, in order. */
  sent: Array<{ queue: string; content: Buffer; headers: Record<string, unknown> }>;
  /** From now on the broker confirms publishes with this error (null: accepts them). */
  refuse(error: Error | null): void;
}

function fakeChannel(confirmError: Error | null = null): FakeChannel {
  const events: string[] = [];
  const sent: FakeChannel['sent'] = [];
  const tagOf = (m: ConsumeMessage) => m.fields.deliveryTag;
  const delivered: number[] = [];
  const settlements = new Map<number, number>();
  const settle = (tag: number) => settlements.set(tag, (settlements.get(tag) ?? 0) + 1);
  const ackedTags: number[] = [];
  // A `multiple` ack settles every delivered, unsettled tag up to and including the given one.
  const ack = jest.fn((m: ConsumeMessage, allUpTo?: boolean) => {
    const tags = allUpTo ? delivered.filter((t) => t <= tagOf(m) && !settlements.has(t)) : [tagOf(m)];
    for (const t of tags) {
      settle(t);
      ackedTags.push(t);
      events.push(`ack:${t}`);
    }
  });
  const nack = jest.fn((m: ConsumeMessage, _all?: boolean, requeue?: boolean) => {
    settle(tagOf(m));
    events.push(`nack:${tagOf(m)}:${requeue}`);
  });
  const assertQueue = jest.fn((queue: string) => Promise.resolve({ queue, messageCount: 0, consumerCount: 0 }));
  const sendToQueue = jest.fn(
    (queue: string, content: Buffer, options: { headers?: Record<string, unknown> }, cb: (err: unknown, ok?: unknown) => void) => {
      const tag = String(options.headers?.['x-test-tag']);
      events.push(`send:${tag}`);
      sent.push({ queue, content, headers: { ...(options.headers ?? {}) } });
      setImmediate(() => {
        events.push(`confirmed:${tag}`);
        cb(confirmError);
      });
      return true;
    },
  );
  const channel = { ack, nack, assertQueue, sendToQueue } as unknown as ConfirmChannel;
  return {
    channel,
    ack,
    nack,
    assertQueue,
    sendToQueue,
    events,
    sent,
    deliver: (tag) => void delivered.push(tag),
    acked: () => [...ackedTags].sort((a, b) => a - b),
    settlements,
    refuse: (error) => void (confirmError = error),
  };
}

function message(tag: number, uuid: string): ConsumeMessage {
  return {
    fields: { deliveryTag: tag, redelivered: false, exchange: 'nailgun', routingKey: 'nailgun', consumerTag: 'c1' },
    properties: { headers: { 'x-test-tag': tag }, contentType: 'application/json' },
    content: encodeCast(runStatusCast(uuid, 'running')),
  } as unknown as ConsumeMessage;
}

const uuidOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function cast(n: number): ParsedCast {
  return parseCast(runStatusCast(uuidOf(n), 'running', { progress: n }), RECEIVED);
}

/** The uuid a report command is about (all commands here are reports). */
const commandUuid = (c: StoreCommand) => (c.kind === 'report' ? c.uuid : c.start.uuid);

const applied = (n: number): CommandOutcome => ({
  outcome: 'applied',
  transactionId: n,
  historyRecorded: true,
  tasks: 0,
  runStatus: 'running',
});
/** Outcome per command: applied, keyed by the uuid's number. */
const allApplied = (commands: StoreCommand[]): CommandOutcome[] => commands.map((c) => applied(Number(commandUuid(c).slice(-12))));

/** An error as the pg driver raises it: its message, and its fields (`code`: the SQLSTATE, or the socket's error code). */
const driverError = (message: string, fields: Record<string, unknown>): Error => Object.assign(new Error(message), fields);

/** A writer to which every cast's run is unknown. */
const noSuchRun: WorkFn = (commands) => commands.map(() => ({ outcome: 'unknown_transaction', reason: 'no such run' }));

/** The database as the probe sees it, and the consumer's pauses and resumptions. */
interface Store {
  up: boolean;
  probes: number;
  /** While set, a cancel of the consumer takes until it resolves (as the broker's cancel-ok would). */
  cancelling: Promise<void> | null;
  /** `pause`, `resume`, in order. */
  consumer: string[];
}

interface Harness {
  batcher: CastBatcher;
  store: Store;
  readiness: Readiness;
  apply: jest.Mock<ReturnType<ApplyFn>, Parameters<ApplyFn>>;
  stats: ReceiverStats;
  ch: FakeChannel;
  items: Array<{ cast: ParsedCast; message: ConsumeMessage }>;
  /** Pushes casts numbered `from`..`from + count - 1` onto the batcher. */
  push(count: number, from?: number): void;
}

function harness(work: WorkFn, opts: { batchMaxSize?: number; confirmError?: Error | null; unknownRunGraceMs?: number } = {}): Harness {
  const config = {
    batchMaxSize: opts.batchMaxSize ?? 3,
    batchMaxWaitMs: 5,
    amqpQueue: QUEUE,
    unknownRunGraceMs: opts.unknownRunGraceMs ?? 0,
    storeRetryMaxMs: 400,
    deadLetterAttempts: 6,
    deadLetterRetryFirstMs: 500,
    deadLetterRetryMaxMs: 8000,
  } as AppConfig;
  const applyMock = jest.fn<ReturnType<ApplyFn>, Parameters<ApplyFn>>((commands) => new Promise((resolve) => resolve(work(commands))));
  const writer = { apply: applyMock } as unknown as HistoryWriter;
  const stats = new ReceiverStats();
  // The bus path uses CastsService for its accounting only; the HTTP batcher has its own tests.
  const casts = new CastsService(null as unknown as HttpCastBatcher, stats);
  // The real StoreHealth over a fake database whose `SELECT 1` answers while `store.up`.
  const store: Store = { up: true, probes: 0, cancelling: null, consumer: [] };
  const db = {
    query: () => {
      store.probes++;
      if (!store.up) {
        return Promise.reject(driverError('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED', syscall: 'connect' }));
      }
      return Promise.resolve([{ '?column?': 1 }]);
    },
  };
  const metrics = new Metrics();
  const health = new StoreHealth(db as never, config, metrics);
  const server = {
    paused: false,
    async pause() {
      this.paused = true;
      store.consumer.push('pause');
      await store.cancelling;
    },
    resume() {
      this.paused = false;
      store.consumer.push('resume');
      return Promise.resolve();
    },
  };
  const consumer = new BusConsumer(metrics);
  consumer.attach(server as unknown as PausableRmqServer);
  const readiness = new Readiness();
  // No dead-letter exchange known (as on a queue declared before x-dead-letter-exchange).
  const batcher = new CastBatcher(
    config,
    new IngestBatcher(config, writer, health),
    casts,
    health,
    consumer,
    readiness,
    new DeadLetterer(config, stats),
  );
  const ch = fakeChannel(opts.confirmError ?? null);
  const items: Harness['items'] = [];
  return {
    batcher,
    store,
    readiness,
    apply: applyMock,
    stats,
    ch,
    items,
    push(count, from = 1) {
      for (let n = from; n < from + count; n++) {
        const item = { cast: cast(n), message: message(n, uuidOf(n)) };
        items.push(item);
        ch.deliver(n);
        batcher.push(item.cast, item.message, ch.channel);
      }
    },
  };
}

/** What amqplib's ack and nack read of a message: its delivery tag (the service keeps no more of a held one). */
const tagged = (m: ConsumeMessage) => expect.objectContaining({ fields: expect.objectContaining({ deliveryTag: m.fields.deliveryTag }) });

/** A harness whose database is away (every write fails with `error()`, every probe too), `count` casts pushed. */
function databaseAway(error: () => Error, count: number): Harness {
  const h = harness(() => {
    throw error();
  });
  h.store.up = false;
  h.push(count);
  return h;
}

/** Polls a condition until it holds, failing after a deadline. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Every message was settled exactly once (acked or nacked): nothing lost, nothing settled twice. */
function expectEachSettledOnce(h: Harness): void {
  for (const { message: m } of h.items) {
    const tag = m.fields.deliveryTag;
    expect({ tag, settled: h.ch.settlements.get(tag) ?? 0 }).toEqual({ tag, settled: 1 });
  }
}

beforeAll(() => Logger.overrideLogger(false));

describe('CastBatcher', () => {
  it('holds a report whose run is unknown until its start commits (another instance), then acks it', async () => {
    let known = false;
    const h = harness(
      (commands) =>
        commands.map((c, i) =>
          commandUuid(c) === uuidOf(2) && !known ? { outcome: 'unknown_transaction' as const, reason: 'unknown' } : applied(i + 1),
        ),
      { unknownRunGraceMs: 5000 },
    );
    h.push(3);
    await waitFor(() => h.ch.acked().length === 2, 'the known casts to be acked');
    // 1 and 3 acked one by one: a multiple ack of 3 would have covered the held 2.
    expect(h.ch.acked()).toEqual([1, 3]);
    expect(h.ch.sendToQueue).not.toHaveBeenCalled();
    known = true;
    await waitFor(() => h.ch.acked().length === 3, 'the held cast to be applied once its run exists');
    expect(h.stats.deadLettered).toBe(0);
    expect(h.stats.applied).toBe(3);
    await h.batcher.onModuleDestroy();
    expectEachSettledOnce(h);
  });

  it('dead-letters a report whose run stays unknown past the grace period', async () => {
    const h = harness(noSuchRun, { unknownRunGraceMs: 300 });
    h.push(1);
    await waitFor(() => h.stats.deadLettered === 1, 'the dead letter', 5000);
    expect(h.apply.mock.calls.length).toBeGreaterThan(1);
    expect(h.ch.acked()).toEqual([1]);
    await h.batcher.onModuleDestroy();
    expectEachSettledOnce(h);
  });

  it('returns held reports to the queue on shutdown', async () => {
    const h = harness(noSuchRun, { unknownRunGraceMs: 60000 });
    h.push(1);
    await waitFor(() => h.apply.mock.calls.length >= 1, 'the first attempt');
    await new Promise((r) => setImmediate(r));
    await h.batcher.onModuleDestroy();
    expect(h.ch.nack).toHaveBeenCalledWith(tagged(h.items[0].message), false, true);
    expectEachSettledOnce(h);
  });

  it('never lets a multiple ack cover a message still being dead-lettered', async () => {
    // Cast 2 is rejected (dead-lettered, slowly); 1 and 3 commit: their ack must not settle 2 early.
    const h = harness((commands) =>
      commands.map((c, i) =>
        commandUuid(c) === uuidOf(2) ? { outcome: 'unknown_transaction' as const, reason: 'unknown' } : applied(i + 1),
      ),
    );
    h.push(3);
    await h.batcher.onModuleDestroy();
    expect(h.ch.acked()).toEqual([1, 2, 3]);
    expect(h.ch.events.indexOf('ack:2')).toBeGreaterThan(h.ch.events.indexOf('confirmed:2'));
    expectEachSettledOnce(h);
  });

  it('acks the messages of a batch only after writer.apply resolved', async () => {
    const commit = deferred<CommandOutcome[]>();
    const h = harness(() => commit.promise);
    h.push(2);

    await waitFor(() => h.apply.mock.calls.length === 1, 'the batch to reach the writer');
    expect(h.apply.mock.calls[0][0].map(commandUuid)).toEqual([uuidOf(1), uuidOf(2)]);
    // Give the batcher every chance to ack early.
    await new Promise((r) => setImmediate(r));
    expect(h.ch.ack).not.toHaveBeenCalled();
    expect(h.ch.nack).not.toHaveBeenCalled();

    commit.resolve([applied(1), applied(2)]);
    await h.batcher.onModuleDestroy();

    expect(h.ch.acked()).toEqual([1, 2]);
    expect(h.ch.nack).not.toHaveBeenCalled();
    expect(h.stats.applied).toBe(2);
    expectEachSettledOnce(h);
  });

  it('writes 7 casts in batches of at most batchMaxSize (3), in order', async () => {
    const h = harness((commands) => allApplied(commands));
    h.push(7);
    await h.batcher.onModuleDestroy();

    const batches = h.apply.mock.calls.map(([commands]) => commands);
    for (const b of batches) {
      expect(b.length).toBeGreaterThan(0);
      expect(b.length).toBeLessThanOrEqual(3);
    }
    expect(batches).toHaveLength(3);
    expect(batches.flat().map(commandUuid)).toEqual([1, 2, 3, 4, 5, 6, 7].map(uuidOf));
    // The commands given to the writer are the parsed casts' commands themselves.
    expect(batches.flat()).toEqual(h.items.map((i) => i.cast.command));
    expect(h.ch.acked()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // One multiple ack per batch, not a frame per message.
    expect(h.ch.ack).toHaveBeenCalledTimes(3);
    expect(h.ch.nack).not.toHaveBeenCalled();
    expect(h.stats.batches).toBe(3);
    expect(h.stats.applied).toBe(7);
    expectEachSettledOnce(h);
  });

  it("dead-letters a message whose outcome is 'unknown_transaction', then acks it; the others are acked", async () => {
    const reason = `transaction_resp for unknown transaction ${uuidOf(2)}`;
    const h = harness((commands) =>
      commands.map((c, i) => (commandUuid(c) === uuidOf(2) ? { outcome: 'unknown_transaction' as const, reason } : applied(i + 1))),
    );
    h.push(3);
    await h.batcher.onModuleDestroy();

    expect(h.ch.assertQueue).toHaveBeenCalledWith(DLQ, expect.objectContaining({ durable: true }));
    expect(h.ch.sendToQueue).toHaveBeenCalledTimes(1);
    const [sent] = h.ch.sent;
    expect(sent.queue).toBe(DLQ);
    expect(sent.content).toBe(h.items[1].message.content);
    expect(sent.headers['x-dead-letter-reason']).toBe(reason);
    expect(sent.headers['x-original-exchange']).toBe('nailgun');
    expect(sent.headers['x-original-routing-key']).toBe('nailgun');
    expect(sent.headers['x-test-tag']).toBe(2); // original headers kept

    expect(h.ch.acked()).toEqual([1, 2, 3]);
    // Acked only once the broker confirmed the dead-letter copy.
    expect(h.ch.events.indexOf('confirmed:2')).toBeGreaterThanOrEqual(0);
    expect(h.ch.events.indexOf('ack:2')).toBeGreaterThan(h.ch.events.indexOf('confirmed:2'));
    expect(h.ch.nack).not.toHaveBeenCalled();
    expect(h.stats.deadLettered).toBe(1);
    expectEachSettledOnce(h);
  });

  it('retries a batch after a store failure (the consumer paused meanwhile) and acks everything', async () => {
    const h = harness((commands) => allApplied(commands));
    h.apply.mockRejectedValueOnce(driverError('read ECONNRESET', { code: 'ECONNRESET', syscall: 'read' }));
    h.push(2);
    await waitFor(() => h.ch.acked().length === 2, 'the batch to be written again and acked');

    expect(h.apply).toHaveBeenCalledTimes(2);
    expect(h.apply.mock.calls[1][0].map(commandUuid)).toEqual([uuidOf(1), uuidOf(2)]);
    expect(h.store.consumer).toEqual(['pause', 'resume']);
    expect(h.ch.nack).not.toHaveBeenCalled();
    expect(h.ch.sendToQueue).not.toHaveBeenCalled();
    expect(h.stats.batchRetries).toBeGreaterThanOrEqual(1);
    await h.batcher.onModuleDestroy();
    expectEachSettledOnce(h);
  });

  it('splits a batch failing with a permanent data error and dead-letters only the poisonous cast', async () => {
    const poison = uuidOf(2);
    const pgMessage = 'invalid input syntax for type integer: "abc"';
    const h = harness((commands) => {
      if (commands.some((c) => commandUuid(c) === poison)) throw driverError(pgMessage, { code: '22P02' });
      return allApplied(commands);
    });
    h.push(3);
    await h.batcher.onModuleDestroy();

    // The poison was never retried as is (permanent error), only isolated.
    expect(h.stats.batchRetries).toBe(0);
    expect(h.ch.sendToQueue).toHaveBeenCalledTimes(1);
    const [sent] = h.ch.sent;
    expect(sent.queue).toBe(DLQ);
    expect(sent.content).toBe(h.items[1].message.content);
    expect(String(sent.headers['x-dead-letter-reason'])).toContain(pgMessage);

    // Every message acked exactly once (the poisonous one after its dead-letter copy), nothing nacked.
    expect(h.ch.nack).not.toHaveBeenCalled();
    expect(h.ch.acked()).toEqual([1, 2, 3]);
    expect(h.ch.events.indexOf('ack:2')).toBeGreaterThan(h.ch.events.indexOf('confirmed:2'));
    // The healthy casts were written.
    const written = h.apply.mock.calls.filter(([cs]) => !cs.some((c) => commandUuid(c) === poison)).flatMap(([cs]) => cs.map(commandUuid));
    expect(written.sort()).toEqual([uuidOf(1), uuidOf(3)]);
    expect(h.stats.deadLettered).toBe(1);
    expect(h.stats.applied).toBe(2);
    expectEachSettledOnce(h);
  });

  it('dead-letters a cast that keeps failing for an unknown reason while the database answers, instead of looping on it', async () => {
    const h = harness(() => {
      throw new RangeError('Maximum call stack size exceeded');
    });
    h.push(1);
    await waitFor(() => h.stats.deadLettered === 1, 'the dead letter');

    // Tried, then retried twice with a pause: the database answered each probe, so the cast is at fault.
    expect(h.apply).toHaveBeenCalledTimes(3);
    expect(h.store.probes).toBeGreaterThanOrEqual(3);
    expect(h.store.consumer).toEqual([]);
    expect(h.ch.nack).not.toHaveBeenCalled();
    expect(h.ch.sendToQueue).toHaveBeenCalledTimes(1);
    expect(h.ch.sendToQueue.mock.calls[0][2].headers['x-dead-letter-reason']).toMatch(/cannot be stored: Maximum call stack size exceeded/);
    expect(h.ch.acked()).toEqual([1]);
    await h.batcher.onModuleDestroy();
    expectEachSettledOnce(h);
  });

  it("treats an unknown error as the store's while the database does not answer: held, never dead-lettered", async () => {
    let failing = true;
    const h = harness((commands) => {
      if (failing) throw new TypeError('Cannot read properties of undefined');
      return allApplied(commands);
    });
    h.store.up = false;
    h.push(1);
    await waitFor(() => h.store.probes >= 3, 'the database to be probed again and again', 5000);
    expect(h.ch.sendToQueue).not.toHaveBeenCalled();
    failing = false;
    h.store.up = true;
    await waitFor(() => h.ch.acked().length === 1, 'the cast to be written once the database answers', 5000);
    expect(h.stats.deadLettered).toBe(0);
    await h.batcher.onModuleDestroy();
    expectEachSettledOnce(h);
  });

  // Every failure on the store's side the issue lists, as the pg driver and TypeORM raise them.
  const storeFailures: Array<[string, () => Error]> = [
    [
      'connection refused',
      () => driverError('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED', syscall: 'connect', errno: -111 }),
    ],
    ['connection reset', () => driverError('read ECONNRESET', { code: 'ECONNRESET', syscall: 'read', errno: -104 })],
    ['connect timeout (the pool given to TypeORM)', () => new DatabaseConnectionError('timeout exceeded when trying to connect')],
    ['terminated unexpectedly', () => new QueryFailedError('SELECT 1', [], new Error('Connection terminated unexpectedly'))],
    ...['57P01', '57P02', '57P03', '55000', '3D000', '53300', '28000', '28P01', '25006', '40001', '40P01', '08006', '08001'].map(
      (code): [string, () => Error] => [
        `SQLSTATE ${code}`,
        () => new QueryFailedError('UPDATE x', [], driverError(`pg says ${code}`, { code })),
      ],
    ),
    [
      'SQLSTATE 55000 at connect (not wrapped)',
      () => driverError('database "x" is not currently accepting connections', { code: '55000', severity: 'FATAL' }),
    ],
    ['a write that lost a race', () => new RetryableWriteError('a transaction was created concurrently')],
  ];

  it.each(storeFailures)(
    'holds the batch while the database is away (%s), writes it when it answers; nothing dead-lettered',
    async (_, error) => {
      let down = 1;
      const h = harness((commands) => {
        if (down > 0) {
          down--;
          throw error();
        }
        return allApplied(commands);
      });
      h.push(4);
      await waitFor(() => h.ch.acked().length === 4, 'every cast to be written', 10_000);
      expect(h.stats.deadLettered).toBe(0);
      expect(h.ch.sendToQueue).not.toHaveBeenCalled();
      expect(h.ch.nack).not.toHaveBeenCalled();
      // Never split: the same batches, in order.
      expect(h.apply.mock.calls.flatMap(([cs]) => cs.map(commandUuid)).slice(-4)).toEqual([1, 2, 3, 4].map(uuidOf));
      expect(h.store.consumer[0]).toBe('pause');
      expect(h.store.consumer.at(-1)).toBe('resume');
      await h.batcher.onModuleDestroy();
      expectEachSettledOnce(h);
    },
  );

  it('backs off exponentially up to the cap while the database is away, and says not ready meanwhile', async () => {
    const h = databaseAway(() => driverError('terminating connection due to administrator command', { code: '57P01' }), 1);
    await waitFor(() => h.store.probes >= 4, 'four probes', 5000);
    const ready = Object.fromEntries(h.readiness.all().map(([name, state]) => [name, state()]));
    expect(ready.consumer).toEqual(expect.objectContaining({ up: false }));
    // Probes are spaced out (250 ms, 400 ms cap...), not a tight loop: at most a handful in a second.
    const before = h.store.probes;
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.store.probes - before).toBeLessThanOrEqual(4);
    expect(h.apply).toHaveBeenCalledTimes(1);
    expect(h.ch.ack).not.toHaveBeenCalled();
    expect(h.ch.nack).not.toHaveBeenCalled();

    // Shutdown during the outage: the held cast goes back to the queue (never dead-lettered).
    await h.batcher.onModuleDestroy();
    expect(h.ch.sendToQueue).not.toHaveBeenCalled();
    expect(h.ch.nack).toHaveBeenCalledWith(tagged(h.items[0].message), false, true);
    expectEachSettledOnce(h);
  });

  it('stays stopped when a batch commits while the consumer is being cancelled for shutdown', async () => {
    const commit = deferred<CommandOutcome[]>();
    const h = harness(() => commit.promise);
    const cancelOk = deferred<void>();
    h.store.cancelling = cancelOk.promise;
    h.push(2);
    await waitFor(() => h.apply.mock.calls.length === 1, 'the batch to reach the writer');
    const stopping = h.batcher.onModuleDestroy();
    // The batch commits while the broker has not yet confirmed the cancel.
    commit.resolve([applied(1), applied(2)]);
    await waitFor(() => h.ch.acked().length === 2, 'the batch to be acked');
    cancelOk.resolve();
    await stopping;
    expect(h.store.consumer).toEqual(['pause']);
    expectEachSettledOnce(h);
  });

  it('returns every held cast to the queue in delivery order when stopped during an outage', async () => {
    const h = databaseAway(() => driverError('the database system is shutting down', { code: '57P03' }), 7);
    await waitFor(() => h.store.probes >= 1, 'a probe');
    await h.batcher.onModuleDestroy();
    expect(h.ch.events.filter((e) => e.startsWith('nack:'))).toEqual([1, 2, 3, 4, 5, 6, 7].map((t) => `nack:${t}:true`));
    expect(h.ch.sendToQueue).not.toHaveBeenCalled();
    expectEachSettledOnce(h);
  });

  it('never returns a message to the queue when the broker refuses its dead-letter copy: holds it, copies it again after a back-off', async () => {
    // No dead-letter exchange known here (as on a queue declared before x-dead-letter-exchange).
    const h = harness(() => [{ outcome: 'unknown_transaction', reason: 'no such transaction' }], {
      confirmError: new Error('message nacked'),
    });
    h.push(1);
    await waitFor(() => h.ch.events.includes('confirmed:1'), 'the refused copy');
    h.ch.refuse(null);
    // The batch is done without waiting for the back-off; the message is held, neither acked nor requeued.
    await h.batcher.onModuleDestroy();
    expect(h.ch.settlements.get(1)).toBeUndefined();
    expect(h.stats.deadLettered).toBe(0);
    await waitFor(() => h.ch.acked().length === 1, 'the second copy, after its back-off');
    expect(h.ch.sendToQueue).toHaveBeenCalledTimes(2);
    expect(h.ch.sent.map((m) => m.queue)).toEqual([DLQ, DLQ]);
    expect(h.ch.events.indexOf('ack:1')).toBeGreaterThan(h.ch.events.lastIndexOf('confirmed:1'));
    expect(h.ch.nack).not.toHaveBeenCalled();
    expect(h.stats.deadLettered).toBe(1);
    expectEachSettledOnce(h);
  });
});
