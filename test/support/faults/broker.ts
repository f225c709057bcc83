import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as amqp from 'amqplib';
import { useBroker } from '../broker-lock';
import { AMQP_URL, waitFor } from '../services';

/**
 * The local RabbitMQ node, driven with `rabbitmqctl` (the tests run as root on the broker's machine).
 * Restarting the broker's application disturbs every other client for a few seconds; every helper
 * that stops it also starts it again and waits until it answers.
 */
const run = promisify(execFile);

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', args, { timeout: 60000 });
  return stdout;
}

/** True when an AMQP connection can be opened and a channel used. */
export async function brokerAnswers(): Promise<boolean> {
  try {
    const conn = await amqp.connect(AMQP_URL, { timeout: 2000 });
    conn.on('error', () => undefined);
    try {
      const ch = await conn.createChannel();
      await ch.close();
      return true;
    } finally {
      await conn.close().catch(() => undefined);
    }
  } catch {
    return false;
  }
}

export async function waitForBroker(timeoutMs = 60000): Promise<void> {
  await waitFor(() => brokerAnswers(), 'RabbitMQ to answer again', timeoutMs);
}

/** `rabbitmqctl stop_app`: every connection dropped, queues stopped (persistent messages kept). */
export async function stopBrokerApp(): Promise<void> {
  await rabbitmqctl('stop_app');
}

/** `rabbitmqctl start_app`, then waits until the broker accepts connections. Idempotent. */
export async function startBrokerApp(): Promise<void> {
  await rabbitmqctl('start_app');
  await rabbitmqctl('await_startup').catch(() => undefined);
  await waitForBroker();
}

/** Makes sure the broker runs (for finally/afterAll after a test that stopped it). */
export async function ensureBrokerRunning(): Promise<void> {
  if (await brokerAnswers()) return;
  await startBrokerApp();
}

export interface QueueCounts {
  ready: number;
  unacked: number;
  consumers: number;
}

/** Ready and unacknowledged messages of a queue, and its consumers (`rabbitmqctl list_queues`). */
export async function queueCounts(queue: string): Promise<QueueCounts | null> {
  const out = await rabbitmqctl(
    '-q',
    'list_queues',
    '--no-table-headers',
    'name',
    'messages_ready',
    'messages_unacknowledged',
    'consumers',
  );
  for (const line of out.split('\n')) {
    const [name, ready, unacked, consumers] = line.trim().split(/\s+/);
    if (name === queue) return { ready: Number(ready), unacked: Number(unacked), consumers: Number(consumers) };
  }
  return null;
}

/**
 * Publishes casts on a connection of its own, with publisher confirms. `persistent` messages survive
 * a broker restart (Astute's are transient; a test that restarts the broker needs them kept, or the
 * broker itself, not the service, would lose the queued ones).
 */
export class Publisher {
  private constructor(
    private readonly conn: amqp.ChannelModel,
    readonly channel: amqp.ConfirmChannel,
  ) {}

  static async connect(): Promise<Publisher> {
    await useBroker();
    const conn = await amqp.connect(AMQP_URL);
    conn.on('error', () => undefined);
    const ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    return new Publisher(conn, ch);
  }

  async publish(exchange: string, bodies: unknown[], opts: { persistent?: boolean; routingKey?: string } = {}): Promise<void> {
    const chunk = 2000;
    for (let i = 0; i < bodies.length; i += chunk) {
      for (const b of bodies.slice(i, i + chunk)) {
        const content = Buffer.isBuffer(b) ? b : Buffer.from(JSON.stringify(b));
        const ok = this.channel.publish(exchange, opts.routingKey ?? 'nailgun', content, {
          contentType: 'application/json',
          persistent: opts.persistent ?? false,
        });
        if (!ok) await new Promise((r) => this.channel.once('drain', r));
      }
      await this.channel.waitForConfirms();
    }
  }

  async exists(queue: string): Promise<boolean> {
    return (await this.check(queue)) !== null;
  }

  /**
   * The consumers of a queue (null when it does not exist): what `queueCounts` says of them, for a
   * round trip (~ms) instead of a `rabbitmqctl` run (~1-2 s of an Erlang VM's start, CPU that test
   * files running beside this one need).
   */
  async consumers(queue: string): Promise<number | null> {
    return (await this.check(queue))?.consumerCount ?? null;
  }

  /**
   * Nothing ready and nothing unacked in a queue, as one listing says (`queueCounts`), asked only
   * once the queue has nothing ready over AMQP: while messages wait, each poll costs a round trip,
   * not a `rabbitmqctl` run.
   */
  async settled(queue: string): Promise<boolean> {
    if ((await this.ready(queue)) !== 0) return false;
    const q = await queueCounts(queue);
    return q !== null && q.ready === 0 && q.unacked === 0;
  }

  /** Messages ready in a queue (0 when it does not exist). */
  async ready(queue: string): Promise<number> {
    return (await this.check(queue))?.messageCount ?? 0;
  }

  /** A queue as the broker declares it, or null when it does not exist: on a throwaway channel, as a check on a missing queue closes its channel. */
  private async check(queue: string): Promise<amqp.Replies.AssertQueue | null> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => undefined);
    try {
      return await ch.checkQueue(queue);
    } catch {
      return null;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /**
   * Takes every message ready in a queue (acking them), in queue order; none when the queue does not
   * exist. A consumer, not basic.get: a get per message costs a round trip each (~40 ms here).
   */
  async drain(queue: string): Promise<amqp.ConsumeMessage[]> {
    const out: amqp.ConsumeMessage[] = [];
    if (!(await this.exists(queue))) return out;
    const ch = await this.conn.createChannel();
    ch.on('error', () => undefined);
    try {
      const count = (await ch.checkQueue(queue)).messageCount;
      if (count === 0) return out;
      await ch.prefetch(1000);
      let resolve!: () => void;
      const all = new Promise<void>((r) => (resolve = r));
      const { consumerTag } = await ch.consume(queue, (m) => {
        if (!m) return;
        ch.ack(m);
        out.push(m);
        if (out.length >= count) resolve();
      });
      await waitFor(() => out.length >= count, `${count} messages from ${queue}`, 30000);
      await all;
      await ch.cancel(consumerTag);
      return out;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** Deletes queues and exchanges a test made (errors ignored: they may not exist). */
  async remove(queues: string[], exchanges: string[]): Promise<void> {
    for (const q of queues) {
      const ch = await this.conn.createChannel();
      ch.on('error', () => undefined);
      await ch.deleteQueue(q).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    for (const x of exchanges) {
      const ch = await this.conn.createChannel();
      ch.on('error', () => undefined);
      await ch.deleteExchange(x).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.conn.close().catch(() => undefined);
  }
}
