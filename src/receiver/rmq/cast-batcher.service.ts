import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { ConfirmChannel as Channel } from 'amqplib';
import { APP_CONFIG, AppConfig } from '../../common/config/app-config';
import { StoreHealth } from '../../common/database/store-health';
import { errorMessage } from '../../common/errors/error-message';
import { groupBy } from '../../common/group-by';
import { Readiness } from '../../common/health/readiness';
import { LogThrottle } from '../../common/logging/log-throttle';
import type { CommandOutcome } from '../../history/store-commands';
import { ParsedCast } from '../cast';
import { CastsService } from '../casts.service';
import { IngestBatcher, IngestEntry, IngestSource } from '../ingest-batcher';
import { BusConsumer } from './bus-consumer';
import { DeadLetterer } from './dead-letterer.service';
import { asAmqpMessage, HeldMessage } from './held-message';

/**
 * A delivery waiting in the ingest batcher: one object per held cast, with what of its message is kept
 * (HeldMessage: up to the prefetch of them are held, and every young collection copies them).
 */
interface BusEntry extends IngestEntry {
  cast: ParsedCast;
  message: HeldMessage;
  channel: Channel;
  /** When the message first reached the batcher (it may come back while waiting for its run). */
  receivedAt: number;
}

/** Pauses before retrying a cast that failed for an unknown reason while the database answers. */
const UNKNOWN_RETRY_MS = [250, 1000];

