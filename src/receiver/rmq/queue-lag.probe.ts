import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import * as amqp from 'amqplib';
import { APP_CONFIG, AppConfig } from '../../common/config/app-config';
import { Metrics } from '../../common/metrics/metrics.service';
import { errorMessage } from '../../common/errors/error-message';

const EVERY_MS = 5000;

/**
 * Consumer lag for the metrics: the messages waiting in our queue, read every few seconds on a
 * connection of its own (a failed check closes its channel; it must never be the consumer's).
 */
@Injectable()
export class QueueLagProbe implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Receiver');
  private timer?: NodeJS.Timeout;
  private conn: amqp.ChannelModel | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    if (!this.config.amqpUrl) return;
    this.timer = setInterval(() => void this.probe(), EVERY_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.conn?.close().catch(() => undefined);
    this.conn = null;
  }

  private async probe(): Promise<void> {
    try {
      if (!this.conn) {
        const conn = await amqp.connect(this.config.amqpUrl!);
        conn.on('error', () => undefined);
        conn.on('close', () => {
          if (this.conn === conn) this.conn = null;
        });
        this.conn = conn;
      }
      const ch = await this.conn.createChannel();
      ch.on('error', () => undefined);
      try {
        this.metrics.consumerLag.set((await ch.checkQueue(this.config.amqpQueue)).messageCount);
      } finally {
        await ch.close().catch(() => undefined);
      }
    } catch (e) {
      this.logger.debug(`queue lag probe: ${errorMessage(e)}`);
      await this.conn?.close().catch(() => undefined);
      this.conn = null;
    }
  }
}
