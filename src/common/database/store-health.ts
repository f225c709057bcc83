import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Metrics } from '../metrics/metrics.service';
import { doublingMs } from '../runtime/backoff';

const PROBE_TIMEOUT_MS = 3000;
const FIRST_WAIT_MS = 250;

/**
 * Whether the store (PostgreSQL) can be used right now, as the writers last found it and as a probe
 * (`SELECT 1` on a pooled connection, the path real writes take) says. Whoever finds the database
 * away calls `markDown`; `waitUntilAvailable` probes with exponential back-off, capped at
 * STORE_RETRY_MAX_MS, until it answers. Readiness and /metrics show the state.
 */
@Injectable()
export class StoreHealth {
  private readonly logger = new Logger('Database');
  private up = true;
  private downSince: number | null = null;
  private lastError: string | null = null;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    this.metrics.storeAvailable.set(1);
  }

  get available(): boolean {
    return this.up;
  }

  /** For readiness: since when and why the database is unavailable, or null when it is. */
  outage(): { since: Date; error: string | null } | null {
    return this.downSince === null ? null : { since: new Date(this.downSince), error: this.lastError };
  }

  markDown(e: unknown): void {
    this.lastError = e instanceof Error ? e.message : String(e);
    if (!this.up) return;
    this.up = false;
    this.downSince = Date.now();
    this.metrics.storeAvailable.set(0);
    this.metrics.storeOutage();
    this.logger.error(`the database is unavailable (${this.lastError}); writes wait and retry until it answers`);
  }

  markUp(): void {
    if (this.up) return;
    const secs = ((Date.now() - (this.downSince ?? Date.now())) / 1000).toFixed(1);
    this.up = true;
    this.downSince = null;
    this.lastError = null;
    this.metrics.storeAvailable.set(1);
    this.logger.log(`the database answers again after ${secs} s`);
  }

  /** One `SELECT 1`, bounded in time; updates the state. */
  async probe(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.db.query('SELECT 1'),
        new Promise(
          (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS)),
        ),
      ]);
      this.markUp();
      return true;
    } catch (e) {
      this.markDown(e);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The pause before the n-th probe of an outage (n from 0): exponential from 250 ms, capped, with ±20 % jitter. */
  backoffMs(n: number): number {
    const base = doublingMs(n, FIRST_WAIT_MS, this.config.storeRetryMaxMs);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  /**
   * Waits until a probe succeeds, pausing `backoffMs(from)`, `backoffMs(from + 1)`... before each.
   * Resolves true when the database answers, false when `signal` aborts (shutdown).
   */
  async waitUntilAvailable(signal: AbortSignal, from = 0): Promise<boolean> {
    for (let n = from; !signal.aborted; n++) {
      await sleep(this.backoffMs(n), signal);
      if (signal.aborted) break;
      if (await this.probe()) return true;
    }
    return false;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