/**
 * The bus's side of the ingest batcher (IngestBatcher, shared with HTTP requests): deliveries wait
 * there, each one cast, and are written in shared database transactions; every message is acked only
 * after the batch holding it committed. Never half-acked.
 *
 * Whose fault a failure is decides what happens (IngestBatcher, classifyDbError):
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
export class CastBatcher implements OnModuleDestroy, IngestSource {
  private readonly logger = new Logger('Receiver');
  /**
   * Delivery tags settled apart from their batch, per channel — being dead-lettered, or held while
   * their run's start may still be committing elsewhere: a multiple ack must not cover them.
   */
  private readonly apart = new Map<Channel, Set<number>>();
  /** Reports held back a moment because their run is not known yet, and their timers. */
  private readonly waiting = new Map<BusEntry, NodeJS.Timeout>();
  private destroyed = false;
  private readonly throttle = new LogThrottle(this.logger);
  /** Deliveries accumulate behind a commit: they go at once. */
  readonly eager = true;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ingest: IngestBatcher,
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

  /** A delivery, its cast read: it waits for a batch. */
  push(cast: ParsedCast, message: HeldMessage, channel: Channel): void {
    this.ingest.push(this.entry(cast, message, channel, Date.now()));
  }

  private entry(cast: ParsedCast, message: HeldMessage, channel: Channel, receivedAt: number): BusEntry {
    return { commands: [cast.command], source: this, atomic: false, waitUntil: Infinity, cast, message, channel, receivedAt };
  }

  /**
   * Sends a message that can never be applied to the dead-letter queue with the reason, then acks it;
   * whatever its headers, and never back to the queue (see DeadLetterer). Resolves once the message is
   * settled or held for a later attempt: the batch does not wait for a back-off. Until the message is
   * settled, its tag stays apart, so that no multiple ack covers it.
   */
  async deadLetter(channel: Channel, message: HeldMessage, reason: string): Promise<void> {
    const tag = message.fields.deliveryTag;
    const inFlight = this.apart.get(channel) ?? new Set<number>();
    this.apart.set(channel, inFlight.add(tag));
    await this.deadLetterer.send(channel, message, reason, () => inFlight.delete(tag));
  }

  /** IngestSource: a batch committed; its outcomes accounted, unknown runs held or dead-lettered, the rest acked. */
  async committed(entries: IngestEntry[], outcomes: CommandOutcome[][], ms: number): Promise<void> {
    this.casts.stats.batchCommitted(entries.length, ms);
    const rejected: Promise<void>[] = [];
    const acked: BusEntry[] = [];
    entries.forEach((e, n) => {
      const entry = e as BusEntry;
      const outcome = outcomes[n][0];
      if (outcome.outcome === 'unknown_transaction' && this.mayWait(entry)) return this.hold(entry);
      this.casts.count(entry.cast, outcome);
      if (outcome.outcome === 'unknown_transaction') rejected.push(this.deadLetter(entry.channel, entry.message, outcome.reason));
      else acked.push(entry);
    });
    await Promise.all(rejected);
    this.ack(acked);
  }

  /** IngestSource: the bus never sends atomic entries. */
  refused(): void {}

  /** IngestSource: the store failed a batch holding deliveries: no new delivery until it answers. */
  async storeFailed(entries: IngestEntry[], e: unknown): Promise<void> {
    this.casts.stats.batchRetried();
    this.throttle.error(
      'store',
      `${entries.length} cast(s) held, unacked: the database failed (${errorMessage(e)}); retrying when it answers`,
    );
    await this.consumer.pause('the database is unavailable');
  }

  /** IngestSource: shutting down during an outage: what is held goes back to the queue, in delivery order. */
  giveUp(e: IngestEntry): void {
    const entry = e as BusEntry;
    safely(() => entry.channel.nack(asAmqpMessage(entry.message), false, true));
  }

  /** IngestSource: a cast failing alone while the database answers: retried twice when unknown, else dead-lettered. */
  async failedAlone(ingestEntry: IngestEntry, e: unknown, kind: 'content' | 'unknown', attempt: number): Promise<'retry' | 'done'> {
    const entry = ingestEntry as BusEntry;
    if (kind === 'unknown' && attempt < UNKNOWN_RETRY_MS.length && !this.destroyed) {
      this.casts.stats.batchRetried();
      this.throttle.warn(`unknown:${errorMessage(e)}`, `a cast failed (${errorMessage(e)}); retrying it`);
      await delay(UNKNOWN_RETRY_MS[attempt]);
      return 'retry';
    }
    // A fault of this cast's data (or of our code on it): park it with the reason rather than loop on it.
    await this.deadLetter(entry.channel, entry.message, `cannot be stored: ${errorMessage(e)}`);
    return 'done';
  }

  /** IngestSource: a batch committed: a consumer paused for an outage takes deliveries again. */
  async storeBack(): Promise<void> {
    if (this.consumer.paused && !this.destroyed) await this.consumer.resume();
  }

  /**
   * Acks the items of a committed batch. They are the oldest unsettled deliveries of their channel
   * (batches are flushed in delivery order, one at a time), so one `multiple` ack of the highest tag
   * settles them all, sparing the broker a frame per message; unless a lower tag is still being
   * dead-lettered, which that ack would wrongly cover.
   */
  private ack(entries: BusEntry[]): void {
    for (const [channel, list] of groupBy(entries, (e) => e.channel)) {
      const last = list.reduce((a, b) => (b.message.fields.deliveryTag > a.message.fields.deliveryTag ? b : a));
      const own = new Set(list.map((i) => i.message.fields.deliveryTag));
      const apart = this.apart.get(channel) ?? new Set<number>();
      let busy = false;
      for (const t of apart) if (t < last.message.fields.deliveryTag && !own.has(t)) busy = true;
      if (busy || list.length === 1) for (const entry of list) safely(() => channel.ack(asAmqpMessage(entry.message)));
      else safely(() => channel.ack(asAmqpMessage(last.message), true));
      for (const t of own) apart.delete(t);
    }
  }

  /**
   * A report whose run is unknown may just be early: with two receivers, its run's start can be in a
   * batch another instance is committing. It is retried for a few seconds before being dead-lettered.
   */
  private mayWait(entry: BusEntry): boolean {
    return !this.destroyed && Date.now() - entry.receivedAt < (this.config.unknownRunGraceMs ?? 0);
  }

  /** Writes the cast again in a moment, as a new entry (the one of the committed batch is done with). */
  private hold(entry: BusEntry): void {
    const apart = this.apart.get(entry.channel) ?? new Set<number>();
    this.apart.set(entry.channel, apart.add(entry.message.fields.deliveryTag));
    const timer = setTimeout(() => {
      this.waiting.delete(entry);
      this.ingest.push(this.entry(entry.cast, entry.message, entry.channel, entry.receivedAt));
    }, 250);
    this.waiting.set(entry, timer);
  }

  /**
   * Shutdown (before the transport closes the channel): stop consuming, so no new message comes in,
   * then write and ack what was received (IngestBatcher's shutdown; during an outage what is held goes
   * back to the queue, in order). Messages still unacked go back to the queue by themselves.
   */
  async onModuleDestroy(): Promise<void> {
    this.destroyed = true;
    await this.consumer.stop().catch((e: unknown) => this.logger.debug(`cancelling the consumer: ${String(e)}`));
    // Reports still waiting for their run go back to the queue, for this or another instance.
    for (const [entry, timer] of this.waiting) {
      clearTimeout(timer);
      safely(() => entry.channel.nack(asAmqpMessage(entry.message), false, true));
    }
    this.waiting.clear();
    await this.ingest.onModuleDestroy();
    this.throttle.flush();
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // The channel is gone; the broker redelivers unacked messages on its own.
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
