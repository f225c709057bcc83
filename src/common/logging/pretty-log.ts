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

const LEVELS: Record<number, [string, number]> = {
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

/**
 * One JSON log line (pino's) as a person reads it: `12:04:31.508 INFO  [Context] message key=value`,
 * an HTTP request as `GET /api/v1/transactions 200 3ms`; an error's stack follows on indented lines.
 * A line that is not a JSON object is passed through (escaped).
 */
export function formatLogLine(line: string, colours: boolean): string {
  const paint = (code: number | string, text: string) => (colours ? `\u001b[${code}m${text}\u001b[0m` : text);
  let o: Record<string, any>;
  try {
    o = JSON.parse(line);
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error('not an object');
  } catch {
    return block(line.replace(/\n$/, ''));
  }
  const t = new Date(typeof o.time === 'number' ? o.time : Date.now());
  const time = `${pad2(t.getHours())}:${pad2(t.getMinutes())}:${pad2(t.getSeconds())}.${String(t.getMilliseconds()).padStart(3, '0')}`;
  const [name, colour] = LEVELS[o.level as number] ?? [String(o.level ?? '').toUpperCase(), 0];
  const parts = [paint(2, time), paint(colour, name.padEnd(5))];
  if (o.context) parts.push(paint(33, `[${safe(String(o.context))}]`));

  const req = o.req && typeof o.req === 'object' ? o.req : undefined;
  if (req && o.res && typeof o.res.statusCode === 'number') {
    // pino-http's line for a finished request: what a person scans for.
    const status = o.res.statusCode as number;
    const statusColour = status >= 500 ? 31 : status >= 400 ? 33 : status >= 300 ? 36 : 32;
    const took = paint(2, `${o.responseTime}ms`);
    parts.push(`${paint(1, safe(String(req.method)))} ${inline(String(req.url))} ${paint(statusColour, String(status))} ${took}`);
    if (o.err?.message && o.msg !== 'request completed') parts.push(block(String(o.err.message)));
  } else {
    const msg = o.msg ?? o.err?.message ?? '';
    parts.push(block(String(msg)));
    if (o.err?.message && o.msg && o.err.message !== o.msg) parts.push(`${paint(2, 'error:')} ${block(String(o.err.message))}`);
  }
  const extra = Object.keys(o)
    .filter((k) => !SHOWN.has(k))
    .map((k) => `${inline(k)}=${inline(typeof o[k] === 'string' ? o[k] : JSON.stringify(o[k]))}`);
  if (req?.id) extra.push(`req=${inline(String(req.id))}`);
  if (extra.length) parts.push(paint(2, extra.join(' ')));

  const text = parts.join(' ');
  // An error's stack (its frames), when logged at error level: below the line, indented likewise.
  const stack = typeof o.err?.stack === 'string' && (o.level as number) >= 50 ? (o.err.stack as string) : '';
  const frames = stack.split('\n').filter((l) => /^\s+at /.test(l));
  return frames.length ? `${text}\n${paint(2, frames.map((l) => `    ${inline(l.trim())}`).join('\n'))}` : text;
}

/** A pino destination that writes each JSON line formatted by formatLogLine to `out`. */
export function prettyDestination(out: { write(text: string): unknown }, colours: boolean): DestinationStream {
  return { write: (line: string) => void out.write(`${formatLogLine(line, colours)}\n`) };
}
