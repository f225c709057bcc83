import { HttpError, type Row, type Transaction } from '../api';
import { openStream, type SseEvent } from '../sse';
import { onLeave } from './page';
import type { RunScreen } from './run';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Follows a run in progress on its live stream until it ends (or is deleted, or the view is left):
 * the stream sends every row first, then only the rows that changed. Reconnects after a dropped
 * stream, resuming from the last event id.
 */
export async function followRun(s: RunScreen, signal: AbortSignal): Promise<void> {
  const { timeline, exposed, status } = s;
  timeline.live = exposed.live = true;
  const ticker = setInterval(() => timeline.tick(), 1000);
  onLeave(() => clearInterval(ticker));
  const stream = new RunStream(s);
  exposed.streamEvents = 0;
  for (let attempt = 0; !stream.ended && !signal.aborted; attempt++) {
    try {
      await stream.connect(signal);
    } catch (e) {
      if (signal.aborted) return;
      // 429: too many live views open on the service (or for this token); try again later.
      if (e instanceof HttpError && e.status !== 503 && e.status !== 429 && e.status < 500) throw e;
      status.textContent = e instanceof HttpError && e.status === 429 ? '○ too many live views open: retrying…' : '○ reconnecting…';
      status.className = 'muted';
      await sleep(Math.min(10_000, 1000 * 2 ** Math.min(attempt, 4)));
      continue;
    }
    if (!stream.ended && !signal.aborted) await sleep(stream.pause);
    stream.pause = 1000;
  }
  if (signal.aborted) return;
  clearInterval(ticker);
  timeline.live = exposed.live = false;
  timeline.tick();
  status.textContent = stream.deleted ? 'this run was deleted: what is shown is what it held then' : `run ended: ${s.run.status}`;
  status.className = stream.deleted ? 'gone' : 'muted';
}

/** One run's stream, over its connections: where to resume, and what it said so far. */
class RunStream {
  private lastId: string | undefined;
  private first = true;
  ended = false;
  /** The run was deleted while shown (the stream's last event): what was drawn stays, marked as gone. */
  deleted = false;
  /** The first rows, as they come in pages (only the last one has an id), drawn once all are in. */
  private firstRows: Row[] = [];
  /** How long to wait before connecting again once the stream ends. */
  pause = 1000;

  constructor(private readonly s: RunScreen) {}

  async connect(signal: AbortSignal): Promise<void> {
    this.s.status.textContent = '● live';
    this.s.status.className = 'live';
    this.firstRows = [];
    await openStream(`/transactions/${this.s.run.id}/deployment_history/stream`, (e) => this.onEvent(e), signal, this.lastId);
  }

  private onEvent(e: SseEvent): void {
    const s = this.s;
    if (e.id) this.lastId = e.id;
    s.exposed.streamEvents = (s.exposed.streamEvents ?? 0) + 1;
    if (e.type === 'rows') this.rows(JSON.parse(e.data) as Row[], e.id);
    else if (e.type === 'transaction' || e.type === 'end') {
      s.run = { ...s.run, ...(JSON.parse(e.data) as Partial<Transaction>) };
      s.renderHead();
      if (e.type === 'end') this.ended = true;
    } else if (e.type === 'deleted') {
      // Nothing left to follow or resume: the run is gone with its history.
      this.ended = this.deleted = true;
    } else if (e.type === 'shutdown') {
      // The service is stopping and ends the stream: resume from the last id once it is back.
      s.status.textContent = '○ service restarting: reconnecting…';
      s.status.className = 'muted';
      this.pause = Math.max(this.pause, Number((JSON.parse(e.data) as { retry_ms?: number }).retry_ms) || 0);
    }
  }

  private rows(data: Row[], id: string | undefined): void {
    if (!this.first) return this.s.apply(data);
    for (const r of data) this.firstRows.push(r);
    if (id) {
      this.s.load(this.firstRows);
      this.firstRows = [];
      this.first = false;
    }
  }
}
