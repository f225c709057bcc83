import type { DestinationStream } from 'pino';
import { escapeChar, TERMINAL_UNSAFE_BUT_LF } from '../terminal-text';

export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Whether logs are written for a person: LOG_FORMAT=pretty, or (auto) when standard output is a
 * terminal and not under CI. A pipe, a file, a log collector or CI get JSON lines, one object each.
 */
export function prettyLogs(format: LogFormat, stdoutIsTTY: boolean | undefined, env: Record<string, string | undefined>): boolean {
  if (format !== 'auto') return format === 'pretty';
  return stdoutIsTTY === true && !env.CI;
}

/** Colours on a terminal unless NO_COLOR is set (https://no-color.org) or TERM is `dumb`, as dhist does. */
export function logColours(env: Record<string, string | undefined>): boolean {
  return !env.NO_COLOR && env.TERM !== 'dumb';
}

const LEVELS: Record<string, [string, number]> = {
  10: ['TRACE', 90],
  20: ['DEBUG', 34],
  30: ['INFO', 32],
  40: ['WARN', 33],
  50: ['ERROR', 31],
  60: ['FATAL', 35],
};

/** Keys shown in their own place on the line (or left out: pid and hostname say nothing on a terminal). */
const SHOWN = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'context', 'req', 'res', 'responseTime', 'err', 'reqId']);

/** Names sent by whoever casts reach the messages: on a terminal they are shown escaped (one rule: terminal-text.ts). */
const safe = (text: string): string => text.replace(TERMINAL_UNSAFE_BUT_LF, escapeChar);

/** Text of several lines (a stack logged as a message): its next lines indented, so that none reads as an event. */
const block = (text: string): string => safe(text).replace(/\n/g, '\n    ');
/** A value on the line: one line. */
const inline = (text: string): string => safe(text).replace(/\n/g, '\\n');

const pad2 = (n: number) => String(n).padStart(2, '0');

/** A parsed log line: pino's keys where pino puts them, anything else beside. */
type LogRecord = Record<string, unknown>;

const isRecord = (v: unknown): v is LogRecord => !!v && typeof v === 'object' && !Array.isArray(v);

/** The error logged with the line (pino's `err`), or an empty one. */
const errorOf = (o: LogRecord): LogRecord => (o.err && typeof o.err === 'object' ? (o.err as LogRecord) : {});

/** A logged value as String() writes it (whatever its type: pino's lines may carry anything). */
const text = (v: unknown): string => String(v);

type Paint = (code: number | string, text: string) => string;

/**
 * One JSON log line (pino's) as a person reads it: `12:04:31.508 INFO  [Context] message key=value`,
 * an HTTP request as `GET /api/v1/transactions 200 3ms`; an error's stack follows on indented lines.
 * A line that is not a JSON object is passed through (escaped).
 */
export function formatLogLine(line: string, colours: boolean): string {
  const paint: Paint = (code, text) => (colours ? `\u001b[${code}m${text}\u001b[0m` : text);
  let o: LogRecord;
  try {
    const parsed: unknown = JSON.parse(line);
    if (!isRecord(parsed)) throw new Error('not an object');
    o = parsed;
  } catch {
    return block(line.replace(/\n$/, ''));
  }
  const t = new Date(typeof o.time === 'number' ? o.time : Date.now());
  const time = `${pad2(t.getHours())}:${pad2(t.getMinutes())}:${pad2(t.getSeconds())}.${String(t.getMilliseconds()).padStart(3, '0')}`;
  const [name, colour] = LEVELS[String(o.level)] ?? [text(o.level ?? '').toUpperCase(), 0];
  const parts = [paint(2, time), paint(colour, name.padEnd(5))];
  if (o.context) parts.push(paint(33, `[${safe(text(o.context))}]`));

  const req = isRecord(o.req) ? o.req : undefined;
  parts.push(
    ...(req && isRecord(o.res) && typeof o.res.statusCode === 'number'
      ? requestParts(o, req, o.res.statusCode, paint)
      : messageParts(o, paint)),
  );
  const extra = Object.keys(o)
    .filter((k) => !SHOWN.has(k))
    .map((k) => `${inline(k)}=${inline(typeof o[k] === 'string' ? o[k] : JSON.stringify(o[k]))}`);
  if (req?.id) extra.push(`req=${inline(text(req.id))}`);
  if (extra.length) parts.push(paint(2, extra.join(' ')));

  const joined = parts.join(' ');
  // An error's stack (its frames), when logged at error level: below the line, indented likewise.
  const err = errorOf(o);
  const stack = typeof err.stack === 'string' && Number(o.level) >= 50 ? err.stack : '';
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l));
  return frames.length ? `${joined}\n${paint(2, frames.map((l) => `    ${inline(l.trim())}`).join('\n'))}` : joined;
}

/** pino-http's line for a finished request: what a person scans for. */
function requestParts(o: LogRecord, req: LogRecord, status: number, paint: Paint): string[] {
  const statusColour = status >= 500 ? 31 : status >= 400 ? 33 : status >= 300 ? 36 : 32;
  const took = paint(2, `${text(o.responseTime)}ms`);
  const parts = [`${paint(1, safe(text(req.method)))} ${inline(text(req.url))} ${paint(statusColour, String(status))} ${took}`];
  const err = errorOf(o);
  if (err.message && o.msg !== 'request completed') parts.push(block(text(err.message)));
  return parts;
}

/** Any other line: its message, and the error's when it says something else. */
function messageParts(o: LogRecord, paint: Paint): string[] {
  const err = errorOf(o);
  const msg = o.msg ?? err.message ?? '';
  const parts = [block(text(msg))];
  if (err.message && o.msg && err.message !== o.msg) parts.push(`${paint(2, 'error:')} ${block(text(err.message))}`);
  return parts;
}

/** A pino destination that writes each JSON line formatted by formatLogLine to `out`. */
export function prettyDestination(out: { write(text: string): unknown }, colours: boolean): DestinationStream {
  return { write: (line: string) => void out.write(`${formatLogLine(line, colours)}\n`) };
}
