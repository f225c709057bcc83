import { HttpException, HttpStatus, Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { classifyDbError } from '../common/database/db-errors';
import { StoreHealth } from '../common/database/store-health';
import { LogThrottle } from '../common/logging/log-throttle';
import { HistoryWriter } from '../history/history-writer.service';
import type { CommandOutcome, StoreCommand } from '../history/store-commands';
import { ReceiverStats } from './receiver-stats';

/** Requests waiting for a batch (queued or in the batch being written): past it, 503 with Retry-After. */
export const HTTP_MAX_WAITING_REQUESTS = 512;
/** Casts waiting for a batch: past it a request is refused (unless nothing waits: a lone large request always goes). */
export const HTTP_MAX_WAITING_CASTS = 50_000;
/**
 * How long a request whose batch met a store failure (connection lost, database restarting, a race lost
 * past every retry) waits for the database to answer again before it is answered 503 with Retry-After.
 */
export const HTTP_STORE_WAIT_MS = 5_000;
/** Seconds a client refused for a full queue is told to wait. */
export const HTTP_BUSY_RETRY_AFTER_S = 1;

type Rejected = Array<{ index: number; reason: string }>;

interface Request {
  commands: StoreCommand[];
  onReject: (rejected: Rejected) => Error;
  resolve: (outcomes: CommandOutcome[]) => void;
  reject: (e: unknown) => void;
  /** Until when a store failure is waited out; 0: the database was known down when it came, answered at once. */
  waitUntil: number;
}

/** Too many requests waiting: the client is told to come back (503 with Retry-After, a JSON reason). */
export class IngestBusyError extends HttpException {
  readonly retryAfterS = HTTP_BUSY_RETRY_AFTER_S;
  constructor(reason: string) {
    super(
      { message: `too many casts waiting to be written: ${reason}; retry in ${HTTP_BUSY_RETRY_AFTER_S} s` },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}

/** A request's casts named a run the store does not know (inside one batch): the batch is written again without it. */
class RequestsRejected extends Error {
  constructor(readonly rejected: Rejected) {
    super('casts of unknown runs');
  }
}

/**
 * Concurrent `POST /casts` (and `POST /transactions`) requests share database transactions, as bus
 * messages do in CastBatcher: same window (BATCH_MAX_WAIT_MS) and size (BATCH_MAX_SIZE, in casts; a
 * larger request goes alone, as it always went in one transaction). Each request stays all or nothing
 * and is answered only after its casts committed, with its own outcomes or its own error:
 * - a request naming an unknown run is answered its 404 and the batch is written again without it;
 * - a batch the database refuses for its content is split: each request is written alone and gets the
 *   answer it would get alone (400 for a value PostgreSQL refuses), so one bad request fails no other;
 * - a store failure (classifyDbError: the database away, restarting, a lost race) is never the
 *   request's: the batch is held, the database probed with back-off (StoreHealth) and the same batch
 *   written again, for at most HTTP_STORE_WAIT_MS; then 503 with Retry-After (never a 500, never dropped:
 *   either the casts are committed and answered 200, or nothing of them is and the client retries).
 *   A request arriving while the database is known away is not held: it gets its 503 at once.
 * Bounded: HTTP_MAX_WAITING_REQUESTS and HTTP_MAX_WAITING_CASTS, past them 503 with Retry-After.
 *
 * A batch goes when full, when the window ends, or — the group commit that makes closed-loop clients
 * fast — as soon as as many requests wait as the last batch answered (its clients are back).
 */
@Injectable()
export class HttpCastBatcher implements OnModuleDestroy {
  private readonly logger = new Logger('Receiver');
  private readonly throttle = new LogThrottle(this.logger);
  private queue: Request[] = [];
  private queuedCasts = 0;
  /** Requests in the batch being written (they count against the cap too). */
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Requests answered by the last batch: when as many wait again, the next batch goes at once. */
  private lastAnswered = 0;
  private storeFailures = 0;
  private readonly stopping = new AbortController();
  /** While a batch is held for the database: the failure, given at once to requests that come meanwhile. */
  private heldFor: Error | null = null;
  /** The bounds (the constants above; tests make them small). */
  readonly limits = { requests: HTTP_MAX_WAITING_REQUESTS, casts: HTTP_MAX_WAITING_CASTS, storeWaitMs: HTTP_STORE_WAIT_MS };

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly writer: HistoryWriter,
    private readonly health: StoreHealth,
    private readonly stats: ReceiverStats,
  ) {}

  /** Requests waiting for their batch to commit (queued or being written). */
  get waiting(): number {
    return this.queue.length + this.inFlight;
  }

  /** As HistoryWriter.apply with onReject (all or nothing), in a batch shared with concurrent requests; resolves after the commit. */
  apply(commands: StoreCommand[], onReject: (rejected: Rejected) => Error): Promise<CommandOutcome[]> {
    // The database is known away and a batch already waits for it: no point in queueing behind it (503 at once).
    if (this.heldFor !== null && !this.health.available) throw this.heldFor;
    if (this.waiting >= this.limits.requests) {
      throw new IngestBusyError(`${this.limits.requests} requests are waiting`);
    }
    if (this.queue.length && this.queuedCasts + commands.length > this.limits.casts) {
      throw new IngestBusyError(`${this.queuedCasts} casts are waiting`);
    }
    return new Promise<CommandOutcome[]>((resolve, reject) => {
      const waitUntil = this.health.available ? Date.now() + this.limits.storeWaitMs : 0;
      this.queue.push({ commands, onReject, resolve, reject, waitUntil });
      this.queuedCasts += commands.length;
      if (
        this.queuedCasts >= this.config.batchMaxSize ||
        (!this.running && this.lastAnswered > 0 && this.queue.length >= this.lastAnswered)
      ) {
        this.kick();
      } else this.timer ??= setTimeout(() => this.kick(), this.config.batchMaxWaitMs);
    });
  }

  /** Shutdown: what waits is written and answered; a wait for the database ends at once (those held get their 503). */
  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.running || this.queue.length) {
      if (!this.running) this.kick();
      await this.running;
    }
    this.throttle.flush();
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.queue.length) {
        // Those that came meanwhile: at once when as many as the last batch answered are back, else the window.
        if (this.queue.length >= this.lastAnswered || this.queuedCasts >= this.config.batchMaxSize) this.kick();
        else this.timer ??= setTimeout(() => this.kick(), this.config.batchMaxWaitMs);
      }
    });
  }

  private async drain(): Promise<void> {
    const batch = this.take();
    this.inFlight = batch.length;
    try {
      await this.flush(batch);
    } finally {
      this.inFlight = 0;
      this.lastAnswered = batch.length;
    }
  }

  /** Whole requests, in arrival order, up to BATCH_MAX_SIZE casts (at least one request). */
  private take(): Request[] {
    let n = 0;
    let casts = 0;
    while (n < this.queue.length && (n === 0 || casts + this.queue[n].commands.length <= this.config.batchMaxSize)) {
      casts += this.queue[n++].commands.length;
    }
    this.queuedCasts -= casts;
    return this.queue.splice(0, n);
  }

  private async flush(batch: Request[]): Promise<void> {
    while (batch.length) {
      const offsets: number[] = [];
      let total = 0;
      for (const r of batch) {
        offsets.push(total);
        total += r.commands.length;
      }
      try {
        const started = performance.now();
        const outcomes = await this.writer.apply(
          batch.flatMap((r) => r.commands),
          (rejected) => new RequestsRejected(rejected),
        );
        this.stats.httpBatchCommitted(batch.length, total, performance.now() - started);
        this.storeFailures = 0;
        this.health.markUp();
        batch.forEach((r, i) => r.resolve(outcomes.slice(offsets[i], offsets[i] + r.commands.length)));
        return;
      } catch (e) {
        if (e instanceof RequestsRejected) {
          // Each request naming an unknown run gets its own 404 (its own indexes); the others are written again.
          const own = (i: number) => e.rejected.filter((x) => x.index >= offsets[i] && x.index < offsets[i] + batch[i].commands.length);
          batch = batch.filter((r, i) => {
            const mine = own(i).map((x) => ({ index: x.index - offsets[i], reason: x.reason }));
            if (!mine.length) return true;
            r.reject(r.onReject(mine));
            return false;
          });
          continue;
        }
        let kind = classifyDbError(e);
        if (kind === 'unknown' && !(await this.health.probe())) kind = 'store';
        if (kind === 'store') {
          batch = await this.waitForStore(batch, e);
          continue;
        }
        // The database answers: the fault is in a request's data. Each is written alone and gets its own answer.
        if (batch.length > 1) {
          this.logger.warn(`a batch of ${batch.length} requests failed (${describe(e)}); writing them one by one`);
          for (const r of batch) await this.flush([r]);
          return;
        }
        batch[0].reject(e);
        return;
      }
    }
  }

  /**
   * A store failure: requests past their wait get the error (a 503 with Retry-After); the others wait
   * for the database (probes with back-off), bounded by the latest of their deadlines. Returns those to write again.
   */
  private async waitForStore(batch: Request[], e: unknown): Promise<Request[]> {
    this.stats.batchRetried();
    this.health.markDown(e);
    const now = Date.now();
    const held = batch.filter((r) => {
      if (r.waitUntil > now && !this.stopping.signal.aborted) return true;
      r.reject(e);
      return false;
    });
    if (!held.length) return held;
    this.throttle.error('store', `${held.length} HTTP request(s) held: the database failed (${describe(e)}); retrying when it answers`);
    const until = Math.max(...held.map((r) => r.waitUntil));
    // Own controller and timer, not AbortSignal.any/timeout: on Node 20 a composite signal may lose the
    // abort of a timeout signal nothing else references once it is garbage-collected (seen: a request held forever).
    const bounded = new AbortController();
    const end = () => bounded.abort();
    const timer = setTimeout(end, until - now);
    this.stopping.signal.addEventListener('abort', end, { once: true });
    this.heldFor = e instanceof Error ? e : new Error(String(e));
    try {
      if (await this.health.waitUntilAvailable(bounded.signal, this.storeFailures++)) return held;
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener('abort', end);
      this.heldFor = null;
    }
    for (const r of held) r.reject(e);
    return [];
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
