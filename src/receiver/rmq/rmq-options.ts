import { RmqOptions, Transport } from '@nestjs/microservices';
import type { Options } from 'amqplib';
import { hostname } from 'node:os';
import type { AppConfig } from '../../common/config/app-config';
import { AstuteDeserializer } from './astute.deserializer';

export const deadLetterQueue = (config: Pick<AppConfig, 'amqpQueue'>) => `${config.amqpQueue}.dead-letter`;
/** The fanout exchange bound to the dead-letter queue (same name), named by the consumed queue's `x-dead-letter-exchange`. */
export const deadLetterExchange = (config: Pick<AppConfig, 'amqpQueue'>) => `${config.amqpQueue}.dead-letter`;

/** How the consumed queue is declared: as it already exists on the broker (see dead-letter-topology.ts). */
export interface QueueDeclaration {
  queueOptions: Options.AssertQueue;
  /** The queue exists with arguments of its own: consume it without declaring it. */
  noAssert: boolean;
}

/** As the queue was always declared: plain durable (when no declaration is given). */
const PLAIN: QueueDeclaration = { queueOptions: { durable: true }, noAssert: false };

/** This process's consumer tag, so that it can stop consuming on shutdown before the last batch. */
export const CONSUMER_TAG = `deployment-history.${hostname()}.${process.pid}.${Date.now().toString(36)}`;

/**
 * The consumer: a durable queue bound to Astute's topic exchange, manual acks (after commit), a
 * prefetch large enough to fill batches, and the deserializer that understands Astute's envelope.
 * The queue's declaration comes from declareDeadLetterTopology (with `x-dead-letter-exchange` when new).
 */
export function rmqOptions(config: AppConfig, declaration: QueueDeclaration = PLAIN): RmqOptions {
  return {
    transport: Transport.RMQ,
    options: {
      urls: [config.amqpUrl!],
      queue: config.amqpQueue,
      // Nest declares the queue again at every (re)connection: with other arguments than it has, the
      // broker would answer 406 and close the consumer's channel each time.
      queueOptions: declaration.queueOptions,
      noAssert: declaration.noAssert,
      exchange: config.amqpExchange,
      exchangeType: 'topic',
      routingKey: config.amqpRoutingKey,
      noAck: false,
      prefetchCount: config.amqpPrefetch,
      // Per consumer, as Nest's default: a quorum queue refuses a global prefetch (540, the connection closes).
      isGlobalPrefetchCount: false,
      consumerTag: CONSUMER_TAG,
      deserializer: new AstuteDeserializer(),
    },
  };
}
