import { ApiClient, Query } from './client';
import { CliError, EXIT } from './errors';
import { paint, Row } from './output';
import { terminalText } from '../common/terminal-text';

const FINAL = ['ready', 'error', 'stopped'];
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
  status: string;
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
  const rows = new Map<string, Row>();
  let run = await api.get<Run>(`transactions/${id}`);
  let lastId: string | undefined;
  let failed = 0;
  let deleted = false;
  const screen = new Screen(o);
  const wanted = rowFilter(query);
  for (;;) {
    let pause = o.intervalMs;
    try {
      for await (const e of api.events(`transactions/${id}/deployment_history/stream`, lastId)) {
        failed = 0;
        if (e.id) lastId = e.id;
        if (e.type === 'rows') {
          for (const r of e.data as Row[]) {
            // The stream always carries the summary; show it only when asked, as the list does.
            if (!query.include_summary) delete r.summary;
            rows.set(`${r.node_id ?? ''}\u0000${r.task_name}`, r);
          }
          // Many rows come in several events, only the last with an id: draw once they are all in.
          if (!e.id) continue;
        } else if (e.type === 'transaction' || e.type === 'end') run = e.data as Run;
        else if (e.type === 'deleted') {
          // The service's last event: the run is gone with its history, there is nothing left to follow.
          deleted = true;
          break;
        } else if (e.type === 'shutdown') {
          // The service is stopping and ends the stream: resume from the last id once it is back.
          pause = Math.max(pause, Number((e.data as { retry_ms?: number } | undefined)?.retry_ms) || 0);
          continue;
        } else continue;
        const shown = rowsOf(order([...rows.values()].filter(wanted)));
        if (e.type === 'end') return screen.finish(id, run, shown);
        screen.draw(id, run, shown);
      }
    } catch (e) {
      // 429: too many streams open on the service (or for this token); ask again later.
      const busy = e instanceof CliError && e.httpStatus === 429;
      if (!(e instanceof CliError) || (e.httpStatus !== undefined && e.httpStatus < 500 && !busy) || ++failed >= MAX_FAILED_POLLS) throw e;
      if (busy) pause = Math.max(pause, BUSY_RETRY_MS);
    }
    if (deleted) throw new CliError(`transaction ${id} was deleted while it was watched`, EXIT.failed);
    // The stream ended without `end` (the connection dropped, the service stopped): resume from the last event.
    await sleep(pause);
  }
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
    (!nodes || nodes.has(r.node_id === null ? 'null' : String(r.node_id))) &&
    (!statuses || statuses.has(String(r.status))) &&
    (!names || names.has(String(r.task_name)));
}

/** Fuel's order: cluster-level rows, then master, then nodes in numeric order; then start time and name. */
function order(rows: Row[]): Row[] {
  const rank = (n: unknown) => (n === null ? 0 : n === 'master' ? 1 : 2);
  const key = (r: Row) => String(r.node_id ?? '');
  return rows.sort(
    (a, b) =>
      rank(a.node_id) - rank(b.node_id) ||
      key(a).length - key(b).length ||
      key(a).localeCompare(key(b)) ||
      String(a.time_start ?? '\uffff').localeCompare(String(b.time_start ?? '\uffff')) ||
      String(a.task_name).localeCompare(String(b.task_name)),
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
  let drawn = 0;
  let announced = false;
  for (;;) {
    let run: Run;
    let rows: Row[];
    try {
      run = await api.get<Run>(`transactions/${id}`);
      rows = rowsOf(await api.get<Row[]>(`transactions/${id}/deployment_history`, query));
      failed = 0;
    } catch (e) {
      // An answer from the server (404, 409, 400) will not change: stop. A lost connection may come back.
      if (!(e instanceof CliError) || (e.httpStatus !== undefined && e.httpStatus < 500) || ++failed >= MAX_FAILED_POLLS) throw e;
      await sleep(o.intervalMs);
      continue;
    }
    const done = FINAL.includes(run.status);
    if (o.tty) {
      const screen = `${header(run, rows, o.color)}\n${o.render(rows)}`;
      o.out.write(`${drawn ? `\u001b[${drawn}A\u001b[0J` : ''}${screen}`);
      drawn = visualLines(screen, o.out.columns || 80);
      // Taller than the terminal: moving up cannot reach the top, so start afresh next time.
      if (o.out.rows && drawn >= o.out.rows) drawn = 0;
    } else if (done) {
      o.out.write(o.render(rows));
    } else if (!announced) {
      o.err.write(`watching transaction ${id} (${run.status}, ${run.progress}%) until it ends...\n`);
      announced = true;
    }
    if (done) {
      if (run.status !== 'ready') {
        o.err.write(`transaction ${id} ended with ${run.status}${run.message ? `: ${terminalText(run.message)}` : ''}\n`);
        return EXIT.runFailed;
      }
      if (!o.tty) o.err.write(`transaction ${id} ended ready\n`);
      return EXIT.ok;
    }
    await sleep(o.intervalMs);
  }
}

function header(run: Run, rows: Row[], color: boolean): string {
  const finished = rows.filter((r) => ['ready', 'error', 'skipped'].includes(String(r.status))).length;
  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return (
    `transaction ${run.id} (${terminalText(run.name)}, cluster ${run.cluster}): ` +
    `${paint(terminalText(run.status), color)} ${run.progress}%, ` +
    `${finished} of ${rows.length} tasks finished${run.message ? ` — ${terminalText(run.message)}` : ''} [${when}]`
  );
}

/** Terminal lines a text takes, wrapped lines counted. */
function visualLines(text: string, columns: number): number {
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
  const lines = plain.endsWith('\n') ? plain.slice(0, -1).split('\n') : plain.split('\n');
  return lines.reduce((n, l) => n + Math.max(1, Math.ceil(l.length / Math.max(1, columns))), 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
