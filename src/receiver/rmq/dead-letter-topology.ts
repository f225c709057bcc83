import { Logger } from '@nestjs/common';
import * as amqp from 'amqplib';
import type { AppConfig } from '../../common/config/app-config';
import { LogThrottle } from '../../common/logging/log-throttle';
import { deadLetterExchange, deadLetterQueue, QueueDeclaration } from './rmq-options';

/** What the broker offers for messages that cannot be applied, found (or set up) before consuming. */
export interface DeadLetterTopology extends QueueDeclaration {
  /**
   * The exchange the broker moves a message to when it is rejected without requeue: the consumed
   * queue's `x-dead-letter-exchange`. Null when the queue was declared without it (installations
   * before this version), where a rejected message is dropped unless a policy names one.
   */
  exchange: string | null;
  /** `<queue>.dead-letter` is as this service declares it: asserting it again cannot be refused (a 406 closes the channel). */
  dlqAssertable: boolean;
}

/** `<queue>.dead-letter`, as it has always been declared: a plain durable queue. */
export const DLQ_OPTIONS: amqp.Options.AssertQueue = { durable: true };

/** Broker answers that refuse one declaration (and close its channel), not the connection. */
const REFUSALS = new Set([403, 405, 406]);

/**
 * Sets up dead-lettering on the broker before the consumer starts, on a throwaway connection (a
 * refused declaration closes the channel it is made on; it must not be the consumer's):
 *  - `<queue>.dead-letter`, the dead-letter queue, a plain durable queue as before;
 *  - `<queue>.dead-letter`, a durable fanout exchange bound to it;
 *  - the consumed queue with `x-dead-letter-exchange` naming that exchange, so that a message this
 *    service rejects without requeue (when even its dead-letter copy fails) is moved by the broker.
 * An existing queue keeps its declaration: declaring it with another argument would be refused
 * (406), so a queue declared without the argument (every installation before this version) is
 * consumed as it is, with a warning saying how to add it with a policy.
 */
export async function declareDeadLetterTopology(config: AppConfig, logger = new Logger('Receiver')): Promise<DeadLetterTopology> {
  const queue = config.amqpQueue;
  const dlq = deadLetterQueue(config);
  const dlx = deadLetterExchange(config);
  const conn = await connect(config.amqpUrl!, logger);
  try {
    /** Runs one declaration on a channel of its own; the broker's refusal is returned, not thrown. */
    const declare = async (what: (ch: amqp.Channel) => Promise<unknown>): Promise<Error | null> => {
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      try {
        await what(ch);
        return null;
      } catch (e) {
        if (!REFUSALS.has((e as { code?: number }).code ?? 0)) throw e;
        return e as Error;
      } finally {
        await ch.close().catch(() => undefined);
      }
    };

    const dlqRefused = await declare((ch) => ch.assertQueue(dlq, DLQ_OPTIONS));
    if (dlqRefused) logger.warn(`dead-letter queue '${dlq}' exists with another declaration (${dlqRefused.message}); it is used as it is`);
    const dlxRefused = await declare(async (ch) => {
      await ch.assertExchange(dlx, 'fanout', { durable: true });
      await ch.bindQueue(dlq, dlx, '');
    });
    if (dlxRefused) logger.warn(`dead-letter exchange '${dlx}' could not be declared and bound to '${dlq}' (${dlxRefused.message})`);

    const withExchange: amqp.Options.AssertQueue = { durable: true, arguments: { 'x-dead-letter-exchange': dlx } };
    if (!dlxRefused && !(await declare((ch) => ch.assertQueue(queue, withExchange)))) {
      return { exchange: dlx, dlqAssertable: !dlqRefused, queueOptions: withExchange, noAssert: false };
    }
    const plainRefused = await declare((ch) => ch.assertQueue(queue, { durable: true }));
    const declared = plainRefused ? 'exists with arguments of its own' : 'was declared without x-dead-letter-exchange';
    logger.warn(
      `queue '${queue}' ${declared} and is consumed as it is. A message whose copy to '${dlq}' fails is held and tried again ` +
        `with back-off, then rejected: dropped, unless a policy gives the queue a dead-letter exchange. ` +
        `To have the broker move such messages to '${dlq}', add one (only one policy applies to a queue: merge it into any you have): ` +
        policyCommand(config.amqpUrl!, queue, dlx),
    );
    return { exchange: null, dlqAssertable: !dlqRefused, queueOptions: { durable: true }, noAssert: plainRefused !== null };
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** The `rabbitmqctl set_policy` command that gives `queue` the dead-letter exchange `dlx`. */
export function policyCommand(amqpUrl: string, queue: string, dlx: string): string {
  const vhost = decodeURIComponent(new URL(amqpUrl).pathname.slice(1)) || '/';
  const pattern = `^${queue.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`;
  const definition = JSON.stringify({ 'dead-letter-exchange': dlx });
  const onVhost = vhost === '/' ? '' : ` -p '${vhost}'`;
  return `rabbitmqctl set_policy${onVhost} --apply-to queues '${queue}-dead-letter' '${pattern}' '${definition}'`;
}

/** Connects, waiting for the broker as the consumer itself would (it retries for ever). */
async function connect(url: string, logger: Logger): Promise<amqp.ChannelModel> {
  const log = new LogThrottle(logger, 30_000);
  for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
    try {
      const conn = await amqp.connect(url);
      conn.on('error', () => undefined);
      log.flush();
      return conn;
    } catch (e) {
      log.warn(
        'connect',
        `RabbitMQ does not answer (${e instanceof Error ? e.message : String(e)}); dead-lettering is set up once it does`,
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
