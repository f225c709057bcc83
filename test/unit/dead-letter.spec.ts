import fc from 'fast-check';
import type { ConsumeMessage } from 'amqplib';
import {
  ADDED_VALUE_BYTES,
  AMQPLIB_HEADER_TABLE_LIMIT,
  backoffMs,
  DEAD_LETTER_HEADERS_BYTES,
  deadLetterHeaders,
  DROPPED_HEADER,
  LruCounter,
  messageKey,
  tableBytes,
  TRUNCATED_HEADER,
  truncateUtf8,
} from '../../src/receiver/rmq/dead-letter';

/**
 * The bounded header copy of a dead letter (issue #11): whatever the original headers, the copy
 * encodes within the bound with amqplib's own encoder, keeps what fits (a prefix of what is cut
 * short), and names what it dropped or shortened.
 */

// eslint-disable-next-line @typescript-eslint/no-require-imports
const codec = require('amqplib/lib/codec') as { encodeTable(buffer: Buffer, table: object, offset: number): number };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defs = require('amqplib/lib/defs') as {
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
  BasicProperties: number;
};

const ADDED = {
  'x-dead-letter-reason': 'message body is not a JSON object',
  'x-original-exchange': 'nailgun',
  'x-original-routing-key': 'nailgun',
  'x-dead-lettered-at': '2026-01-01T00:00:00.000Z',
};
const size = (h: object) => codec.encodeTable(Buffer.alloc(1 << 20), h, 0);

/** Throws as `channel.publish` would if amqplib could not encode these headers. */
function encodesAsProperties(headers: Record<string, unknown>): void {
  defs.encodeProperties(defs.BasicProperties, 1, 10, { headers, contentType: 'application/json', deliveryMode: 2 });
}

/** A string header long enough for the table `base + key` to take `bytes`. */
function filled(base: Record<string, unknown>, key: string, bytes: number, unit = 'x'): Record<string, unknown> {
  const room = bytes - size({ ...base, [key]: '' });
  const u = Buffer.byteLength(unit);
  return { ...base, [key]: unit.repeat(Math.floor(room / u)) + 'x'.repeat(room % u) };
}

