import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { ConfirmChannel as Channel } from 'amqplib';
import { APP_CONFIG, AppConfig } from '../../common/config/app-config';
import { errorMessage } from '../../common/errors/error-message';
import { LogThrottle } from '../../common/logging/log-throttle';
import { reasonKind } from '../../common/metrics/metrics.service';
import { ReceiverStats } from '../receiver-stats';
import { backoffMs, BoundedHeaders, deadLetterHeaders, LruCounter, messageKey, RetryPolicy } from './dead-letter';
import { DeadLetterTopology, dlqOptions } from './dead-letter-topology';
import { asAmqpMessage, HeldMessage } from './held-message';
import { deadLetterQueue } from './rmq-options';

interface Parked {
  channel: Channel;
  message: HeldMessage;
  reason: string;
  key: string;
  settled: () => void;
}

/**
 * Moves a message that can never be applied out of the consumed queue, whatever it carries, and
 * never into a loop (issue #11):
 *  - a copy goes to `<queue>.dead-letter` with the reason, its headers bounded (dead-letter.ts), then
 *    the original is acked;
 *  - if the copy still fails and the queue names a dead-letter exchange, the message is rejected
 *    without requeue: the broker moves it there (without the reason, which is logged);
 *  - if the queue names none (declared before this version), the message is held, unacked, and the
 *    copy tried again with back-off; after `retry.attempts` failures it is rejected without requeue.
 * It is never requeued (but held messages, at shutdown). Failures are counted per message (by
 * content, in bounded memory) across redeliveries, so one that comes back (its channel closed) waits
 * its back-off or is rejected at once. Repeated log lines are throttled: once per interval with a count.
 */
@Injectable()
export class DeadLetterer implements OnModuleDestroy {
  private readonly log = new LogThrottle(new Logger('Receiver'));
  /** Until bootstrap has looked at the broker (declareDeadLetterTopology): no dead-letter exchange known. */
  private topology: DeadLetterTopology = {
    exchange: null,
    dlqAssertable: true,
    dlqOptions: dlqOptions('classic'),
    queueOptions: { durable: true },
    noAssert: false,
  };
  /** Failed copies per message, kept across its redeliveries. */
  private readonly failures = new LruCounter(10_000);
  private readonly asserted = new WeakSet<Channel>();
  private readonly closed = new WeakSet<Channel>();
  private readonly watched = new WeakSet<Channel>();
  /** Messages held for a later attempt, and their timers. */
  private readonly parked = new Map<NodeJS.Timeout, Parked>();
  /** Attempts per message and the waits between them (DEAD_LETTER_*: 6, 0.5 s doubling up to 8 s, ~15 s in all by default). */
  readonly retry: RetryPolicy;

  constructor(
    @Inject(APP_CONFIG)
    private readonly config: Pick<AppConfig, 'amqpQueue' | 'deadLetterAttempts' | 'deadLetterRetryFirstMs' | 'deadLetterRetryMaxMs'>,
    private readonly stats: ReceiverStats,
  ) {
    this.retry = {
      attempts: config.deadLetterAttempts,
      firstDelayMs: config.deadLetterRetryFirstMs,
      maxDelayMs: config.deadLetterRetryMaxMs,
    };
  }

  use(topology: DeadLetterTopology): void {
    this.topology = topology;
  }

  /**
   * Dead-letters `message` with `reason`. Resolves once the message is settled or held for a later
   * attempt, so that a batch never waits for a back-off; never rejects. `settled` is called once the
   * message has left this service's hands: acked, rejected, or its channel closed (the broker then
   * returns it to the queue).
   */
  async send(channel: Channel, message: HeldMessage, reason: string, settled: () => void): Promise<void> {
    const item: Parked = { channel, message, reason, key: messageKey(message), settled };
    try {
      this.watch(channel);
      const failures = this.failures.get(item.key);
      // It failed before, then came back (its channel closed): no second copy attempt right away.
      if (failures > 0 && (this.topology.exchange || failures >= this.retry.attempts)) return this.reject(item, failures);
      if (failures > 0) return this.park(item, failures);
      await this.attempt(item);
    } catch (e) {
      // Not expected (attempt handles its failures): leave the message unacked; it returns to the queue with its channel.
      this.log.error('dead-letter:unexpected', `dead-lettering failed unexpectedly (${reason}): ${errorMessage(e)}`);
      settled();
    }
  }

  /** Held messages go back to the queue (for another instance, or this one's next start). */
  onModuleDestroy(): void {
    for (const [timer, item] of this.parked) {
      clearTimeout(timer);
      if (!this.closed.has(item.channel)) onChannel(() => item.channel.nack(asAmqpMessage(item.message), false, true));
      item.settled();
    }
    this.parked.clear();
    this.log.flush();
  }

