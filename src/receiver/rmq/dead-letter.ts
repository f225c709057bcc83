import { createHash } from 'node:crypto';
import type { HeldMessage } from './held-message';
import { doublingMs } from '../../common/runtime/backoff';

/**
 * What a dead-letter copy may carry, whatever the message carried (issue #11). Pure functions: the
 * bounded header copy, the key that recognises a message when it comes back, the back-off.
 */

// amqplib's own field-table encoder: sizes are measured exactly as the copy will be encoded (the
// package is pinned; a change of this internal path fails the unit tests, not production silently).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const codec = require('amqplib/lib/codec') as { encodeTable(buffer: Buffer, table: object, offset: number): number };

/**
 * amqplib 0.10.9 encodes a message's header table into one 65,536-byte scratch buffer. Measured: a
 * table of 65,536 bytes (its 4-byte length included) is published; one byte more either throws
 * `RangeError [ERR_OUT_OF_RANGE]` from `publish` (and leaves an orphan confirm callback on the
 * channel) or, when only a string's bytes overflow, is silently cut short and the broker closes the
 * whole connection (541 INTERNAL_ERROR). A message received near this size cannot be republished
 * with one header more.
 */
export const AMQPLIB_HEADER_TABLE_LIMIT = 65_536;

/**
 * The whole header table of a dead-letter copy, at most: 8 KiB under the limit, so that whoever
 * handles the copy next (the broker's `x-death` entries, a shovel, a tool that republishes it with a
 * header of its own) still has room.
 */
export const DEAD_LETTER_HEADERS_BYTES = 56 * 1024;

/** The reason (and any header this service adds) is cut to this many UTF-8 bytes. */
export const ADDED_VALUE_BYTES = 4000;

/** The lists of cut headers are cut to this many bytes (names are up to 255 bytes each; there may be thousands). */
const LIST_BYTES = 1000;

/** A header value is shortened rather than dropped only if at least this much of it can be kept. */
const MIN_KEPT_BYTES = 256;

export const DROPPED_HEADER = 'x-dead-letter-headers-dropped';
export const TRUNCATED_HEADER = 'x-dead-letter-headers-truncated';

export interface BoundedHeaders {
  headers: Record<string, unknown>;
  /** Original headers left out, and shortened (strings and byte arrays keep their beginning). */
  dropped: string[];
  truncated: string[];
  /** The encoded size of `headers` (the table's 4-byte length included). */
  bytes: number;
}

const SCRATCH = Buffer.alloc(AMQPLIB_HEADER_TABLE_LIMIT + 1024);

/** The encoded size of a header table as amqplib encodes it; Infinity when it cannot be encoded within the limit. */
export function tableBytes(table: Record<string, unknown>): number {
  try {
    const n = codec.encodeTable(SCRATCH, table, 0);
    // Past the scratch buffer amqplib stops writing string bytes but keeps counting: too big, either way.
    return n <= SCRATCH.length ? n : Infinity;
  } catch {
    return Infinity;
  }
}

/** One entry's share of a table (type tag and length prefixes included). */
function entryBytes(key: string, value: unknown): number {
  // A value longer than the scratch buffer cannot fit: not worth encoding to find out.
  if ((typeof value === 'string' || Buffer.isBuffer(value)) && value.length > SCRATCH.length) return Infinity;
  return tableBytes({ [key]: value }) - 4;
}

/** `s` cut to at most `maxBytes` of UTF-8, never inside a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most strings need no encoding to know.
  if (s.length * 3 <= maxBytes) return s;
  const bytes = Buffer.from(s, 'utf8');
  if (bytes.length <= maxBytes) return s;
  let end = Math.max(0, maxBytes);
  // Back to the first byte of the character that would be split (continuation bytes are 10xxxxxx).
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** Names, comma-separated, within `maxBytes`; the rest counted. */
function listOf(names: string[], maxBytes = LIST_BYTES): string {
  let out = '';
  for (let i = 0; i < names.length; i++) {
    const next = out ? `${out}, ${names[i]}` : names[i];
    const more = names.length - i - 1;
    // Room for the longest possible tail: ", … (+N more)".
    if (Buffer.byteLength(next) + (more ? 24 : 0) > maxBytes) return `${out}${out ? ', ' : ''}… (+${names.length - i} more)`;
    out = next;
  }
  return out;
}

/** A string or byte array shortened so that its entry takes at most `room` bytes; null if too little would be kept. */
function shortened(key: string, value: unknown, room: number): unknown {
  const overhead = entryBytes(key, typeof value === 'string' ? '' : Buffer.alloc(0));
  const keep = room - overhead;
  if (keep < MIN_KEPT_BYTES) return null;
  if (typeof value === 'string') return truncateUtf8(value, keep);
  if (Buffer.isBuffer(value)) return value.subarray(0, keep);
  return null;
}

