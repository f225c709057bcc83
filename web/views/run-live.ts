import { HttpError, isNetworkError, type Row, type Transaction } from '../api';
import { h } from '../dom';
import { openStream, type SseEvent } from '../sse';
import { onLeave } from './page';
import type { RunScreen } from './run';

/**
 * The service sends a heartbeat every 15 s on a live stream (src/history/run-feed.ts): nothing for
 * this long means the stream is dead even if the connection looks open (a killed host, a cut network).
 */
const SILENT_MS = 40_000;
const ago = (ms: number) => (ms < 60_000 ? `${Math.max(0, Math.round(ms / 1000))} s ago` : `${Math.round(ms / 60_000)} min ago`);

/**
 * Follows a run in progress on its live stream until it ends (or is deleted, or the view is left):
 * the stream sends every row first, then only the rows that changed. Says honestly how alive it is:
 * "● live · last update 3 s ago", ticking; when the stream drops or the service does not answer, a
 * banner with the reason, the next attempt's countdown and "Retry now", and the timeline stops growing
 * running bars (`timeline.live = false`) until the stream is back. Reconnects resume from the last
 * event id.
 */
export async function followRun(s: RunScreen, signal: AbortSignal): Promise<void> {
  const { timeline, exposed } = s;
  const stream = new RunStream(s);
  const live = (stream.liveness = new Liveness(s, stream));
  s.status.textContent = '○ connecting…';
  timeline.live = exposed.live = true;
  const ticker = setInterval(() => live.tick(), 1000);
  onLeave(() => clearInterval(ticker));
  exposed.streamEvents = 0;
  for (let attempt = 0; !stream.ended && !signal.aborted;) {
    let reason: string;
    try {
      await stream.connect(signal);
      if (stream.ended || signal.aborted) break;
      reason = stream.shutdown ? 'the service is restarting' : 'the stream was closed';
    } catch (e) {
      if (signal.aborted) break;
      if (e instanceof HttpError && e.status === 409) return s.notRecorded(e.message);
      // 429: too many live views open on the service (or for this token); 503 and 5xx: try again later.
      if (e instanceof HttpError && e.status !== 503 && e.status !== 429 && e.status < 500) throw e;
      reason = whyDown(e, stream.silent);
    }
    // A stream that was up and then closed by the service: try again soon; repeated failures wait longer.
    attempt = stream.gotEvents ? 0 : attempt + 1;
    const wait = stream.shutdown ? Math.max(stream.pause, 1000) : Math.min(10_000, 1000 * 2 ** Math.min(attempt, 4));
    stream.shutdown = false;
    await live.down(reason, wait, signal);
  }
  clearInterval(ticker);
  if (signal.aborted) return;
  live.hideBanner();
  timeline.live = exposed.live = false;
  timeline.tick();
  s.status.textContent = stream.deleted ? 'this run was deleted: what is shown is what it held then' : `run ended: ${s.run.status}`;
  s.status.className = stream.deleted ? 'gone' : 'muted';
  if (!stream.deleted) s.ended();
}

/** Why the stream is down, in words. */
function whyDown(e: unknown, silent: boolean): string {
  if (e instanceof HttpError)
    return e.status === 429 ? 'too many live views are open on the service' : `the service answers ${e.status} (${e.message})`;
  if (isNetworkError(e) || silent) return 'the service does not answer';
  return `the stream failed (${e instanceof Error ? e.message : String(e)})`;
}

/** What the page says of the stream: "● live · last update N s ago", or the banner while it is down. */
class Liveness {
  private retryAt = 0;
  private reason = '';
  private wake: (() => void) | null = null;

  constructor(
    private readonly s: RunScreen,
    private readonly stream: RunStream,
  ) {}

  /** Every second: the "N s ago" ticks, running bars grow while live, a silent stream is cut. */
  tick(): void {
    const s = this.s;
    if (this.retryAt) {
      this.renderBanner();
      // No growth while down, but the "now" line and what was shown are drawn as they are.
      s.timeline.schedule();
      return;
    }
    s.timeline.tick();
    if (!this.stream.connected) return;
    const since = Date.now() - this.stream.lastEvent;
    s.status.textContent = `● live · last update ${ago(since)}`;
    s.status.className = 'live';
    if (since > SILENT_MS) this.stream.cut();
  }