describe('dead-letter headers', () => {
  it('measures tables as amqplib encodes them', () => {
    const h = { a: 'x', n: 1, big: 70000, f: 1.5, t: true, z: null, arr: [1, 'a'], nested: { b: Buffer.from('yy') } };
    expect(tableBytes(h)).toBe(size(h));
    expect(tableBytes({ s: 'x'.repeat(AMQPLIB_HEADER_TABLE_LIMIT) })).toBe(AMQPLIB_HEADER_TABLE_LIMIT + 11);
    expect(tableBytes({ s: 'x'.repeat(4 * AMQPLIB_HEADER_TABLE_LIMIT) })).toBe(Infinity);
    // Numbers amqplib decodes (a double from another client) but cannot encode again.
    expect(tableBytes({ d: -1e300 })).toBe(Infinity);
    expect(tableBytes({ d: NaN })).toBe(Infinity);
  });

  it("knows amqplib's limit: a table of 65,536 bytes encodes, one byte more does not", () => {
    const atLimit = filled({}, 'big', AMQPLIB_HEADER_TABLE_LIMIT);
    expect(size(atLimit)).toBe(AMQPLIB_HEADER_TABLE_LIMIT);
    expect(() => encodesAsProperties(atLimit)).not.toThrow();
    // Past it, with one header more (what the old copy did): RangeError, the crash.
    expect(() => encodesAsProperties({ ...filled({}, 'big', 65_520), 'x-dead-letter-reason': 'r'.repeat(100) })).toThrow(/out of range/);
  });

  it('copies small headers whole and adds its own, naming nothing as cut', () => {
    const r = deadLetterHeaders({ 'x-case': 'a', n: 5, nested: { k: [1, 2] }, toString: 'a name like any other' }, ADDED);
    expect(r.headers).toEqual({ 'x-case': 'a', n: 5, nested: { k: [1, 2] }, toString: 'a name like any other', ...ADDED });
    expect(r.dropped).toEqual([]);
    expect(r.truncated).toEqual([]);
    expect(r.headers[DROPPED_HEADER]).toBeUndefined();
    expect(r.bytes).toBe(size(r.headers));
  });

  it("bounds the issue's headers (one string header, a 65,520-byte table): keeps its beginning and says so", () => {
    const original = filled({ 'x-case': 'issue' }, 'x-big', 65_520);
    const r = deadLetterHeaders(original, ADDED);
    expect(r.bytes).toBeLessThanOrEqual(DEAD_LETTER_HEADERS_BYTES);
    expect(() => encodesAsProperties(r.headers)).not.toThrow();
    expect(r.headers['x-case']).toBe('issue');
    expect(r.truncated).toEqual(['x-big']);
    expect(r.headers[TRUNCATED_HEADER]).toBe('x-big');
    expect((original['x-big'] as string).startsWith(r.headers['x-big'] as string)).toBe(true);
    // Most of the room is used, not thrown away.
    expect(r.bytes).toBeGreaterThan(DEAD_LETTER_HEADERS_BYTES - 3000);
  });

  it('keeps the first of thousands of headers, in order, and drops the rest, with a bounded list of their names', () => {
    const original: Record<string, unknown> = { 'x-case': 'many' };
    for (let i = 0; i < 6000; i++) original[`h${String(i).padStart(5, '0')}`] = 'v';
    const r = deadLetterHeaders(original, ADDED);
    expect(r.bytes).toBeLessThanOrEqual(DEAD_LETTER_HEADERS_BYTES);
    expect(r.headers['x-case']).toBe('many');
    expect(r.dropped.length).toBeGreaterThan(1000);
    expect(r.dropped[0]).toBe(`h${String(6000 - r.dropped.length).padStart(5, '0')}`);
    expect(Object.keys(r.headers).length + r.dropped.length).toBe(6001 + Object.keys(ADDED).length + 1);
    const list = String(r.headers[DROPPED_HEADER]);
    expect(Buffer.byteLength(list)).toBeLessThanOrEqual(1000);
    expect(list).toMatch(/^h\d{5}, h\d{5}, .*… \(\+\d+ more\)$/);
    expect(Number(/\+(\d+) more/.exec(list)![1]) + list.split(', ').length - 1).toBe(r.dropped.length);
  });

  it('does not let one huge header push out the small ones after it: they are kept whole, it is shortened to the room left', () => {
    const r = deadLetterHeaders({ big: 'b'.repeat(65_000), a: 'x', n: 7 }, ADDED);
    expect(Object.keys(r.headers).slice(0, 3)).toEqual(['big', 'a', 'n']);
    expect(r.headers).toMatchObject({ a: 'x', n: 7 });
    expect(r.truncated).toEqual(['big']);
    expect(r.bytes).toBeLessThanOrEqual(DEAD_LETTER_HEADERS_BYTES);
  });

  it('drops a header that cannot be shortened (a nested table, an array) and shortens a byte array', () => {
    const r = deadLetterHeaders({ 'x-case': 'n', nested: { a: { b: 'n'.repeat(60_000) } }, small: [1, 2] }, ADDED);
    expect(r.dropped).toEqual(['nested']);
    expect(r.headers).toMatchObject({ 'x-case': 'n', small: [1, 2], [DROPPED_HEADER]: 'nested' });
    const l = deadLetterHeaders({ list: Array.from({ length: 12_000 }, (_, i) => i * 1000) }, ADDED);
    expect(l.dropped).toEqual(['list']);
    // Numbers amqplib could decode but cannot encode again are dropped, not a reason to fail.
    const d = deadLetterHeaders({ d: -1e300, n: NaN, ok: 1 }, ADDED);
    expect(d.dropped.sort()).toEqual(['d', 'n']);
    expect(d.headers.ok).toBe(1);
    const b = deadLetterHeaders({ bin: Buffer.alloc(70_000, 7) }, ADDED);
    expect(b.truncated).toEqual(['bin']);
    expect(Buffer.isBuffer(b.headers.bin) && b.headers.bin.every((x) => x === 7)).toBe(true);
    expect(b.bytes).toBeLessThanOrEqual(DEAD_LETTER_HEADERS_BYTES);
  });

  it('cuts multi-byte text at a character boundary', () => {
    const text = 'é😀'.repeat(20_000);
    const r = deadLetterHeaders({ t: text }, ADDED);
    const kept = r.headers.t as string;
    expect(text.startsWith(kept)).toBe(true);
    expect(kept).not.toMatch(/\uFFFD|[\uD800-\uDBFF]$/);
    expect(r.bytes).toBeLessThanOrEqual(DEAD_LETTER_HEADERS_BYTES);
    for (const n of [0, 1, 2, 3, 4, 5, 6, 7]) {
      const cut = truncateUtf8('é😀x', n);
      expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(n);
      expect('é😀x'.startsWith(cut)).toBe(true);
    }
  });

  it('cuts the reason to 4000 bytes and lets its own headers win over originals of the same name', () => {
    const r = deadLetterHeaders(
      { 'x-dead-letter-reason': 'old', [DROPPED_HEADER]: 'old' },
      { ...ADDED, 'x-dead-letter-reason': 'ü'.repeat(5000) },
    );
    expect(Buffer.byteLength(r.headers['x-dead-letter-reason'] as string)).toBe(ADDED_VALUE_BYTES);
    expect(r.headers[DROPPED_HEADER]).toBeUndefined();
    expect(r.dropped).toEqual([]);
  });

  it('for any header table amqplib can deliver: the copy encodes within the bound, keeps or names every header', () => {
    const key = fc.string({ minLength: 1, maxLength: 40 }).filter((k) => Buffer.byteLength(k) < 256 && k !== '__proto__');
    const leaf = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(null),
      fc.nat({ max: 30_000 }).map((n) => 'x'.repeat(n)),
      fc.nat({ max: 20_000 }).map((n) => 'é'.repeat(n)),
      fc.nat({ max: 30_000 }).map((n) => Buffer.alloc(n, 1)),
    );
    const value = fc.oneof(leaf, fc.array(leaf, { maxLength: 5 }), fc.dictionary(key, leaf, { maxKeys: 5, noNullPrototype: true }));
    const encodable = (t: object) => {
      try {
        return size(t) <= AMQPLIB_HEADER_TABLE_LIMIT;
      } catch {
        return false; // e.g. a number amqplib cannot encode: it could not have been published by amqplib either
      }
    };
    const table = fc.dictionary(key, value, { maxKeys: 40, noNullPrototype: true }).filter(encodable);
    const reason = fc.string({ maxLength: 6000 });
    fc.assert(
      fc.property(table, reason, (original, why) => {
        const r = deadLetterHeaders(original, { ...ADDED, 'x-dead-letter-reason': why });
        expect(r.bytes).toBeLessThanOrEqual(DEAD_LETTER_HEADERS_BYTES);
        expect(r.bytes).toBe(size(r.headers));
        encodesAsProperties(r.headers);
        for (const [k, v] of Object.entries(original)) {
          if (Object.hasOwn(ADDED, k) || k === DROPPED_HEADER || k === TRUNCATED_HEADER) continue;
          if (r.dropped.includes(k)) expect(Object.hasOwn(r.headers, k)).toBe(false);
          else if (r.truncated.includes(k)) {
            const kept = r.headers[k];
            if (typeof v === 'string') expect(v.startsWith(kept as string)).toBe(true);
            else expect((v as Buffer).subarray(0, (kept as Buffer).length).equals(kept as Buffer)).toBe(true);
          } else expect(r.headers[k]).toEqual(v);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('recognising a message that comes back', () => {
  const msg = (content: string, tag: number, redelivered: boolean, props: Record<string, unknown> = {}) =>
    ({
      content: Buffer.from(content),
      fields: { deliveryTag: tag, redelivered, exchange: 'nailgun', routingKey: 'nailgun' },
      properties: { headers: {}, ...props },
    }) as unknown as ConsumeMessage;

  it('keys a message by its content and what its publisher set, not by its delivery', () => {
    expect(messageKey(msg('a', 1, false))).toBe(messageKey(msg('a', 7, true)));
    expect(messageKey(msg('a', 1, false))).not.toBe(messageKey(msg('b', 1, false)));
    expect(messageKey(msg('a', 1, false, { messageId: 'm1' }))).not.toBe(messageKey(msg('a', 1, false, { messageId: 'm2' })));
  });

  it('counts in bounded memory, forgetting the least recently used', () => {
    const lru = new LruCounter(3);
    lru.increment('a');
    lru.increment('b');
    lru.increment('c');
    lru.increment('a');
    lru.increment('d');
    expect(lru.size).toBe(3);
    expect(lru.get('b')).toBe(0);
    expect(lru.get('a')).toBe(2);
  });

  it('backs off doubling, up to a ceiling', () => {
    const policy = { attempts: 6, firstDelayMs: 500, maxDelayMs: 5000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, policy))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
  });
});
