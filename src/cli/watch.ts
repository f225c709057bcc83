import { ApiClient, Query } from './client';
import { CliError, EXIT } from './errors';
import { paint, Row } from './output';

const FINAL = ['ready', 'error', 'stopped'];
/** Consecutive failed polls (server restarting, network blip) tolerated before giving up. */
const MAX_FAILED_POLLS = 10;

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
 * `task history show --watch`: polls the run and its history until the run ends. There is no stream
 * endpoint yet, so each poll reads the run, then its rows (rows read after the run was seen ended are
 * final). Returns the exit code: 0 when the run ended `ready`, 3 when it ended `error` or `stopped`.
 */
export async function watchHistory(api: ApiClient, id: number, query: Query, rowsOf: (raw: Row[]) => Row[], o: WatchOptions): Promise<number> {
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
        o.err.write(`transaction ${id} ended with ${run.status}${run.message ? `: ${run.message}` : ''}\n`);
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
    `transaction ${run.id} (${run.name}, cluster ${run.cluster}): ${paint(run.status, color)} ${run.progress}%, ` +
    `${finished} of ${rows.length} tasks finished${run.message ? ` — ${run.message}` : ''} [${when}]`
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
