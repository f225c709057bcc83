import { HttpException, HttpStatus, Injectable, Logger } from '@nestjs/common';
import { StoreHealth } from '../common/database/store-health';
import { errorMessage } from '../common/errors/error-message';
import { LogThrottle } from '../common/logging/log-throttle';
import type { CommandOutcome, StoreCommand } from '../history/store-commands';
import { IngestBatcher, IngestEntry, IngestSource, Rejected } from './ingest-batcher';
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

interface Request extends IngestEntry {
  onReject: (rejected: Rejected) => Error;
  resolve: (outcomes: CommandOutcome[]) => void;
  reject: (e: unknown) => void;
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

/**
 * Concurrent `POST /casts` (and `POST /transactions`) requests share database transactions with each
 * other and with bus deliveries: they wait in the one ingest batcher (IngestBatcher), same window
 * (BATCH_MAX_WAIT_MS) and size (BATCH_MAX_SIZE, in casts; a larger request goes alone, as it always went
 * in one transaction). Each request stays all or nothing and is answered only after its casts committed,
 * with its own outcomes or its own error:
 * - a request naming an unknown run is answered its 404 and the batch is written again without it;
 * - a batch the database refuses for its content is split: each request is written alone and gets the
 *   answer it would get alone (400 for a value PostgreSQL refuses), so one bad request fails no other;
 * - a store failure (classifyDbError: the database away, restarting, a lost race) is never the
 *   request's: the batch is held, the database probed with back-off (StoreHealth) and the same batch
 *   written again, for at most HTTP_STORE_WAIT_MS per request; then 503 with Retry-After (never a 500, never
 *   dropped: either the casts are committed and answered 200, or nothing of them is and the client retries).
 *   A request arriving while the database is known away and a batch is held for it gets its 503 at once.
 * Bounded: HTTP_MAX_WAITING_REQUESTS and HTTP_MAX_WAITING_CASTS, past them 503 with Retry-After.
 */
@Injectable()
export class HttpCastBatcher implements IngestSource {
  private readonly logger = new Logger('Receiver');
  private readonly throttle = new LogThrottle(this.logger);
  /** Requests wait for the window (closed-loop clients come back together: the group commit). */
  readonly eager = false;
  /** The bounds (the constants above; tests make them small). */
  readonly limits = { requests: HTTP_MAX_WAITING_REQUESTS, casts: HTTP_MAX_WAITING_CASTS, storeWaitMs: HTTP_STORE_WAIT_MS };

  constructor(
    private readonly ingest: IngestBatcher,
    private readonly health: StoreHealth,
    private readonly stats: ReceiverStats,
  ) {}

  /** Requests waiting for their batch to commit (queued or being written). */
  get waiting(): number {
    return this.ingest.waitingOf(this).entries;
  }

  /** As HistoryWriter.apply with onReject (all or nothing), in a batch shared with concurrent requests and deliveries; resolves after the commit. */
  apply(commands: StoreCommand[], onReject: (rejected: Rejected) => Error): Promise<CommandOutcome[]> {
    // The database is known away and a batch already waits for it: no point in queueing behind it (503 at once).
    const held = this.ingest.heldFor;
    if (held !== null && !this.health.available) throw held;
    const waiting = this.ingest.waitingOf(this);
    if (waiting.entries >= this.limits.requests) {
      throw new IngestBusyError(`${this.limits.requests} requests are waiting`);
    }
    if (waiting.queuedCasts && waiting.queuedCasts + commands.length > this.limits.casts) {
      throw new IngestBusyError(`${waiting.queuedCasts} casts are waiting`);
    }
    return new Promise<CommandOutcome[]>((resolve, reject) => {
      // 0: the database was known down when it came: a store failure is answered at once.
      const waitUntil = this.health.available ? Date.now() + this.limits.storeWaitMs : 0;
      const request: Request = { commands, source: this, atomic: true, waitUntil, onReject, resolve, reject };
      this.ingest.push(request);
    });
  }

  /** IngestSource: each request answered with its own outcomes. */
  committed(entries: IngestEntry[], outcomes: CommandOutcome[][], ms: number): Promise<void> {
    this.stats.httpBatchCommitted(
      entries.length,
      entries.reduce((n, e) => n + e.commands.length, 0),
      ms,
    );
    entries.forEach((e, i) => {
      e.gone = true;
      (e as Request).resolve(outcomes[i]);
    });
    return Promise.resolve();
  }

  /** IngestSource: a request naming unknown runs: its own 404 (its own indexes). */
  refused(entry: IngestEntry, rejected: Rejected): void {
    const r = entry as Request;
    r.reject(r.onReject(rejected));
  }

  /** IngestSource: requests held for the store. */
  storeFailed(entries: IngestEntry[], e: unknown): Promise<void> {
    this.stats.batchRetried();
    this.throttle.error(
      'store',
      `${entries.length} HTTP request(s) held: the database failed (${errorMessage(e)}); retrying when it answers`,
    );
    return Promise.resolve();
  }

  /** IngestSource: past its wait for the store (or shutting down): the store's error, a 503 with Retry-After. */
  giveUp(entry: IngestEntry, e: unknown): void {
    (entry as Request).reject(e);
  }

  /** IngestSource: a request refused alone while the database answers: its own error (a 400 for a value PostgreSQL refuses). */
  failedAlone(entry: IngestEntry, e: unknown): Promise<'retry' | 'done'> {
    (entry as Request).reject(e);
    return Promise.resolve('done');
  }
}
