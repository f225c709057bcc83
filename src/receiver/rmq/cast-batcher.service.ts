import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { ConfirmChannel as Channel, ConsumeMessage } from 'amqplib';
import { APP_CONFIG, AppConfig } from '../../common/config/app-config';
import { classifyDbError } from '../../common/database/db-errors';
import { StoreHealth } from '../../common/database/store-health';
import { Readiness } from '../../common/health/readiness';
import { LogThrottle } from '../../common/logging/log-throttle';
import { HistoryWriter } from '../../history/history-writer.service';
import { ParsedCast } from '../cast';
import { CastsService } from '../casts.service';
import { BusConsumer } from './bus-consumer';
import { DeadLetterer } from './dead-letterer.service';

interface Item {
  cast: ParsedCast;
  message: ConsumeMessage;
  channel: Channel;
  /** When the message first reached the batcher (it may come back while waiting for its run). */
  receivedAt?: number;
}

/** Pauses before retrying a cast that failed for an unknown reason while the database answers. */
const UNKNOWN_RETRY_MS = [250, 1000];

/**
 * Groups casts from the bus into batches written in one database transaction each, and acks every
 * message only after the batch holding it committed. Never half-acked.
 *
 * Whose fault a failure is decides what happens (classifyDbError):
 * - the store's (the database unreachable, refusing, restarting, a lost connection, a deadlock):
 *   never the casts'. The consumer pauses (no new delivery), the batch is held unacked, the database
 *   is probed with exponential back-off (capped at STORE_RETRY_MAX_MS), and the same batch is
 *   written again once it answers; then the consumer resumes. Nothing is dead-lettered for it.
 * - the content's (a value PostgreSQL refuses): the batch is split so that the cast at fault is
 *   dead-lettered alone, with the reason.
 * - unknown: if the database does not answer a probe, the store's; if it does, the batch is split
 *   and the single cast retried twice before it is dead-lettered.
 */
@Injectable()
export class CastBatcher implements OnModuleDestroy {
  private readonly logger = new Logger('Receiver');
  private queue: Item[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /**
   * Delivery tags settled apart from their batch, per channel — being dead-lettered, or held while
   * their run's start may still be committing elsewhere: a multiple ack must not cover them.
   */
  private readonly apart = new Map<Channel, Set<number>>();
  /** Reports held back a moment because their run is not known yet, and their timers. */
  private readonly waiting = new Map<Item, NodeJS.Timeout>();
  private destroyed = false;
  /** Aborted on shutdown: a wait for the database ends, and what is held goes back to the queue. */
  private readonly stopping = new AbortController();
  /** Consecutive store failures: the back-off grows with them, and is reset by a commit. */
  private storeFailures = 0;
  private readonly throttle = new LogThrottle(this.logger);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly writer: HistoryWriter,
    private readonly casts: CastsService,
    private readonly health: StoreHealth,
    private readonly consumer: BusConsumer,
    readiness: Readiness,
    private readonly deadLetterer: DeadLetterer,
  ) {
    readiness.register('consumer', () => {
      const outage = this.health.outage();
      return this.consumer.paused && !this.destroyed
        ? { up: false, message: 'paused: the database is unavailable; casts wait in the queue', since: outage?.since.toISOString() ?? null }
        : { up: true };
    });
  }

