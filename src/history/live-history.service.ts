import { BeforeApplicationShutdown, HttpException, Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { callerKey } from '../common/auth';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { NotFoundError } from '../common/errors/domain-errors';
import { openEventStream, sseFrame } from '../common/http/server-sent-events';
import { TransactionDto } from './dto/transaction.dto';
import { HistoryEvents } from './history-events.service';
import { HistoryRowsRepository } from './persistence/history-rows.repository';
import { RunFeed } from './run-feed';
import { TransactionsService } from './transactions.service';

/** Rows per `rows` event: a 30,000-row run goes as 30 events of ~200 KB, not one of 6 MB. */
const PAGE_ROWS = 1000;
/** A run's feed is kept this long after its last client left: a client reconnecting finds it loaded. */
const LINGER_MS = 10_000;
/** On shutdown, how long ended streams may take to flush before their connections are cut. */
const CLOSE_GRACE_MS = 2_000;
const SHUTDOWN = sseFrame(
  'shutdown',
  JSON.stringify({ message: 'The service is shutting down: reconnect in a moment and resume from the last event id', retry_ms: 2000 }),
);

/**
 * The live view of a run (Server-Sent Events): first its rows, then only the rows that changed, each
 * time a commit touches the run, with the run's status when it changes; `end` once the run is over,
 * `deleted` if it is deleted meanwhile.
 * One RunFeed per run serves all its clients (see run-feed.ts: one query per change, back-pressure).
 *
 * Limits: STREAM_MAX_CLIENTS streams in all and STREAM_MAX_PER_TOKEN per token (per address without
 * one); over either, 429. On shutdown every stream gets a last `shutdown` event and is ended, so that
 * the HTTP server, which waits for open connections, can close.
 */
@Injectable()
export class LiveHistoryService implements BeforeApplicationShutdown {
  private readonly feeds = new Map<number, RunFeed>();
  private readonly lingering = new Map<number, NodeJS.Timeout>();
  private readonly perCaller = new Map<string, number>();
  private total = 0;
  private closing = false;

  constructor(
    private readonly rows: HistoryRowsRepository,
    private readonly transactions: TransactionsService,
    private readonly events: HistoryEvents,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Serves the stream of a run on `res`. Throws (before the first byte, so the answer is a plain JSON
   * error) 404 for an unknown run, 429 over a limit, 503 while shutting down.
   */
  async stream(transactionId: number, since: string | undefined, req: Request, res: Response): Promise<void> {
    this.refuseWhenClosing();
    const release = this.take(callerKey(req), res);
    try {
      await this.transactions.find(transactionId);
      // Listen before the first read: a change committed between the two would otherwise go unheard.
      await this.events.listening();
      const feed = await this.feed(transactionId);
      this.refuseWhenClosing();
      // The client may have left while the run loaded.
      if (req.socket.destroyed) {
        if (!feed.clients) this.linger(feed);
        return release();
      }
      openEventStream(res);
      feed.add(res, BigInt(since ?? '0'), release);
    } catch (e) {
      release();
      throw e;
    }
  }

  /** Open streams, in all. */
  get openStreams(): number {
    return this.total;
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    this.lingering.forEach((t) => clearTimeout(t));
    this.lingering.clear();
    const responses = [...this.feeds.values()].flatMap((f) => f.close(SHUTDOWN));
    // A client that reads nothing would keep its connection, and the HTTP server's close, waiting.
    const closed = responses.map((r) => (r.writableFinished || r.destroyed ? Promise.resolve() : new Promise((ok) => r.once('close', ok))));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise((ok) => (timer = setTimeout(ok, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    for (const r of responses) if (!r.writableFinished) r.destroy();
  }

  private refuseWhenClosing(): void {
    if (this.closing) throw new HttpException({ statusCode: 503, message: 'The service is shutting down: retry in a moment' }, 503);
  }

  /** Takes a place for a stream (429 when none is left); the function returned gives it back, once. */
  private take(key: string, res: Response): () => void {
    const { streamMaxClients, streamMaxPerToken } = this.config;
    const mine = this.perCaller.get(key) ?? 0;
    let message: string | undefined;
    if (mine >= streamMaxPerToken) {
      message =
        `Too many live streams for this token (or address, without a token): ${mine} are open, ` +
        `at most ${streamMaxPerToken} (STREAM_MAX_PER_TOKEN); close one or retry later`;
    } else if (this.total >= streamMaxClients) {
      message = `Too many live streams: ${this.total} are open, at most ${streamMaxClients} (STREAM_MAX_CLIENTS); retry later`;
    }
    if (message) {
      res.setHeader('Retry-After', '10');
      throw new HttpException({ statusCode: 429, message }, 429);
    }
    this.total++;
    this.perCaller.set(key, mine + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.total--;
      const left = (this.perCaller.get(key) ?? 1) - 1;
      if (left > 0) this.perCaller.set(key, left);
      else this.perCaller.delete(key);
    };
  }

  /** The run's feed, loaded; made on first use. */
  private async feed(transactionId: number): Promise<RunFeed> {
    for (;;) {
      clearTimeout(this.lingering.get(transactionId));
      this.lingering.delete(transactionId);
      let feed = this.feeds.get(transactionId);
      if (!feed) {
        feed = new RunFeed(
          transactionId,
          {
            rowsAbove: (version) => this.rows.rowJsonAbove(transactionId, version),
            // Gone: deleted (the feed then ends its streams with `deleted`).
            run: () =>
              this.transactions.find(transactionId).then(
                (t) => TransactionDto.from(t),
                (e) => {
                  if (e instanceof NotFoundError) return null;
                  throw e;
                },
              ),
            changes: this.events.runChanged(transactionId),
          },
          { maxBufferBytes: this.config.streamMaxBufferBytes, pageRows: PAGE_ROWS },
          { empty: (f) => this.linger(f), disposed: (f) => this.forget(f) },
        );
        this.feeds.set(transactionId, feed);
      }
      await feed.ready;
      // Closed while this client waited (it failed after loading): a new one is made.
      if (!feed.disposed) return feed;
    }
  }

  private linger(feed: RunFeed): void {
    clearTimeout(this.lingering.get(feed.transactionId));
    const timer = setTimeout(() => {
      this.lingering.delete(feed.transactionId);
      if (!feed.clients) feed.dispose();
    }, LINGER_MS).unref();
    this.lingering.set(feed.transactionId, timer);
  }

  private forget(feed: RunFeed): void {
    if (this.feeds.get(feed.transactionId) !== feed) return;
    this.feeds.delete(feed.transactionId);
    clearTimeout(this.lingering.get(feed.transactionId));
    this.lingering.delete(feed.transactionId);
  }
}
