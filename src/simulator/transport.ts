import * as amqp from 'amqplib';
import { ApiClient, describeFetchError } from '../cli/client';
import { CliError } from '../cli/errors';
import { Cast, encodeCast } from '../receiver/cast-builder';

/** Where the simulated orchestrator sends its casts. */
export interface Transport {
  /** Sends casts in order; resolves once they were accepted (HTTP 200, or broker confirms). */
  send(casts: Cast[]): Promise<void>;
  close(): Promise<void>;
  describe(): string;
  /** Largest batch to hand to `send` at once. */
  readonly batch: number;
}

/** `POST /api/v1/casts`, a list of casts per request (applied in one database transaction, in order). */
export class HttpTransport implements Transport {
  readonly batch = 500;
  private readonly api: ApiClient;

  constructor(url: string, token?: string) {
    this.api = new ApiClient({ url, token, timeoutMs: 120_000, userAgent: 'dhist-simulator' });
  }

  async send(casts: Cast[]): Promise<void> {
    if (casts.length) await this.api.post('casts', undefined, casts);
  }

  async close(): Promise<void> {}

  describe(): string {
    return `${this.api.base.href}casts`;
  }
}

/** Astute's way: JSON to the topic exchange with a routing key, content type application/json, not persistent. */
export class AmqpTransport implements Transport {
  readonly batch = 1000;
  private returned = 0;

  private constructor(
    private readonly url: string,
    private readonly conn: amqp.ChannelModel,
    private readonly channel: amqp.ConfirmChannel,
    private readonly exchange: string,
    private readonly routingKey: string,
  ) {
    // `mandatory`: a cast that no queue takes comes back here, so we can say nobody listens.
    channel.on('return', () => this.returned++);
  }

  static async connect(url: string, exchange: string, routingKey: string): Promise<AmqpTransport> {
    let conn: amqp.ChannelModel;
    try {
      conn = await amqp.connect(url);
    } catch (e) {
      throw new CliError(describeFetchError({ cause: e }, redact(url)));
    }
    conn.on('error', () => undefined);
    const channel = await conn.createConfirmChannel();
    channel.on('error', () => undefined);
    // Astute declares the exchange it publishes to, as the service does: durable topic.
    await channel.assertExchange(exchange, 'topic', { durable: true });
    return new AmqpTransport(url, conn, channel, exchange, routingKey);
  }

  async send(casts: Cast[]): Promise<void> {
    for (const c of casts) {
      const ok = this.channel.publish(this.exchange, this.routingKey, encodeCast(c), {
        contentType: 'application/json',
        mandatory: true,
      });
      if (!ok) await new Promise((resolve) => this.channel.once('drain', resolve));
    }
    await this.channel.waitForConfirms();
    if (this.returned) {
      throw new CliError(
        `${this.returned} cast(s) reached no queue: is the service consuming exchange '${this.exchange}' with routing key '${this.routingKey}' at ${redact(this.url)}?`,
      );
    }
  }

  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.conn.close().catch(() => undefined);
  }

  describe(): string {
    return `${redact(this.url)} exchange '${this.exchange}' key '${this.routingKey}'`;
  }
}

/** The URL without its password. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
