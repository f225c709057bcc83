import { compareNodes } from '../common/node-order';
import { terminalText } from '../common/terminal-text';
import { isFinalRun, isTerminal, type TaskStatus, type RunStatus } from '../history/task-state';
// Pure: the task-state machine imports types only, so the CLI stays free of Nest and TypeORM.
import { ApiClient, Query } from './client';
import { CliError, EXIT } from './errors';
import { paint, Row } from './output';
import { nodeOf } from './rows';

type StreamEvent = { type: string; id?: string; data: unknown };

/** Consecutive failed polls (server restarting, network blip) tolerated before giving up. */
const MAX_FAILED_POLLS = 10;
/** After a 429 (too many streams open), the stream is asked for again this much later at the soonest. */
const BUSY_RETRY_MS = 10_000;

export interface WatchOptions {
  intervalMs: number;
  /** Redraw in place (stdout is a terminal), else print the final answer once. */
  tty: boolean;
  color: boolean;
  render: (rows: Row[]) => string;
  out: NodeJS.WritableStream & { columns?: number; rows?: number };
  err: NodeJS.WritableStream;
}

interface Run {
  id: number;
  cluster: number;
  name: string;
  status: RunStatus;
  progress: number;
  message: string | null;
}

/**
 * `task history show --watch`: follows the run until it ends, from the service's live stream
 * (`.../deployment_history/stream`: the rows, then only the changed ones), resuming after a lost
 * connection; polls instead when the service has no stream. Returns the exit code: 0 when the run
 * ended `ready`, 3 when it ended `error` or `stopped`; a run deleted meanwhile is a CliError (exit 1).
 */
export async function watchHistory(
  api: ApiClient,
  id: number,
  query: Query,
  rowsOf: (raw: Row[]) => Row[],
  o: WatchOptions,
): Promise<number> {
  try {
    return await watchStream(api, id, query, rowsOf, o);
  } catch (e) {
    // A service without the stream route answers 404 with Express's "Cannot GET": poll it instead.
    if (e instanceof CliError && e.httpStatus === 404 && /Cannot GET/i.test(e.message)) return watchByPolling(api, id, query, rowsOf, o);
    throw e;
  }
}

async function watchStream(api: ApiClient, id: number, query: Query, rowsOf: (raw: Row[]) => Row[], o: WatchOptions): Promise<number> {
  const followed = new Followed(await api.get<Run>(`transactions/${id}`), query);
  let failed = 0;
  const screen = new Screen(o);
  const wanted = rowFilter(query);
  for (;;) {
    let pause = o.intervalMs;
    let step: Step = 'wait';
    followed.retryMs = 0;
    try {
      for await (const e of api.events(`transactions/${id}/deployment_history/stream`, followed.lastId)) {
        failed = 0;
        step = followed.take(e);
        if (step === 'deleted') break;
        if (step === 'wait') continue;
        const shown = rowsOf(order([...followed.rows.values()].filter(wanted)));
        if (step === 'end') return screen.finish(id, followed.run, shown);
        screen.draw(id, followed.run, shown);
      }
    } catch (e) {
      // 429: too many streams open on the service (or for this token); ask again later.
      const busy = e instanceof CliError && e.httpStatus === 429;
      if ((lasting(e) && !busy) || ++failed >= MAX_FAILED_POLLS) throw e;
      if (busy) pause = Math.max(pause, BUSY_RETRY_MS);
    }
    if (step === 'deleted') throw new CliError(`transaction ${id} was deleted while it was watched`, EXIT.failed);
    // The stream ended without `end` (the connection dropped, the service stopped): resume from the last event.
    await sleep(Math.max(pause, followed.retryMs));
  }
}

/** What to do after an event: draw the rows, finish (the run ended), stop (the run is gone), or wait for more. */
type Step = 'draw' | 'end' | 'deleted' | 'wait';

/** The run and its rows, as the stream's events have told them so far. */
class Followed {
  readonly rows = new Map<string, Row>();
  /** The last event's id, to resume from. */
  lastId: string | undefined;
  /** How long the service asked to wait before resuming (its `shutdown` event). */
  retryMs = 0;

  constructor(
    public run: Run,
    private readonly query: Query,
  ) {}

  take(e: StreamEvent): Step {
    if (e.id) this.lastId = e.id;
    switch (e.type) {
      case 'rows':
        for (const r of e.data as Row[]) {
          // The stream always carries the summary; show it only when asked, as the list does.
          if (!this.query.include_summary) delete r.summary;
          this.rows.set(`${nodeOf(r) ?? ''}\u0000${String(r.task_name)}`, r);
        }
        // Many rows come in several events, only the last with an id: draw once they are all in.
        return e.id ? 'draw' : 'wait';
      case 'transaction':
      case 'end':
        this.run = e.data as Run;
        return e.type === 'end' ? 'end' : 'draw';
      case 'deleted':
        // The service's last event: the run is gone with its history, there is nothing left to follow.
        return 'deleted';
      case 'shutdown':
        // The service is stopping and ends the stream: resume from the last id once it is back.
        this.retryMs = Math.max(this.retryMs, Number((e.data as { retry_ms?: number } | undefined)?.retry_ms) || 0);
        return 'wait';
      default:
        return 'wait';
    }
  }
}

