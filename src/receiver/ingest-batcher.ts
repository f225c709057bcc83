import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { classifyDbError } from '../common/database/db-errors';
import { StoreHealth } from '../common/database/store-health';
import { errorMessage } from '../common/errors/error-message';
import { HistoryWriter } from '../history/history-writer.service';
import type { CommandOutcome, StoreCommand } from '../history/store-commands';

/** Commands of an entry naming runs the store does not know: their indexes in the entry, and why. */
export type Rejected = Array<{ index: number; reason: string }>;

/**
 * What waits for a batch: a bus delivery (one cast) or an HTTP request (its casts, all or nothing).
 * Its source decides what its outcomes, failures and waits mean for it.
 */
export interface IngestEntry {
  commands: StoreCommand[];
  source: IngestSource;
  /** All or nothing: a command of an unknown run fails the entry whole, and the batch is written again without it. */
  atomic: boolean;
  /** Until when (ms since the epoch) a store failure is waited out for it; past it, the source gives it up (Infinity: never). */
  waitUntil: number;
  /** Set once the entry has left the batcher (answered, given up): nothing of it is written after. */
  gone?: boolean;
}

/** Where entries come from (the bus, HTTP): what happens to its entries at each turn of a batch. */
export interface IngestSource {
  /** Its entries of a committed batch, each with its own outcomes, in order; `ms`: the write's time. */
  committed(entries: IngestEntry[], outcomes: CommandOutcome[][], ms: number): Promise<void>;
  /** An atomic entry named unknown runs: it is answered so (the batch is written again without it). */
  refused(entry: IngestEntry, rejected: Rejected): void;
  /** A batch holding entries of this source met a store failure: before the wait (the bus pauses its consumer). */
  storeFailed(entries: IngestEntry[], e: unknown): Promise<void>;
  /** An entry given up: past its wait for the store, or shutting down during an outage. Nothing of it was written. */
  giveUp(entry: IngestEntry, e: unknown): void;
  /** An entry failing alone while the database answers: 'retry' to write it again, 'done' once the source settled it. */
  failedAlone(entry: IngestEntry, e: unknown, kind: 'content' | 'unknown', attempt: number): Promise<'retry' | 'done'>;
  /** After a commit: the database answers (the bus resumes a paused consumer). */
  storeBack?(): Promise<void>;
  /** Casts of this source go at once when they wait (the bus: deliveries accumulate behind a commit); else the window. */
  readonly eager: boolean;
}

/**
 * Batches over which the number of HTTP clients is remembered: a client that stopped costs the others
 * at most this many windows (BATCH_MAX_WAIT_MS each) before the batches stop waiting for it.
 */
const CLIENT_MEMORY = 8;

/** An atomic entry named unknown runs inside a batch: the batch is written again without it. */
class EntriesRefused extends Error {
  constructor(readonly refused: Array<{ entry: IngestEntry; rejected: Rejected }>) {
    super('casts of unknown runs');
  }
}

/**
 * THE ingest batcher: casts from the bus (CastBatcher) and from HTTP (HttpCastBatcher) wait here
 * together and are written in shared database transactions, one batch at a time, in arrival order:
 * whole entries up to BATCH_MAX_SIZE casts (a larger one goes alone). A batch goes when full, when
 * the window (BATCH_MAX_WAIT_MS) ends, at once while bus deliveries wait behind a commit, or — the group
 * commit that makes closed-loop HTTP clients fast — as soon as every client seen lately has a request waiting.
 *
 * Whose fault a failure is decides what happens (classifyDbError):
 * - the store's (the database away, restarting, a lost connection, a lost race): never the casts'. The
 *   batch is held, the database probed with back-off (StoreHealth) and the same batch written again
 *   once it answers; an entry whose wait ends first (an HTTP request, after its bound) is given up by
 *   its source (a 503), the others stay. Nothing is dead-lettered for it.
 * - the content's (a value PostgreSQL refuses), or unknown while the database answers: the batch is
 *   split, each entry written alone, and a failing entry is its source's to settle (dead-letter, 400).
 * - an atomic entry naming an unknown run: answered by its source (a 404), the batch written again without it.
 */