  push(item: Item): void {
    item.receivedAt ??= Date.now();
    this.queue.push(item);
    if (this.queue.length >= this.config.batchMaxSize) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.config.batchMaxWaitMs);
  }

  /**
   * Sends a message that can never be applied to the dead-letter queue with the reason, then acks it;
   * whatever its headers, and never back to the queue (see DeadLetterer). Resolves once the message is
   * settled or held for a later attempt: the batch does not wait for a back-off. Until the message is
   * settled, its tag stays apart, so that no multiple ack covers it.
   */
  async deadLetter(channel: Channel, message: ConsumeMessage, reason: string): Promise<void> {
    const tag = message.fields.deliveryTag;
    const inFlight = this.apart.get(channel) ?? new Set<number>();
    this.apart.set(channel, inFlight.add(tag));
    await this.deadLetterer.send(channel, message, reason, () => inFlight.delete(tag));
  }

  /**
   * Acks the items of a committed batch. They are the oldest unsettled deliveries of their channel
   * (batches are flushed in delivery order, one at a time), so one `multiple` ack of the highest tag
   * settles them all, sparing the broker a frame per message; unless a lower tag is still being
   * dead-lettered, which that ack would wrongly cover.
   */
  private ack(items: Item[]): void {
    const byChannel = new Map<Channel, Item[]>();
    for (const item of items) byChannel.set(item.channel, [...(byChannel.get(item.channel) ?? []), item]);
    for (const [channel, list] of byChannel) {
      const last = list.reduce((a, b) => (b.message.fields.deliveryTag > a.message.fields.deliveryTag ? b : a));
      const own = new Set(list.map((i) => i.message.fields.deliveryTag));
      const apart = this.apart.get(channel) ?? new Set<number>();
      const busy = [...apart].some((t) => t < last.message.fields.deliveryTag && !own.has(t));
      if (busy || list.length === 1) for (const item of list) safely(() => channel.ack(item.message));
      else safely(() => channel.ack(last.message, true));
      for (const t of own) apart.delete(t);
    }
  }

  /**
   * A report whose run is unknown may just be early: with two receivers, its run's start can be in a
   * batch another instance is committing. It is retried for a few seconds before being dead-lettered.
   */
  private mayWait(item: Item): boolean {
    return !this.destroyed && Date.now() - (item.receivedAt ?? 0) < (this.config.unknownRunGraceMs ?? 0);
  }

  private hold(item: Item): void {
    const apart = this.apart.get(item.channel) ?? new Set<number>();
    this.apart.set(item.channel, apart.add(item.message.fields.deliveryTag));
    const timer = setTimeout(() => {
      this.waiting.delete(item);
      this.push(item);
    }, 250);
    this.waiting.set(item, timer);
  }

  /**
   * Shutdown (before the transport closes the channel): stop consuming, so no new message comes in,
   * then write and ack what was received. Messages still unacked go back to the queue by themselves.
   */
  async onModuleDestroy(): Promise<void> {
    this.destroyed = true;
    await this.consumer.stop().catch((e: unknown) => this.logger.debug(`cancelling the consumer: ${String(e)}`));
    // A wait for the database ends now: what is held goes back to the queue, in order.
    this.stopping.abort();
    // Reports still waiting for their run go back to the queue, for this or another instance.
    for (const [item, timer] of this.waiting) {
      clearTimeout(timer);
      safely(() => item.channel.nack(item.message, false, true));
    }
    this.waiting.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.running || this.queue.length) {
      if (!this.running) this.kick();
      await this.running;
    }
    this.throttle.flush();
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.queue.length) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.config.batchMaxSize);
      await this.flush(batch);
    }
  }

  private async flush(batch: Item[]): Promise<void> {
    for (let unknownFailures = 0; ;) {
      try {
        const started = performance.now();
        const outcomes = await this.writer.apply(batch.map((i) => i.cast.command));
        this.casts.stats.batchCommitted(batch.length, performance.now() - started);
        this.storeFailures = 0;
        this.health.markUp();
        const rejected: Promise<void>[] = [];
        batch.forEach((item, n) => {
          const outcome = outcomes[n];
          if (outcome.outcome === 'unknown_transaction' && this.mayWait(item)) return this.hold(item);
          this.casts.account(item.cast, outcome);
          if (outcome.outcome === 'unknown_transaction') rejected.push(this.deadLetter(item.channel, item.message, outcome.reason));
        });
        await Promise.all(rejected);
        this.ack(batch.filter((_, n) => outcomes[n].outcome !== 'unknown_transaction'));
        if (this.consumer.paused && !this.destroyed) await this.consumer.resume();
        return;
      } catch (e) {
        let kind = classifyDbError(e);
        // An error of no known class while the database does not answer is the database's.
        if (kind === 'unknown' && !(await this.health.probe())) kind = 'store';
        if (kind === 'store') {
          if (await this.waitForStore(batch, e)) continue;
          // Shutting down during an outage: what is held goes back to the queue, in delivery order.
          for (const item of batch) safely(() => item.channel.nack(item.message, false, true));
          return;
        }
        // The database answers: the fault is in the data (or in our code on this data). Isolate it.
        if (batch.length > 1) {
          this.logger.warn(`batch of ${batch.length} failed (${describe(e)}); applying its casts one by one`);
          for (const item of batch) await this.flush([item]);
          return;
        }
        if (kind === 'unknown' && unknownFailures < UNKNOWN_RETRY_MS.length && !this.destroyed) {
          this.casts.stats.batchRetried();
          this.throttle.warn(`unknown:${describe(e)}`, `a cast failed (${describe(e)}); retrying it`);
          await delay(UNKNOWN_RETRY_MS[unknownFailures++]);
          continue;
        }
        // A fault of this cast's data (or of our code on it): park it with the reason rather than loop on it.
        await this.deadLetter(batch[0].channel, batch[0].message, `cannot be stored: ${describe(e)}`);
        return;
      }
    }
  }

  /**
   * The store failed a batch: pause the consumer, hold the batch, probe the database with back-off.
   * True when it answers again (the caller writes the same batch again), false on shutdown.
   */
  private async waitForStore(batch: Item[], e: unknown): Promise<boolean> {
    if (this.stopping.signal.aborted) return false;
    this.casts.stats.batchRetried();
    this.health.markDown(e);
    this.throttle.error('store', `${batch.length} cast(s) held, unacked: the database failed (${describe(e)}); retrying when it answers`);
    await this.consumer.pause('the database is unavailable');
    return this.health.waitUntilAvailable(this.stopping.signal, this.storeFailures++);
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // The channel is gone; the broker redelivers unacked messages on its own.
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
