import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client } from 'pg';
import { filter, Observable, Subject } from 'rxjs';
import { DatabaseServer } from '../common/database/database-server';
import { LogThrottle } from '../common/logging/log-throttle';
import { listenForChanges } from './persistence/history-channel';
import { errorMessage } from '../common/errors/error-message';

/**
 * Which runs changed, as every writer announces it at commit (PostgreSQL NOTIFY), so a live view on
 * any instance hears about casts applied by any other. One listening connection, opened on first use.
 */
@Injectable()
export class HistoryEvents implements OnModuleDestroy {
  private readonly logger = new Logger('HistoryEvents');
  /** During a database outage the reconnection fails every second: said once per interval, with a count. */
  private readonly throttle = new LogThrottle(this.logger);
  private readonly changed = new Subject<number>();
  private client: Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly server: DatabaseServer) {}

  /**
   * Resolves once this instance listens (or has tried to: it keeps retrying in the background), so
   * that a view which reads its first rows after this misses no change committed after that read.
   */
  listening(): Promise<void> {
    return this.listen();
  }

  /** Emits each time the run's rows or status change (after the commit). */
  runChanged(transactionId: number): Observable<number> {
    void this.listen();
    return this.changed.pipe(filter((id) => id === transactionId));
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.throttle.flush();
    await this.client?.end().catch(() => undefined);
    this.client = null;
  }

  private listen(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: await this.server.url(), application_name: 'deployment-history-listen' });
    client.on('notification', (n) => {
      for (const id of (n.payload ?? '').split(',')) if (id) this.changed.next(Number(id));
    });
    client.on('error', (e) => {
      this.throttle.warn('lost', `listening connection lost (${e.message}); reconnecting`);
      this.client = null;
      void client.end().catch(() => undefined);
      if (!this.closed) setTimeout(() => void this.listen(), 1000).unref();
    });
    try {
      await client.connect();
      await listenForChanges(client);
      this.client = client;
    } catch (e) {
      this.throttle.warn('connect', `cannot listen for changes (${errorMessage(e)}); retrying`);
      await client.end().catch(() => undefined);
      if (!this.closed) setTimeout(() => void this.listen(), 1000).unref();
    }
  }
}
