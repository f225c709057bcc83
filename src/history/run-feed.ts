import { Logger } from '@nestjs/common';
import type { Response } from 'express';
import { Observable, Subscription, throttleTime } from 'rxjs';
import { NotFoundError } from '../common/errors/domain-errors';
import { sseFrame } from '../common/http/server-sent-events';
import type { TransactionDto } from './dto/transaction.dto';
import type { RowJson } from './persistence/history-rows.sql';
import { Frame, rowsFrame } from './run-feed-frames';
import { isFinalRun } from './task-state';
import { errorMessage } from '../common/errors/error-message';

/** Where a feed reads its run, and when the run changes. */
export interface FeedSource {
  /** The rows written after a version (every row: '0'), in Fuel's order. */
  rowsAbove(version: string): Promise<RowJson[]>;
  /** The run; null once it was deleted (rejects when it cannot be read). */
  run(): Promise<TransactionDto | null>;
  /** Emits after each commit that changed the run. */
  changes: Observable<unknown>;
}

export interface FeedOptions {
  /** Bytes a live client may have waiting in its socket's buffer before its changes wait for a catch-up. */
  maxBufferBytes: number;
  /** Rows per `rows` event at most. */
  pageRows: number;
}

export interface FeedHooks {
  /** The last client left. */
  empty(feed: RunFeed): void;
  /** The feed stopped (disposed, or it failed): it takes no client any more. */
  disposed(feed: RunFeed): void;
}

const HEARTBEAT_MS = 15_000;
const AT_MOST_EVERY_MS = 200;
/** A client whose socket has not drained for this long reads nothing: it is dropped (it holds a place). */
const STALLED_MS = 120_000;
const HEARTBEAT = sseFrame('heartbeat', '{}');
/** Versions whose whole-run pages are kept (clients joining while rows change start at different ones). */
const KEPT_PASS_PAGES = 2;

/** Rows a client is sent to catch up (its first rows, or what changed while it was behind), a page at a time. */
interface Pass {
  ids: readonly string[];
  next: number;
  /** The feed's version when the pass started: once sent, the client has every row up to it. */
  target: bigint;
  /** Every row of the run at `target`: the same pages for every client, built once. */
  whole: boolean;
}

class Subscriber {
  /** The client has every row up to this version: the id of the last `rows` event it was sent. */
  sent: bigint;
  /** The run as last sent (JSON): it goes again only when it changed. */
  run = '';
  /** Takes the feed's events as they are made; false while it catches up. */
  live = false;
  pass: Pass | null = null;
  /** Since when it waits for its socket to drain (0: it does not). */
  waitingSince = 0;
  closed = false;

  constructor(
    readonly res: Response,
    since: bigint,
    readonly release: () => void,
  ) {
    this.sent = since;
  }
}

/**
 * The live view of one run, shared by all its clients: one query per change (the rows written since the
 * last one), each event serialized once and the same bytes written to every client. The feed keeps
 * every row of the run as its JSON text (one copy, whatever the number of clients), so a client is
 * sent its first rows (or, resuming, the rows after its id) from memory, in pages of `pageRows`.
 *
 * Back-pressure: a page is written to a client only once its socket has drained the previous one; a
 * live client whose socket holds more than `maxBufferBytes` is not written to any more: once its
 * socket drains, it is sent the rows that changed since its last id, once each, as they are then
 * (its missed events coalesced), and goes live again. What a slow client holds is thus bounded by
 * about one page plus the bound, and a client that reads nothing is dropped after STALLED_MS.
 *
 * Ids: a `rows` event's id is the highest row version the client then has every row up to; events
 * of a batch before its last carry none, so a client resuming from its last id misses nothing.
 */
