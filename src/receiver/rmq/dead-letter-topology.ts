import { Logger } from '@nestjs/common';
import * as amqp from 'amqplib';
import type { AppConfig, QueueType } from '../../common/config/app-config';
import { LogThrottle } from '../../common/logging/log-throttle';
import { deadLetterExchange, deadLetterQueue, QueueDeclaration } from './rmq-options';
import { errorMessage } from '../../common/errors/error-message';

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
  /** How `<queue>.dead-letter` is declared (of AMQP_QUEUE_TYPE), when it is asserted again. */
  dlqOptions: amqp.Options.AssertQueue;
}

/**
 * The arguments that make a queue of `type`. None for classic: every queue was declared so before
 * AMQP_QUEUE_TYPE, and a declaration must match an existing queue's arguments exactly. A quorum queue
 * is durable, never exclusive nor auto-delete (amqplib's defaults), and takes none of the other
 * arguments used here but `x-dead-letter-exchange` (no `x-max-priority` in RabbitMQ 3.x, no global prefetch).
 */
export function queueTypeArguments(type: QueueType): Record<string, string> {
  return type === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
}

/** `<queue>.dead-letter`: a durable queue, of the configured type (a plain durable queue when classic, as always). */
export const dlqOptions = (type: QueueType): amqp.Options.AssertQueue => ({ durable: true, arguments: queueTypeArguments(type) });

/**
 * A queue exists on the broker with the other type than AMQP_QUEUE_TYPE: RabbitMQ refuses to declare
 * it again as asked (406) and cannot convert it. The service stops at start with what to do, rather
 * than consume a queue of a type it was not told to use (a classic queue has no replica to fail over to).
 */
export class QueueTypeMismatchError extends Error {
  constructor(
    readonly mismatches: { queue: string; type: QueueType }[],
    wanted: QueueType,
    queueEnv: string,
  ) {
    const other: QueueType = wanted === 'quorum' ? 'classic' : 'quorum';
    super(
      `AMQP_QUEUE_TYPE is '${wanted}', but ` +
        mismatches.map((m) => `queue '${m.queue}' exists on the broker as a ${m.type} queue`).join(' and ') +
        `; RabbitMQ refuses to declare a queue again with another type and cannot convert one. Either set AMQP_QUEUE_TYPE=${other} ` +
        `to consume it as it is, or set AMQP_QUEUE to a new name (e.g. '${queueEnv}.${wanted}'): the service declares that queue and its ` +
        `dead-letter queue as ${wanted} queues bound to the same exchange; once it consumes, the old queue may be drained by an instance ` +
        `with the old settings and deleted (README "Past one machine": casts applied twice change nothing).`,
    );
    this.name = 'QueueTypeMismatchError';
  }
}

/** Broker answers that refuse one declaration (and close its channel), not the connection. */
const REFUSALS = new Set([403, 405, 406]);

/**
 * Sets up dead-lettering on the broker before the consumer starts, on a throwaway connection (a
 * refused declaration closes the channel it is made on; it must not be the consumer's):
 *  - `<queue>.dead-letter`, the dead-letter queue, a durable queue of AMQP_QUEUE_TYPE (classic: plain, as before);
 *  - `<queue>.dead-letter`, a durable fanout exchange bound to it;
 *  - the consumed queue with `x-dead-letter-exchange` naming that exchange, so that a message this
 *    service rejects without requeue (when even its dead-letter copy fails) is moved by the broker.
 * An existing queue keeps its declaration: declaring it with another argument would be refused
 * (406), so a queue declared without the argument (every installation before this version) is
 * consumed as it is, with a warning saying how to add it with a policy. Both queues are declared of
 * AMQP_QUEUE_TYPE; one that exists with the other type stops the start (QueueTypeMismatchError).
 */
export async function declareDeadLetterTopology(
  config: Pick<AppConfig, 'amqpUrl' | 'amqpQueue' | 'amqpQueueType'>,
  logger = new Logger('Receiver'),
): Promise<DeadLetterTopology> {
  const queue = config.amqpQueue;
  const dlq = deadLetterQueue(config);
  const dlx = deadLetterExchange(config);
  const type = config.amqpQueueType;
  const other: QueueType = type === 'quorum' ? 'classic' : 'quorum';
  const DLQ = dlqOptions(type);
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

    /**
     * After a 406, whether `name` is a queue of the other type: declaring it as such (with or without
     * the dead-letter exchange) is accepted, changing nothing. Decided by the broker's answers, not by
     * its message's text; only after a 406, which says the queue exists (a 403 would let this create it).
     */
    const ofOtherType = async (name: string, refusal: Error | null, argsTried: Record<string, string>[]): Promise<boolean> => {
      if ((refusal as { code?: number } | null)?.code !== 406) return false;
      for (const args of argsTried) {
        if (!(await declare((ch) => ch.assertQueue(name, { durable: true, arguments: { ...queueTypeArguments(other), ...args } }))))
          return true;
      }
      return false;
    };

    const dlqRefused = await declare((ch) => ch.assertQueue(dlq, DLQ));
    const mismatches: { queue: string; type: QueueType }[] = [];
    if (await ofOtherType(dlq, dlqRefused, [{}])) mismatches.push({ queue: dlq, type: other });
    else if (dlqRefused)
      logger.warn(`dead-letter queue '${dlq}' exists with another declaration (${dlqRefused.message}); it is used as it is`);
    const dlxRefused = await declare(async (ch) => {
      await ch.assertExchange(dlx, 'fanout', { durable: true });
      await ch.bindQueue(dlq, dlx, '');
    });
    if (dlxRefused) logger.warn(`dead-letter exchange '${dlx}' could not be declared and bound to '${dlq}' (${dlxRefused.message})`);

    const typed: amqp.Options.AssertQueue = { durable: true, arguments: queueTypeArguments(type) };
    const withExchange: amqp.Options.AssertQueue = {
      durable: true,
      arguments: { ...queueTypeArguments(type), 'x-dead-letter-exchange': dlx },
    };
    const withExchangeRefused = dlxRefused ? null : await declare((ch) => ch.assertQueue(queue, withExchange));
    if (!dlxRefused && !withExchangeRefused) {
      if (mismatches.length) throw new QueueTypeMismatchError(mismatches, type, queue);
      return { exchange: dlx, dlqAssertable: !dlqRefused, dlqOptions: DLQ, queueOptions: withExchange, noAssert: false };
    }
    const plainRefused = await declare((ch) => ch.assertQueue(queue, typed));
    if (await ofOtherType(queue, plainRefused, [{ 'x-dead-letter-exchange': dlx }, {}])) mismatches.unshift({ queue, type: other });
    if (mismatches.length) throw new QueueTypeMismatchError(mismatches, type, queue);
    const declared = plainRefused
      ? `exists with arguments of its own (${plainRefused.message})`
      : 'was declared without x-dead-letter-exchange';
    logger.warn(
      `queue '${queue}' ${declared} and is consumed as it is. A message whose copy to '${dlq}' fails is held and tried again ` +
        `with back-off, then rejected: dropped, unless a policy gives the queue a dead-letter exchange. ` +
        `To have the broker move such messages to '${dlq}', add one (only one policy applies to a queue: merge it into any you have): ` +
        policyCommand(config.amqpUrl!, queue, dlx),
    );
    return { exchange: null, dlqAssertable: !dlqRefused, dlqOptions: DLQ, queueOptions: typed, noAssert: plainRefused !== null };
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
      log.warn('connect', `RabbitMQ does not answer (${errorMessage(e)}); dead-lettering is set up once it does`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
