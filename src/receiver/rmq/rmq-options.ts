import { RmqOptions, Transport } from '@nestjs/microservices';
import { hostname } from 'node:os';
import type { AppConfig } from '../../common/config/app-config';
import { AstuteDeserializer } from './astute.deserializer';

export const deadLetterQueue = (config: Pick<AppConfig, 'amqpQueue'>) => `${config.amqpQueue}.dead-letter`;

/** This process's consumer tag, so that it can stop consuming on shutdown before the last batch. */
export const CONSUMER_TAG = `deployment-history.${hostname()}.${process.pid}.${Date.now().toString(36)}`;

/**
 * The consumer: a durable queue bound to Astute's topic exchange, manual acks (after commit), a
 * prefetch large enough to fill batches, and the deserializer that understands Astute's envelope.
 */
export function rmqOptions(config: AppConfig): RmqOptions {
  return {
    transport: Transport.RMQ,
    options: {
      urls: [config.amqpUrl!],
      queue: config.amqpQueue,
      queueOptions: { durable: true },
      exchange: config.amqpExchange,
      exchangeType: 'topic',
      routingKey: config.amqpRoutingKey,
      noAck: false,
      prefetchCount: config.amqpPrefetch,
      consumerTag: CONSUMER_TAG,
      deserializer: new AstuteDeserializer(),
    },
  };
}