  /** The stream is down: the banner, no growth, then wait (or "Retry now"). */
  async down(reason: string, ms: number, signal: AbortSignal): Promise<void> {
    const s = this.s;
    this.reason = reason;
    this.retryAt = Date.now() + ms;
    s.timeline.live = s.exposed.live = false;
    s.exposed.down = true;
    s.status.textContent = `○ not live · last update ${ago(Date.now() - this.stream.lastEvent)}`;
    s.status.className = 'muted';
    this.renderBanner();
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      this.wake = done;
      signal.addEventListener('abort', done);
    });
    this.wake = null;
    this.retryAt = 0;
    s.banner.replaceChildren(`Live updates stopped: ${this.reason} — reconnecting…`);
  }

  /** The stream is up again: the banner goes, running bars grow again. */
  up(): void {
    const s = this.s;
    this.retryAt = 0;
    this.hideBanner();
    s.timeline.live = s.exposed.live = true;
    s.exposed.down = false;
    s.status.textContent = '● live · last update 0 s ago';
    s.status.className = 'live';
  }

  hideBanner(): void {
    this.s.banner.hidden = true;
    this.s.banner.replaceChildren();
  }

  private renderBanner(): void {
    const b = this.s.banner;
    const left = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
    b.hidden = false;
    const text = `Live updates stopped: ${this.reason} — retrying in ${left} s `;
    const first = b.firstChild;
    if (first && first.nodeType === Node.TEXT_NODE && b.querySelector('button')) {
      first.textContent = text;
      return;
    }
    b.replaceChildren(text, h('button', { type: 'button', id: 'retry-now', onclick: () => this.wake?.() }, 'Retry now'));
  }
}

/** One run's stream, over its connections: where to resume, and what it said so far. */
class RunStream {
  private lastId: string | undefined;
  private first = true;
  ended = false;
  /** The run was deleted while shown (the stream's last event): what was drawn stays, marked as gone. */
  deleted = false;
  /** The service said it stops (`shutdown`): reconnect after `pause`. */
  shutdown = false;
  pause = 1000;
  connected = false;
  /** When the stream last said anything (a heartbeat included). */
  lastEvent = Date.now();
  /** This connection brought at least one event. */
  gotEvents = false;
  /** The current connection was cut for silence. */
  silent = false;
  private conn: AbortController | null = null;
  /** The first rows, as they come in pages (only the last one has an id), drawn once all are in. */
  private firstRows: Row[] = [];
  liveness: Liveness | null = null;

  constructor(private readonly s: RunScreen) {}

  async connect(signal: AbortSignal): Promise<void> {
    this.firstRows = [];
    this.gotEvents = false;
    this.silent = false;
    const conn = (this.conn = new AbortController());
    const stop = () => conn.abort();
    signal.addEventListener('abort', stop);
    try {
      this.connected = true;
      await openStream(`/transactions/${this.s.run.id}/deployment_history/stream`, (e) => this.onEvent(e), conn.signal, this.lastId);
    } catch (e) {
      // Cut for silence: said as the service not answering, not as an abort.
      if (this.silent && !signal.aborted) throw new TypeError('no heartbeat', { cause: e });
      throw e;
    } finally {
      this.connected = false;
      signal.removeEventListener('abort', stop);
    }
  }

  /** Cuts a connection that said nothing for too long (the loop then reconnects). */
  cut(): void {
    this.silent = true;
    this.conn?.abort();
  }

  private onEvent(e: SseEvent): void {
    const s = this.s;
    this.lastEvent = Date.now();
    if (!this.gotEvents) {
      this.gotEvents = true;
      this.liveness?.up();
    }
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
      this.shutdown = true;
      this.pause = Math.max(1000, Number((JSON.parse(e.data) as { retry_ms?: number }).retry_ms) || 0);
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