/**
 * The headers of a dead-letter copy: `added` (this service's `x-dead-letter-*`, each value cut to
 * ADDED_VALUE_BYTES) and as many of the original headers as fit in `budget` bytes: in their order,
 * each that fits whole is kept; then each that did not is shortened to the room left if it is a
 * string or byte array and enough of it can be kept (its beginning), or else dropped.
 * What was cut is named in `x-dead-letter-headers-dropped` / `-truncated`. The result always encodes
 * within `budget` (checked; if not, only `added` and the list of what was dropped are kept).
 */
export function deadLetterHeaders(
  original: Record<string, unknown> | undefined,
  added: Record<string, string>,
  budget = DEAD_LETTER_HEADERS_BYTES,
): BoundedHeaders {
  const ours: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(added)) ours[k] = truncateUtf8(v, ADDED_VALUE_BYTES);
  // Room kept for the two lists whatever they end up holding.
  const listRoom = 2 * (entryBytes(DROPPED_HEADER, '') + LIST_BYTES);
  let room = budget - tableBytes(ours) - listRoom;

  const candidates = Object.entries(original ?? {})
    .filter(([k, v]) => v !== undefined && !Object.hasOwn(ours, k) && k !== DROPPED_HEADER && k !== TRUNCATED_HEADER)
    .map(([k, v], order) => ({ k, v, order, bytes: entryBytes(k, v) }));
  const kept = new Map<string, { value: unknown; order: number }>();
  const dropped: string[] = [];
  const truncated: string[] = [];
  // First every header that fits whole, in the publisher's order: one huge header does not push out the small ones after it.
  const skipped = candidates.filter((c) => {
    if (c.bytes > room) return true;
    kept.set(c.k, { value: c.v, order: c.order });
    room -= c.bytes;
    return false;
  });
  // Then the ones that did not fit, shortened to the room left if enough of them can be kept.
  for (const c of skipped) {
    const short = shortened(c.k, c.v, room);
    if (short === null) {
      dropped.push(c.k);
      continue;
    }
    kept.set(c.k, { value: short, order: c.order });
    truncated.push(c.k);
    room -= entryBytes(c.k, short);
  }

  const assemble = (keptHeaders: Array<[string, unknown]>, droppedNames: string[], truncatedNames: string[]) => {
    const headers: Record<string, unknown> = Object.fromEntries(keptHeaders);
    Object.assign(headers, ours);
    if (droppedNames.length) headers[DROPPED_HEADER] = listOf(droppedNames);
    if (truncatedNames.length) headers[TRUNCATED_HEADER] = listOf(truncatedNames);
    return headers;
  };
  // In the original order, for whoever reads the copy.
  const inOrder = [...kept].sort((a, b) => a[1].order - b[1].order).map(([k, { value }]): [string, unknown] => [k, value]);
  let headers = assemble(inOrder, dropped, truncated);
  let bytes = tableBytes(headers);
  if (bytes > budget) {
    // Not expected (every size above is amqplib's own); if it happens, the copy must still go out.
    const all = candidates.map((c) => c.k);
    headers = assemble([], all, []);
    bytes = tableBytes(headers);
    return { headers, dropped: all, truncated: [], bytes };
  }
  return { headers, dropped, truncated, bytes };
}

/**
 * Recognises a message when it comes back (a redelivery after the channel closed, or a restart of
 * the consumer), to count the failed attempts to dead-letter it. Content and what the publisher set;
 * not the delivery tag or the redelivered flag, which change with each delivery.
 */
export function messageKey(message: HeldMessage): string {
  const { exchange, routingKey } = message.fields;
  // As AMQP carries them: short strings, and a timestamp in seconds.
  const { messageId, correlationId, timestamp } = message.properties as { messageId?: string; correlationId?: string; timestamp?: number };
  return createHash('sha1')
    .update(`${exchange}\u0000${routingKey}\u0000${messageId ?? ''}\u0000${correlationId ?? ''}\u0000${timestamp ?? ''}\u0000`)
    .update(message.content)
    .digest('base64');
}

export interface RetryPolicy {
  /** Attempts to dead-letter one message before giving up on copying it. */
  attempts: number;
  firstDelayMs: number;
  maxDelayMs: number;
}

/** The wait before attempt `failures + 1`: doubling from firstDelayMs, at most maxDelayMs. */
export function backoffMs(failures: number, policy: RetryPolicy): number {
  return doublingMs(failures - 1, policy.firstDelayMs, policy.maxDelayMs);
}

/** Bounded memory: a map that forgets its least recently used key past `max`. */
export class LruCounter {
  private readonly counts = new Map<string, number>();

  constructor(private readonly max = 10_000) {}

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  increment(key: string): number {
    const n = this.get(key) + 1;
    this.counts.delete(key);
    this.counts.set(key, n);
    if (this.counts.size > this.max) this.counts.delete(this.counts.keys().next().value as string);
    return n;
  }

  delete(key: string): void {
    this.counts.delete(key);
  }

  get size(): number {
    return this.counts.size;
  }
}