/** An answer from the server (404, 409, 400) will not change; a lost connection or a server error (5xx) may pass. */
function lasting(e: unknown): boolean {
  return !(e instanceof CliError) || (e.httpStatus !== undefined && e.httpStatus < 500);
}

/** The query's filters, applied to streamed rows (the stream sends every row of the run). */
function rowFilter(query: Query): (r: Row) => boolean {
  const set = (k: string) => {
    const v = query[k];
    return v === undefined ? null : new Set((Array.isArray(v) ? v : String(v).split(',')).map(String));
  };
  const nodes = set('nodes');
  const statuses = set('statuses');
  const names = set('tasks_names');
  return (r) =>
    (!nodes || nodes.has(nodeOf(r) ?? 'null')) &&
    (!statuses || statuses.has(String(r.status))) &&
    (!names || names.has(String(r.task_name)));
}

/** Fuel's order, as the API lists them (src/common/node-order.ts); then start time and name. */
function order(rows: Row[]): Row[] {
  const started = (r: Row) => (r.time_start as string | null) ?? '\uffff';
  return rows.sort(
    (a, b) =>
      compareNodes(nodeOf(a), nodeOf(b)) || started(a).localeCompare(started(b)) || String(a.task_name).localeCompare(String(b.task_name)),
  );
}

/** Draws in place on a terminal; else announces once and prints the final table. */
class Screen {
  private drawn = 0;
  private announced = false;
  constructor(private readonly o: WatchOptions) {}

  draw(id: number, run: Run, rows: Row[]): void {
    const o = this.o;
    if (o.tty) {
      const text = `${header(run, rows, o.color)}\n${o.render(rows)}`;
      o.out.write(`${this.drawn ? `\u001b[${this.drawn}A\u001b[0J` : ''}${text}`);
      this.drawn = visualLines(text, o.out.columns || 80);
      // Taller than the terminal: moving up cannot reach the top, so start afresh next time.
      if (o.out.rows && this.drawn >= o.out.rows) this.drawn = 0;
    } else if (!this.announced) {
      o.err.write(`watching transaction ${id} (${run.status}, ${run.progress}%) until it ends...\n`);
      this.announced = true;
    }
  }

  finish(id: number, run: Run, rows: Row[]): number {
    if (this.o.tty) this.draw(id, run, rows);
    else this.o.out.write(this.o.render(rows));
    if (run.status !== 'ready') {
      this.o.err.write(`transaction ${id} ended with ${run.status}${run.message ? `: ${terminalText(run.message)}` : ''}\n`);
      return EXIT.runFailed;
    }
    if (!this.o.tty) this.o.err.write(`transaction ${id} ended ready\n`);
    return EXIT.ok;
  }
}

async function watchByPolling(api: ApiClient, id: number, query: Query, rowsOf: (raw: Row[]) => Row[], o: WatchOptions): Promise<number> {
  let failed = 0;
  const screen = new Screen(o);
  for (;;) {
    let run: Run;
    let rows: Row[];
    try {
      run = await api.get<Run>(`transactions/${id}`);
      rows = rowsOf(await api.get<Row[]>(`transactions/${id}/deployment_history`, query));
      failed = 0;
    } catch (e) {
      // An answer from the server (404, 409, 400) will not change: stop. A lost connection may come back.
      if (lasting(e) || ++failed >= MAX_FAILED_POLLS) throw e;
      await sleep(o.intervalMs);
      continue;
    }
    if (isFinalRun(run.status)) return screen.finish(id, run, rows);
    screen.draw(id, run, rows);
    await sleep(o.intervalMs);
  }
}

function header(run: Run, rows: Row[], color: boolean): string {
  const finished = rows.filter((r) => isTerminal(r.status as TaskStatus)).length;
  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return (
    `transaction ${run.id} (${terminalText(run.name)}, cluster ${run.cluster}): ` +
    `${paint(terminalText(run.status), color)} ${run.progress}%, ` +
    `${finished} of ${rows.length} tasks finished${run.message ? ` — ${terminalText(run.message)}` : ''} [${when}]`
  );
}

/** Terminal lines a text takes, wrapped lines counted. */
function visualLines(text: string, columns: number): number {
  const plain = text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
  const lines = plain.endsWith('\n') ? plain.slice(0, -1).split('\n') : plain.split('\n');
  return lines.reduce((n, l) => n + Math.max(1, Math.ceil(l.length / Math.max(1, columns))), 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
