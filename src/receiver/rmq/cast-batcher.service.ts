import { Inject, Injectable, Logger, OnModuleDestroy, Optional } from '@nestjs/common';
import type { ConfirmChannel as Channel, ConsumeMessage } from 'amqplib';
import { APP_CONFIG, AppConfig } from '../../common/config/app-config';
import { isStoreFailure as isTransientDbError } from '../../common/database/db-errors';
import { HistoryWriter } from '../../history/history-writer.service';
import { ParsedCast } from '../cast';
import { CastsService } from '../casts.service';
import { DeadLetterer } from './dead-letterer.service';
import { CONSUMER_TAG } from './rmq-options';

interface Item {
  cast: ParsedCast;
  message: ConsumeMessage;
  channel: Channel;
  /** When the message first reached the batcher (it may come back while waiting for its run). */
  receivedAt?: number;
}

const RETRY_DELAYS_MS = [50, 250, 1000];

/**
 * Groups casts from the bus into batches written in one database transaction each, and acks every
 * message only after the batch holding it committed. A failed batch is retried; if it keeps failing
 * it is split so that one poisonous cast is dead-lettered alone, and casts that fail for a passing
 * reason are nacked back to the queue. Never half-acked.
 */
@Injectable()
export class CastBatcher implements OnModuleDestroy {
  private readonly logger = new Logger('Receiver');
  private queue: Item[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Injected as a property, not in the constructor: see deadLetters(). */
  @Optional() @Inject(DeadLetterer) private deadLetterer?: DeadLetterer;
  /** The consumer's channel, as last seen: shutdown cancels the consumer on it. */
  private channel: Channel | null = null;
  /**
   * Delivery tags settled apart from their batch, per channel — being dead-lettered, or held while
   * their run's start may still be committing elsewhere: a multiple ack must not cover them.
   */
  private readonly apart = new Map<Channel, Set<number>>();
  /** Reports held back a moment because their run is not known yet, and their timers. */
  private readonly waiting = new Map<Item, NodeJS.Timeout>();
  private destroyed = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly writer: HistoryWriter,
    private readonly casts: CastsService,
  ) {}

  push(item: Item): void {
    this.channel = item.channel;
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
    await this.deadLetters().send(channel, message, reason, () => inFlight.delete(tag));
  }

  /** Nest's instance; a batcher built by hand (unit tests) gets one of its own, with no dead-letter exchange known. */
  private deadLetters(): DeadLetterer {
    return (this.deadLetterer ??= new DeadLetterer(this.config, this.casts.stats));
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
    if (this.channel) {
      const channel = this.channel;
      await Promise.resolve()
        .then(() => channel.cancel(CONSUMER_TAG))
        .catch((e: unknown) => this.logger.debug(`cancelling the consumer: ${e}`));
    }
    this.destroyed = true;
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
    for (let attempt = 0; ; attempt++) {
      try {
        const started = performance.now();
        const outcomes = await this.writer.apply(batch.map((i) => i.cast.command));
        this.casts.stats.batchCommitted(batch.length, performance.now() - started);
        const rejected: Promise<void>[] = [];
        batch.forEach((item, n) => {
          const outcome = outcomes[n];
          if (outcome.outcome === 'unknown_transaction' && this.mayWait(item)) return this.hold(item);
          this.casts.account(item.cast, outcome);
          if (outcome.outcome === 'unknown_transaction') rejected.push(this.deadLetter(item.channel, item.message, outcome.reason));
        });
        await Promise.all(rejected);
        this.ack(batch.filter((_, n) => outcomes[n].outcome !== 'unknown_transaction'));
        return;
      } catch (e) {
        if (attempt < RETRY_DELAYS_MS.length && isTransientDbError(e)) {
          this.casts.stats.batchRetried();
          this.logger.warn(`batch of ${batch.length} failed (${describe(e)}); retry ${attempt + 1}`);
          await delay(RETRY_DELAYS_MS[attempt]);
          continue;
        }
        if (batch.length > 1 && !isTransientDbError(e)) {
          this.logger.warn(`batch of ${batch.length} failed (${describe(e)}); applying its casts one by one`);
          for (const item of batch) await this.flush([item]);
          return;
        }
        if (isTransientDbError(e)) {
          // The database is away: return the casts to the queue; they come back when it does.
          this.logger.error(`${batch.length} cast(s) failed (${describe(e)}); returned to the queue`);
          for (const item of batch) safely(() => item.channel.nack(item.message, false, true));
        } else {
          // A fault of this cast's data (or of our code): park it with the reason rather than loop on it.
          await this.deadLetter(batch[0].channel, batch[0].message, `cannot be stored: ${describe(e)}`);
        }
        return;
      }
    }
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
