import * as amqp from 'amqplib';
import { useBroker } from './broker-lock';
import { AMQP_URL } from './services';

/** Publishes raw bytes or JSON to an exchange the way Astute does, and reads queues back. */
export class Bus {
  private constructor(
    private readonly conn: amqp.ChannelModel,
    readonly channel: amqp.ConfirmChannel,
  ) {}

  static async connect(): Promise<Bus> {
    await useBroker();
    const conn = await amqp.connect(AMQP_URL).catch((e) => {
      throw new Error(`RabbitMQ at ${AMQP_URL} is needed for this test and did not answer: ${e.message}`);
    });
    return new Bus(conn, await conn.createConfirmChannel());
  }

  /** Astute's cast: JSON, content_type application/json, not persistent, to exchange/routing key. */
  async publish(exchange: string, routingKey: string, body: unknown): Promise<void> {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.channel.publish(exchange, routingKey, content, { contentType: 'application/json' });
    await this.channel.waitForConfirms();
  }

  async publishAll(exchange: string, routingKey: string, bodies: unknown[]): Promise<void> {
    for (const b of bodies) {
      this.channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(b)), { contentType: 'application/json' });
    }
    await this.channel.waitForConfirms();
  }

  /** Takes every message currently in a queue (acking them). */
  async drain(queue: string): Promise<amqp.GetMessage[]> {
    const out: amqp.GetMessage[] = [];
    for (;;) {
      const m = await this.channel.get(queue, { noAck: false });
      if (!m) return out;
      this.channel.ack(m);
      out.push(m);
    }
  }

  /** Messages ready in a queue and its consumers; zeros when the queue does not exist (yet). */
  async queueDepth(queue: string): Promise<{ messages: number; consumers: number; exists: boolean }> {
    // A check on a missing queue closes the channel it runs on: use a throwaway one.
    const ch = await this.conn.createChannel();
    ch.on('error', () => undefined);
    try {
      const q = await ch.checkQueue(queue);
      return { messages: q.messageCount, consumers: q.consumerCount, exists: true };
    } catch {
      return { messages: 0, consumers: 0, exists: false };
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /**
   * Whether the broker accepts declaring `queue` with `options`: an existing queue accepts only its
   * own type and arguments (else 406, which closes the channel: a throwaway one here).
   */
  async accepts(queue: string, options: amqp.Options.AssertQueue): Promise<boolean> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => undefined);
    try {
      await ch.assertQueue(queue, options);
      return true;
    } catch (e) {
      if ((e as { code?: number }).code !== 406) throw e;
      return false;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** Removes what a test app declared on the broker (its queue, dead-letter queue and exchange, dead-letter exchange). */
  async removeDeclared(config: { amqpQueue: string; amqpExchange: string }): Promise<void> {
    await this.channel.deleteQueue(config.amqpQueue).catch(() => undefined);
    await this.channel.deleteQueue(`${config.amqpQueue}.dead-letter`).catch(() => undefined);
    await this.channel.deleteExchange(config.amqpExchange).catch(() => undefined);
    await this.channel.deleteExchange(`${config.amqpQueue}.dead-letter`).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.conn.close().catch(() => undefined);
  }
}