  private async attempt(item: Parked): Promise<void> {
    const { channel, message, reason, key, settled } = item;
    const queue = deadLetterQueue(this.config);
    // Closed while the message was held: the broker has returned it to the queue already.
    if (this.closed.has(channel)) return settled();
    let copy: BoundedHeaders;
    try {
      copy = await this.copy(channel, message, reason);
    } catch (e) {
      const failures = this.failures.increment(key);
      this.stats.deadLetterCopyFailed();
      const why = errorMessage(e);
      this.log.error(`copy-failed:${why.replace(/\d+/g, '#').slice(0, 80)}`, `could not copy a message to ${queue} (${reason}): ${why}`);
      if (this.closed.has(channel)) return settled();
      if (this.topology.exchange || failures >= this.retry.attempts) return this.reject(item, failures);
      return this.park(item, failures);
    }
    // If the channel closed since the copy, the broker returns the message and it is copied again: a duplicate, not a loss.
    onChannel(() => channel.ack(asAmqpMessage(message)));
    this.failures.delete(key);
    this.stats.deadLetter(reason);
    const { dropped, truncated } = copy;
    let cut = '';
    if (dropped.length || truncated.length) {
      this.stats.deadLetterHeadersCut(dropped.length, truncated.length);
      cut = ` (headers cut to ${copy.bytes} bytes: ${dropped.length} dropped, ${truncated.length} truncated)`;
    }
    this.log.warn(`dead-lettered:${reasonKind(reason)}`, `dead-lettered a message to ${queue}: ${reason}${cut}`);
    settled();
  }

  /** The copy: to the dead-letter queue, headers bounded, confirmed by the broker. */
  private async copy(channel: Channel, message: HeldMessage, reason: string): Promise<BoundedHeaders> {
    const queue = deadLetterQueue(this.config);
    if (this.topology.dlqAssertable && !this.asserted.has(channel)) {
      // Once per channel: the queue comes back if someone deleted it while we ran.
      await channel.assertQueue(queue, this.topology.dlqOptions).catch((e: unknown) => {
        // Declared again by someone else, differently: refused (406, which closed this channel); never ask again.
        if ((e as { code?: number }).code === 406) this.topology = { ...this.topology, dlqAssertable: false };
        throw e;
      });
      this.asserted.add(channel);
    }
    const copy = deadLetterHeaders(message.properties.headers, {
      'x-dead-letter-reason': reason,
      'x-original-exchange': message.fields.exchange,
      'x-original-routing-key': message.fields.routingKey,
      'x-dead-lettered-at': new Date().toISOString(),
    });
    await new Promise<void>((resolve, reject) => {
      const confirmed = (err: unknown) => (err ? reject(asError(err)) : resolve());
      try {
        const contentType = (message.properties.contentType as string | undefined) ?? 'application/json';
        channel.sendToQueue(queue, message.content, { headers: copy.headers, contentType, persistent: true }, confirmed);
      } catch (e) {
        forgetConfirmCallback(channel, confirmed);
        reject(asError(e));
      }
    });
    return copy;
  }

  /** Rejects without requeue: to the queue's dead-letter exchange, or (none) dropped unless a policy names one. */
  private reject(item: Parked, failures: number): void {
    const { channel, message, reason, key, settled } = item;
    const exchange = this.topology.exchange;
    const queue = deadLetterQueue(this.config);
    if (onChannel(() => channel.nack(asAmqpMessage(message), false, false))) {
      this.failures.delete(key);
      this.stats.deadLetterRejected(exchange ? 'exchange' : 'policy_or_nowhere');
      const what = `${message.content.length} bytes from ${message.fields.exchange || '(default)'}/${message.fields.routingKey}`;
      if (exchange) {
        this.log.warn(
          'rejected:exchange',
          `rejected a message (${what}) after ${failures} failed cop${failures > 1 ? 'ies' : 'y'}: the broker moves it to ${queue} ` +
            `through the queue's dead-letter exchange ${exchange}, without the reason header: ${reason}`,
        );
      } else {
        this.log.error(
          'rejected:nowhere',
          `gave up a message (${what}) after ${failures} failed copies to ${queue}: rejected without requeue, ` +
            `it is dropped unless a policy gives queue ${this.config.amqpQueue} a dead-letter exchange; its reason: ${reason}`,
        );
      }
    }
    // If the nack failed the channel is gone: the broker returns the message, its failures still counted.
    settled();
  }

  /** Holds the message, unacked, and tries the copy again after a back-off. */
  private park(item: Parked, failures: number): void {
    const delay = backoffMs(failures, this.retry);
    const timer = setTimeout(() => {
      this.parked.delete(timer);
      void this.attempt(item).catch((e) => {
        this.log.error('dead-letter:unexpected', `dead-lettering failed unexpectedly (${item.reason}): ${errorMessage(e)}`);
        item.settled();
      });
    }, delay);
    // A held message must not keep a stopping process alive: its channel's end returns it to the queue.
    timer.unref();
    this.parked.set(timer, item);
  }

  private watch(channel: Channel): void {
    if (this.watched.has(channel) || typeof channel.once !== 'function') return;
    this.watched.add(channel);
    channel.once('close', () => this.closed.add(channel));
  }
}

/**
 * amqplib's ConfirmChannel queues the confirm callback before it encodes the message: when encoding
 * throws, the callback stays queued with no publish behind it, and every later confirm on the
 * channel would settle the publish before it (the last one never). Take it back out.
 */
function forgetConfirmCallback(channel: Channel, cb: unknown): void {
  const pending = (channel as unknown as { unconfirmed?: unknown[] }).unconfirmed;
  if (Array.isArray(pending) && pending[pending.length - 1] === cb) pending.pop();
}

/** amqplib fails with Errors (a nack, a closed channel, a message it cannot encode); anything else is wrapped in one. */
function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Runs a channel operation; false when the channel is gone (the broker then settles the message itself). */
function onChannel(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}
