import { MAX_NAME } from './cast-format';

/** Checks of the values inside a cast, shared by the parser (cast.ts) and its snapshot parsing (cast-snapshots.ts). */

/** A cast that can never be applied as sent: answered with 400 over HTTP, dead-lettered on the bus. */
export class CastRejected extends Error {}

/** A non-empty name of at most MAX_NAME characters that PostgreSQL can store. */
export function name(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new CastRejected(`${what} must be a non-empty string, got ${describe(v)}`);
  if (v.length > MAX_NAME) throw new CastRejected(`${what} must be at most ${MAX_NAME} characters, got ${v.length}`);
  checkJson(v, what);
  return v;
}

const MAX_DEPTH = 32;
/**
 * NUL cannot be stored by PostgreSQL; a lone surrogate is not valid UTF-8. (String.isWellFormed is
 * ES2024, in Node 20; 3 times faster than a regular expression on the strings of a 60 MB graph.)
 */
export const unstorable = (s: string) => s.includes('\u0000') || !(s as string & { isWellFormed(): boolean }).isWellFormed();

/** Rejects what PostgreSQL cannot store (NUL, lone surrogates) and JSON nested deeper than MAX_DEPTH. */
export function checkJson(v: unknown, what: string, depth = 0): void {
  if (typeof v === 'string') {
    if (unstorable(v))
      throw new CastRejected(`${what} contains a NUL character or invalid UTF-16 (a lone surrogate), which cannot be stored`);
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  if (depth >= MAX_DEPTH) throw new CastRejected(`${what} is nested deeper than ${MAX_DEPTH} levels`);
  // Every value of every task passes here (a 60 MB run holds the event loop while it does): no array per entry.
  if (Array.isArray(v)) {
    for (const x of v) checkJson(x, what, depth + 1);
    return;
  }
  for (const k of Object.keys(v)) {
    checkJson(k, what, depth + 1);
    checkJson((v as Record<string, unknown>)[k], what, depth + 1);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value as a reason shows it: its JSON, shortened. */
export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    return Array.isArray(v) ? 'a list nested too deep to show' : `a ${typeof v} too deep to show`;
  }
  if (s === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- JSON has no text for it (a function, a symbol): String's is all there is.
    return String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
