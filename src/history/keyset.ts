import { createHash } from 'node:crypto';
import { InvalidInputError } from '../common/errors/domain-errors';
import { canonical } from './task-state';

/**
 * Keyset cursors for lists ordered by (sort_time, id). A cursor carries the last row's key (sort_time
 * in microseconds since the epoch, exact, and id) and a digest of the query it belongs to, so a cursor
 * used with other filters is refused instead of silently skipping rows.
 */
export interface Key {
  us: string;
  id: string;
}

export function queryDigest(query: unknown): string {
  return createHash('sha256').update(canonical(query)).digest('base64url').slice(0, 16);
}

export function encodeCursor(key: Key, digest: string): string {
  return Buffer.from(JSON.stringify({ k: [key.us, key.id], q: digest })).toString('base64url');
}

export function decodeCursor(cursor: string, digest: string): Key {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidInputError('cursor is not valid: use the one given in the Link header of the previous page');
  }
  const p = parsed as { k?: unknown; q?: unknown } | null;
  const k: unknown[] | null = Array.isArray(p?.k) ? (p.k as unknown[]) : null;
  const key = k?.length === 2 && k.every((x) => typeof x === 'string' && /^-?\d{1,20}$/.test(x)) ? (k as [string, string]) : null;
  if (!p || !key || !inRange(key[0], key[1])) {
    throw new InvalidInputError('cursor is not valid: use the one given in the Link header of the previous page');
  }
  if (p.q !== digest) {
    throw new InvalidInputError('cursor belongs to a different query: keep the filters and order of the page it came from');
  }
  return { us: key[0], id: key[1] };
}

// Microseconds of years 1 to 9999, and PostgreSQL's bigserial ids.
const MIN_US = -62135596800000000n;
const MAX_US = 253402300799999999n;
const MAX_ID = 9223372036854775807n;

function inRange(us: string, id: string): boolean {
  const t = BigInt(us);
  const i = BigInt(id);
  return t >= MIN_US && t <= MAX_US && i >= 1n && i <= MAX_ID;
}