export class RunFeed {
  private readonly logger = new Logger('LiveHistory');
  /**
   * Every row of the run by id, in Fuel's order (a row added later comes last), as JSON text: strings,
   * which the collector compacts (small buffers would share 8 KB slabs, each kept by any row in it).
   */
  private readonly rows = new Map<string, { version: bigint; json: string }>();
  /** The row ids in order, for whole-run passes; rebuilt once a row is added. */
  private order: string[] | null = null;
  private version = 0n;
  private run = '';
  private ended = false;
  private readonly subscribers = new Set<Subscriber>();
  /**
   * Pages of the whole run by the version their pass started at, shared by every client starting from
   * nothing then; only the latest few versions are kept (a client at an older one makes its own).
   */
  private readonly pages = new Map<bigint, Map<number, Buffer>>();
  private busy: Promise<void> | null = null;
  private again = false;
  private loaded = false;
  disposed = false;
  private readonly changes: Subscription;
  private readonly timer: NodeJS.Timeout;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  /** Resolves once every row is loaded (rejects if that fails). */
  readonly ready = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));

  constructor(
    readonly transactionId: number,
    private readonly source: FeedSource,
    private readonly opts: FeedOptions,
    private readonly hooks: FeedHooks,
  ) {
    // Subscribed before the first read: a change committed meanwhile is read again, not missed.
    this.changes = source.changes
      .pipe(throttleTime(AT_MOST_EVERY_MS, undefined, { leading: true, trailing: true }))
      .subscribe(() => void this.refresh());
    // Whoever adds a client awaits `ready`; a feed closed before anyone did must not warn.
    this.ready.catch(() => undefined);
    void this.refresh();
    this.timer = setInterval(() => this.tick(), HEARTBEAT_MS).unref();
  }

  get clients(): number {
    return this.subscribers.size;
  }

  /** A new client: `res` is an event stream already open; it is sent the rows after `since`, then the changes. */
  add(res: Response, since: bigint, release: () => void): void {
    const s = new Subscriber(res, since, release);
    this.subscribers.add(s);
    res.on('close', () => this.remove(s));
    // A write to a connection that just went: 'close' follows; an unheard 'error' would stop the process.
    res.on('error', () => this.remove(s));
    this.pump(s);
  }

  /** Ends every stream with `last` (shutdown); returns their responses, to wait for them to close. */
  close(last: Buffer): Response[] {
    const all = [...this.subscribers];
    for (const s of all) {
      s.res.end(last);
      this.remove(s);
    }
    this.dispose();
    return all.map((s) => s.res);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.changes.unsubscribe();
    clearInterval(this.timer);
    this.rows.clear();
    this.pages.clear();
    this.order = null;
    this.settle.reject(new Error('the live view of this run was closed'));
    this.hooks.disposed(this);
  }

  private refresh(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return this.busy;
    }
    this.busy = (async () => {
      try {
        do {
          this.again = false;
          await this.step();
          if (!this.loaded) {
            this.loaded = true;
            this.settle.resolve();
          }
        } while (this.again && !this.disposed);
      } catch (e) {
        if (this.loaded) this.fail(e);
        else {
          this.settle.reject(e);
          this.dispose();
        }
      } finally {
        this.busy = null;
      }
    })();
    return this.busy;
  }

  /** Reads what changed since the last read, keeps it, and sends it to every live client. */
  private async step(): Promise<void> {
    // The run before its rows: rows read after the run are at least as new as it is, so a run read as
    // ended is never sent with rows from before its end (a commit between the two reads, its notification
    // not in yet, ended the stream with older rows). A run read before a change is read again at its notification.
    const dto = await this.source.run();
    const changed = await this.source.rowsAbove(this.version.toString());
    if (this.disposed) return;
    if (!dto) {
      // Deleted before its first read: the client asking for it is answered 404, as it would be a moment later.
      if (!this.loaded) throw new NotFoundError('Transaction not found');
      return this.deleted();
    }
    const run = JSON.stringify(dto);
    // Events are made only if some client takes them now; the others catch up from the rows kept.
    const live = [...this.subscribers].filter((s) => s.live);
    const frames: Frame[] = [];
    if (changed.length) {
      let top = this.version;
      for (const r of changed) {
        const version = BigInt(r.version);
        if (version > top) top = version;
        if (!this.rows.has(r.id)) this.order = null;
        this.rows.set(r.id, { version, json: r.json });
      }
      this.version = top;
      if (live.length) {
        for (let i = 0; i < changed.length; i += this.opts.pageRows) {
          const last = i + this.opts.pageRows >= changed.length;
          const data = rowsFrame(
            changed.slice(i, i + this.opts.pageRows).map((r) => r.json),
            last ? top : undefined,
          );
          frames.push(last ? { data, version: top } : { data });
        }
      }
    }
    if (run !== this.run) {
      this.run = run;
      frames.push({ data: sseFrame('transaction', run), run });
    }
    // A change committed while reading may follow: the run ends only once nothing is left to read.
    this.ended = isFinalRun(dto.status) && !this.again;
    if (this.ended) frames.push({ data: sseFrame('end', run), end: true });
    for (const s of live) this.deliver(s, frames);
  }

  /** Writes the events to a live client, unless its socket holds too much: then it catches up later. */
  private deliver(s: Subscriber, frames: Frame[]): void {
    for (const f of frames) {
      if (s.closed) return;
      if (s.res.writableNeedDrain && s.res.writableLength + f.data.length > this.opts.maxBufferBytes) {
        s.live = false;
        this.waitForDrain(s);
        return;
      }
      s.res.write(f.data);
      if (f.version !== undefined) s.sent = f.version;
      if (f.run !== undefined) s.run = f.run;
      if (f.end) this.finish(s);
    }
  }

  /**
   * Catches a client up: the rows after its id, a page at a time, each written once the previous one
   * has drained; then the run if it changed, `end` if it ended; then the client is live.
   */
  private pump(s: Subscriber): void {
    while (!s.closed) {
      if (!s.pass) {
        if (s.sent >= this.version) {
          if (s.run !== this.run) {
            s.run = this.run;
            s.res.write(sseFrame('transaction', this.run));
          }
          if (this.ended) {
            s.res.write(sseFrame('end', this.run));
            this.finish(s);
          } else s.live = true;
          return;
        }
        s.pass = this.startPass(s.sent);
      }
      const p = s.pass;
      const to = Math.min(p.next + this.opts.pageRows, p.ids.length);
      const page = to > p.next ? this.page(p, p.next, to) : null;
      p.next = to;
      if (to >= p.ids.length) {
        s.sent = p.target;
        s.pass = null;
      }
      if (page && !s.res.write(page)) {
        this.waitForDrain(s);
        return;
      }
    }
  }

  private startPass(since: bigint): Pass {
    if (since === 0n) {
      this.order ??= [...this.rows.keys()];
      return { ids: this.order, next: 0, target: this.version, whole: true };
    }
    const ids: string[] = [];
    for (const [id, r] of this.rows) if (r.version > since) ids.push(id);
    return { ids, next: 0, target: this.version, whole: false };
  }

  /**
   * Rows [from, to) of a pass, as they are now (a row changed since the pass started goes with its
   * newer content: its new version is above the pass's target, so it will be sent again anyway; so
   * a page made for one client is right for any other client of a pass with the same target).
   */
  private page(p: Pass, from: number, to: number): Buffer {
    const build = () =>
      rowsFrame(
        p.ids.slice(from, to).map((id) => this.rows.get(id)!.json),
        to >= p.ids.length ? p.target : undefined,
      );
    if (!p.whole) return build();
    let pages = this.pages.get(p.target);
    if (!pages) {
      this.pages.set(p.target, (pages = new Map<number, Buffer>()));
      // The oldest go: what a slow client keeps is the page in its socket, not every page of its pass.
      for (const v of [...this.pages.keys()].sort((a, b) => (a < b ? -1 : 1)).slice(0, -KEPT_PASS_PAGES)) this.pages.delete(v);
    }
    let page = pages.get(from);
    if (!page) pages.set(from, (page = build()));
    return page;
  }

  private waitForDrain(s: Subscriber): void {
    if (s.waitingSince) return;
    s.waitingSince = Date.now();
    s.res.once('drain', () => {
      s.waitingSince = 0;
      this.pump(s);
    });
  }

  /** Heartbeats to idle live clients; drops clients that read nothing for too long. */
  private tick(): void {
    const now = Date.now();
    for (const s of this.subscribers) {
      if (s.waitingSince && now - s.waitingSince > STALLED_MS) {
        this.logger.warn(`dropped a live stream of transaction ${this.transactionId}: its client read nothing for ${STALLED_MS / 1000} s`);
        s.res.destroy();
      } else if (s.live && s.res.writableLength === 0) s.res.write(HEARTBEAT);
    }
  }

  private finish(s: Subscriber): void {
    s.res.end();
    this.remove(s);
  }

  private remove(s: Subscriber): void {
    if (s.closed) return;
    s.closed = true;
    s.live = false;
    this.subscribers.delete(s);
    s.release();
    if (!this.subscribers.size && !this.disposed) this.hooks.empty(this);
  }

  /** The run cannot be read any more (database down): every client is told, and the feed stops. */
  private fail(e: unknown): void {
    this.closeAll(sseFrame('error', JSON.stringify({ message: errorMessage(e) })));
  }

  /**
   * The run was deleted (DELETE /transactions/:id, history deletion, retention): every client, live or
   * catching up, is told with a last `deleted` event (there is nothing left to resume), and the feed stops.
   */
  private deleted(): void {
    const id = this.transactionId;
    this.closeAll(sseFrame('deleted', JSON.stringify({ id, message: `Transaction ${id} was deleted` })));
  }

  private closeAll(last: Buffer): void {
    for (const s of [...this.subscribers]) {
      s.res.end(last);
      this.remove(s);
    }
    this.dispose();
  }
}
