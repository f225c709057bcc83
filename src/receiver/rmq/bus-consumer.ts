import { Injectable, Logger } from '@nestjs/common';
import { RmqContext, ServerRMQ } from '@nestjs/microservices';
import type { Channel, ConsumeMessage } from 'amqplib';
import { Metrics } from '../../common/metrics/metrics.service';
import { DELIVERIES_PATTERN } from './astute.deserializer';
import { HeldMessage, heldMessage } from './held-message';

/** What handleMessage answers: one promise settled for all deliveries, not one made per delivery. */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * Nest's RabbitMQ server, taking deliveries in groups, and able to stop taking them and to take them
 * again: while the database is away the consumer is cancelled (the broker keeps the queue's messages,
 * other instances may take them), and it consumes again once the database answers. Casts still come in
 * through the Nest microservices transport (the handler, the deserializer, the context are Nest's).
 *
 * In groups: the deliveries amqplib hands over in one read of the socket (up to the prefetch) go to
 * the handler as one event. Nest's path per event (context, the global interceptors and filters, an
 * observable chain, an AsyncResource bound per interceptor) cost ~150 µs of CPU per cast when each
 * message was its own event, more than parsing and storing it (issue #17); per group it is paid once
 * per hundreds of casts. The order of the deliveries is kept (groups are handed over in order).
 */
export class PausableRmqServer extends ServerRMQ {
  private raw: Channel | null = null;
  private pausedNow = false;
  /**
   * Deliveries of the current read, handed over together at the next turn of the event loop; their
   * channel. Held as HeldMessage from the start: amqplib's objects for them die young.
   */
  private group: HeldMessage[] = [];
  private groupChannel: Channel | null = null;
  private groupScheduled = false;
  private readonly deliveriesRoute = this.getPatternAsString(DELIVERIES_PATTERN);

  /**
   * Takes a delivery into the current group (Nest's consume callback, as its setupChannel and resume
   * register it). Bounded: the broker delivers at most the prefetch count unacked.
   */
  override handleMessage(message: Record<string, unknown> | null, channel: Channel): Promise<void> {
    // Null: the broker cancelled the consumer (as Nest's own handleMessage, nothing to do).
    if (!message) return SETTLED;
    if (this.groupChannel !== channel) this.handOver();
    this.groupChannel = channel;
    this.group.push(heldMessage(message as unknown as ConsumeMessage));
    if (!this.groupScheduled) {
      this.groupScheduled = true;
      setImmediate(() => this.handOver());
    }
    return SETTLED;
  }

  /** The group to the handler, as one Nest event (the deserializer reads each body once). */
  private handOver(): void {
    this.groupScheduled = false;
    const messages = this.group;
    const channel = this.groupChannel;
    this.group = [];
    if (!messages.length || !channel) return;
    const context = new RmqContext([messages[0], channel, this.deliveriesRoute]);
    // Nest's handleEvent: the handler through the interceptors, filters and pipes; errors go to Nest's handleError.
    const deliver = async () => {
      await this.handleEvent(this.deliveriesRoute, await this.deserializer.deserialize(messages), context);
    };
    deliver().catch((err: unknown) => this.handleError(err as string));
  }

  get paused(): boolean {
    return this.pausedNow;
  }

  /** Nest's setup (queue, exchange, binding, prefetch, consume) on every (re)connection; paused stays paused. */
  override async setupChannel(channel: Channel, callback: () => void): Promise<void> {
    this.raw = channel;
    await super.setupChannel(channel, callback);
    // Nest's consume is on its way; RPCs on a channel are answered in order, so this cancel follows it.
    if (this.pausedNow) await channel.cancel(this.consumerTag()).catch(() => undefined);
  }

  async pause(): Promise<void> {
    if (this.pausedNow) return;
    this.pausedNow = true;
    await this.raw?.cancel(this.consumerTag()).catch(() => undefined);
  }

  async resume(): Promise<void> {
    if (!this.pausedNow) return;
    this.pausedNow = false;
    const channel = this.raw;
    if (!channel) return;
    // As Nest's setupChannel consumes (server-rmq.js); without `noAssert`, the queue is this.queue.
    await channel
      .consume(
        this.queue,
        // Nest's handleError logs whatever it is given, as its own setupChannel passes it (typed string).
        (msg) =>
          void this.handleMessage(msg as unknown as Record<string, unknown>, channel).catch((err: unknown) =>
            this.handleError(err as string),
          ),
        {
          noAck: this.noAck,
          consumerTag: this.consumerTag(),
        },
      )
      .catch(() => undefined); // a closed channel: the next connection's setup consumes
  }

  private consumerTag(): string {
    return this.getOptionsProp(this.options, 'consumerTag', undefined);
  }
}

/** The bus consumer as the receiver sees it: paused while the store is away, resumed after. */
@Injectable()
export class BusConsumer {
  private readonly logger = new Logger('Receiver');
  private server: PausableRmqServer | null = null;
  private stopped = false;

  constructor(private readonly metrics: Metrics) {}

  attach(server: PausableRmqServer): void {
    this.server = server;
  }

  get paused(): boolean {
    return this.server?.paused ?? false;
  }

  async pause(why: string): Promise<void> {
    if (!this.server || this.server.paused || this.stopped) return;
    await this.server.pause();
    this.metrics.consumerPaused.set(1);
    this.logger.warn(`consumer paused: ${why}; deliveries stay in the queue until the database answers`);
  }

  /**
   * Shutdown: no new delivery (what is held is written, or goes back to the queue), for good: a batch
   * committing meanwhile must not resume the consumer that a database outage had paused.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.server?.pause();
  }

  async resume(): Promise<void> {
    if (this.stopped || !this.server?.paused) return;
    await this.server.resume();
    this.metrics.consumerPaused.set(0);
    this.logger.log('consumer resumed');
  }
}