@Injectable()
export class IngestBatcher implements OnModuleDestroy {
  private readonly logger = new Logger('Receiver');
  private queue: IngestEntry[] = [];
  private queuedCasts = 0;
  /** Atomic (HTTP) entries and eager (bus) entries queued: counted, as pushes are per cast. */
  private queuedAtomic = 0;
  private queuedEager = 0;
  /** Entries in the batch being written. */
  private inFlight: IngestEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /**
   * Requests outstanding at the end of each of the last CLIENT_MEMORY batches (answered by it + still
   * queued): their peak is how many closed-loop clients there are; when that many wait, the next batch
   * goes at once. Not "as many as the last batch answered": clients that came in staggered then stayed
   * split in alternating groups for good (3/5 or 4/4 of 8: half the requests per transaction).
   */
  private readonly recentClients: number[] = [];
  private clients = 0;
  /** Consecutive store failures: the back-off grows with them, and is reset by a commit. */
  private storeFailures = 0;
  /** Aborted on shutdown: a wait for the database ends, and what is held is given up (the bus: back to the queue). */
  private readonly stopping = new AbortController();
  /** While a batch is held for the database: the failure. */
  private held: Error | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly writer: HistoryWriter,
    private readonly health: StoreHealth,
  ) {}

  /** The store failure a batch is held for, while it is (null otherwise). */
  get heldFor(): Error | null {
    return this.held;
  }

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** Entries of `source` waiting (queued or in the batch being written). */
  waitingOf(source: IngestSource): { entries: number; queuedCasts: number } {
    let entries = 0;
    let queuedCasts = 0;
    for (const e of this.queue) {
      if (e.source !== source) continue;
      entries++;
      queuedCasts += e.commands.length;
    }
    for (const e of this.inFlight) if (e.source === source && !e.gone) entries++;
    return { entries, queuedCasts };
  }

  push(entry: IngestEntry): void {
    this.queue.push(entry);
    this.queuedCasts += entry.commands.length;
    if (entry.atomic) this.queuedAtomic++;
    if (entry.source.eager) this.queuedEager++;
    if (this.queuedCasts >= this.config.batchMaxSize || (!this.running && this.clients > 0 && this.queuedAtomic >= this.clients)) {
      this.kick();
    } else this.timer ??= setTimeout(() => this.kick(), this.config.batchMaxWaitMs);
  }

  /** Shutdown: a wait for the database ends at once (what it held is given up); what waits is written. */
  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.running || this.queue.length) {
      if (!this.running) this.kick();
      await this.running;
    }
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (!this.queue.length) return;
      // Bus deliveries that came meanwhile go at once; requests when every recent client's is back, else the window.
      if (
        this.queuedCasts >= this.config.batchMaxSize ||
        this.queuedEager > 0 ||
        this.queuedAtomic >= this.clients ||
        this.stopping.signal.aborted
      ) {
        this.kick();
      } else this.timer ??= setTimeout(() => this.kick(), this.config.batchMaxWaitMs);
    });
  }

  private async drain(): Promise<void> {
    const batch = this.take();
    this.inFlight = batch;
    try {
      await this.flush(batch);
    } finally {
      this.inFlight = [];
      this.recentClients.push(batch.filter((e) => e.atomic).length + this.queuedAtomic);
      if (this.recentClients.length > CLIENT_MEMORY) this.recentClients.shift();
      this.clients = Math.max(...this.recentClients);
    }
  }

  /** Whole entries, in arrival order, up to BATCH_MAX_SIZE casts (at least one entry). */
  private take(): IngestEntry[] {
    let n = 0;
    let casts = 0;
    while (n < this.queue.length && (n === 0 || casts + this.queue[n].commands.length <= this.config.batchMaxSize)) {
      casts += this.queue[n++].commands.length;
    }
    this.queuedCasts -= casts;
    const batch = this.queue.splice(0, n);
    for (const e of batch) {
      if (e.atomic) this.queuedAtomic--;
      if (e.source.eager) this.queuedEager--;
    }
    return batch;
  }

  private async flush(batch: IngestEntry[]): Promise<void> {
    for (let unknownFailures = 0; ;) {
      batch = batch.filter((e) => !e.gone);
      if (!batch.length) return;
      const offsets: number[] = [];
      let total = 0;
      for (const e of batch) {
        offsets.push(total);
        total += e.commands.length;
      }
      try {
        const started = performance.now();
        const outcomes = await this.writer.apply(
          batch.flatMap((e) => e.commands),
          (rejected) => refusedOf(batch, offsets, rejected),
        );
        const ms = performance.now() - started;
        this.storeFailures = 0;
        this.health.markUp();
        const sources = bySource(batch);
        for (const [source, indexes] of sources) {
          const entries = indexes.map((i) => batch[i]);
          await source.committed(
            entries,
            indexes.map((i) => outcomes.slice(offsets[i], offsets[i] + batch[i].commands.length)),
            ms,
          );
        }
        for (const source of sources.keys()) if (!this.stopping.signal.aborted) await source.storeBack?.();
        return;
      } catch (e) {
        if (e instanceof EntriesRefused) {
          for (const r of e.refused) {
            r.entry.gone = true;
            r.entry.source.refused(r.entry, r.rejected);
          }
          continue;
        }
        let kind = classifyDbError(e);
        // An error of no known class while the database does not answer is the database's.
        if (kind === 'unknown' && !(await this.health.probe())) kind = 'store';
        if (kind === 'store') {
          if (await this.waitForStore(batch, e)) continue;
          return;
        }
        // The database answers: the fault is in an entry's data (or in our code on it). Each is written alone.
        if (batch.length > 1) {
          this.logger.warn(`a batch of ${batch.length} entries failed (${errorMessage(e)}); writing them one by one`);
          for (const entry of batch) await this.flush([entry]);
          return;
        }
        const entry = batch[0];
        const next = await entry.source.failedAlone(entry, e, kind, unknownFailures++);
        if (next === 'done') {
          entry.gone = true;
          return;
        }
      }
    }
  }

  /**
   * The store failed a batch: its sources told (the bus pauses), the database probed with back-off until
   * it answers (true: the caller writes the batch again), while entries whose wait ends first are given
   * up; false when none is left or on shutdown (all given up).
   */
  private async waitForStore(batch: IngestEntry[], e: unknown): Promise<boolean> {
    this.health.markDown(e);
    const error = e instanceof Error ? e : new Error(String(e));
    const giveUp = (entry: IngestEntry) => {
      if (entry.gone) return;
      entry.gone = true;
      entry.source.giveUp(entry, error);
    };
    if (this.stopping.signal.aborted) {
      batch.forEach(giveUp);
      return false;
    }
    // Each source says what it holds (cast(s) held, unacked / HTTP request(s) held), throttled: not said twice here.
    for (const [source, indexes] of bySource(batch))
      await source.storeFailed(
        indexes.map((i) => batch[i]),
        e,
      );
    this.held = error;
    try {
      for (;;) {
        const now = Date.now();
        for (const entry of batch) if (entry.waitUntil <= now) giveUp(entry);
        const left = batch.filter((x) => !x.gone);
        if (!left.length) return false;
        if (this.stopping.signal.aborted) {
          left.forEach(giveUp);
          return false;
        }
        // Own controller and timer (not AbortSignal.any/timeout: on Node 20 a composite signal may lose the
        // abort of a timeout signal nothing else references once it is garbage-collected).
        const until = Math.min(...left.map((x) => x.waitUntil));
        const bounded = new AbortController();
        const end = () => bounded.abort();
        const timer = Number.isFinite(until) ? setTimeout(end, until - now) : null;
        this.stopping.signal.addEventListener('abort', end, { once: true });
        try {
          if (await this.health.waitUntilAvailable(bounded.signal, this.storeFailures++)) return true;
        } finally {
          if (timer) clearTimeout(timer);
          this.stopping.signal.removeEventListener('abort', end);
        }
      }
    } finally {
      this.held = null;
    }
  }
}

/** The atomic entries of a batch that named unknown runs (their own indexes), as the error that rolls the batch back; none: null. */
function refusedOf(batch: IngestEntry[], offsets: number[], rejected: Rejected): Error | null {
  const refused: Array<{ entry: IngestEntry; rejected: Rejected }> = [];
  batch.forEach((entry, i) => {
    if (!entry.atomic) return;
    const end = offsets[i] + entry.commands.length;
    const own = rejected
      .filter((x) => x.index >= offsets[i] && x.index < end)
      .map((x) => ({ index: x.index - offsets[i], reason: x.reason }));
    if (own.length) refused.push({ entry, rejected: own });
  });
  return refused.length ? new EntriesRefused(refused) : null;
}

/** The indexes in `batch` of each source's entries, in order. */
function bySource(batch: IngestEntry[]): Map<IngestSource, number[]> {
  const m = new Map<IngestSource, number[]>();
  batch.forEach((e, i) => {
    const list = m.get(e.source);
    if (list) list.push(i);
    else m.set(e.source, [i]);
  });
  return m;
}
