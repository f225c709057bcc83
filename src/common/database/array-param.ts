import { arrayLiteral, isFourDigitYear } from './array-literal';

/**
 * A list of values as one array parameter of a statement (`unnest($1::int[], ...)`: the writer's multi-row
 * statements, history/persistence/columns.ts), sent in PostgreSQL's binary array format where every value is
 * of a kind encoded here, else as a text array literal (arrayLiteral, which leaves to `pg` what it does not
 * encode either).
 *
 * Why binary (issue #17): as text, each element was a string of its own joined into the literal, ~130 bytes
 * of short-lived strings per element (~320 per time) and ~1.7 KB per history row written, about a seventh of
 * all the service allocated per cast in the bus ingest (a sampling heap profile of a 2,000-run benchmark);
 * young collections, which copy whatever a batch still holds each time, were most of its garbage collection.
 * Here a column is one Buffer, outside V8's heap, written once; PostgreSQL reads it with `array_recv` (each
 * element by its type's binary input) instead of parsing quoted text.
 *
 * `pg` sends a Buffer parameter in binary format; the server takes the parameter's type from the statement
 * (`$1::int[]`) and checks that the element type named in the data is that one ("wrong element type"
 * otherwise): so only the SQL types below are sent binary, and only when every value is of the JavaScript
 * kind its binary form is written from. Anything else (a number in a text column, a fraction in an int one,
 * a string id past 64 bits, an invalid time) sends the whole list as text, as before: what PostgreSQL accepts
 * and refuses is then what it always was.
 */
export function arrayParam(values: readonly unknown[], sqlType: string): Buffer | string | readonly unknown[] {
  const kind = KINDS.get(sqlType);
  return (kind && binaryArray(values, kind)) || arrayLiteral(values);
}

interface Kind {
  oid: number;
  /** The element's size in bytes, or -1 when it cannot be sent binary (the list goes as text). */
  size(v: unknown): number;
  /** Writes the element at `at`, `size` bytes. */
  write(buf: Buffer, at: number, v: unknown, size: number): void;
}

/** 2000-01-01T00:00:00Z, PostgreSQL's epoch for timestamps, in ms since 1970. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^-?\d+$/;

/** A safe integer times `k` (a small integer: the product may pass 2^53) as a big-endian int64, exactly, with no BigInt. */
function writeInt64(buf: Buffer, at: number, n: number, k = 1): void {
  const high = Math.floor(n / TWO_32);
  const low = (n - high * TWO_32) * k; // < 2^32 × k: exact
  const carry = Math.floor(low / TWO_32);
  buf.writeInt32BE(high * k + carry, at);
  buf.writeUInt32BE(low - carry * TWO_32, at + 4);
}

const integer = (oid: number, bytes: 2 | 4, min: number, max: number): Kind => ({
  oid,
  size: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? bytes : -1),
  write: (buf, at, v) => (bytes === 4 ? buf.writeInt32BE(v as number, at) : buf.writeInt16BE(v as number, at)),
});

/** A string's UTF-8 length: its length when it is ASCII (scanned here: a native call costs more for short texts). */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s);
  return s.length;
}

/** UTF-8 text (text, varchar, json), optionally after a version byte (jsonb's binary form: 1, then the text). */
const text = (oid: number, prefix: number | null): Kind => ({
  oid,
  size: (v) => (typeof v === 'string' ? utf8Length(v) + (prefix === null ? 0 : 1) : -1),
  write: (buf, at, v, size) => {
    const s = v as string;
    if (prefix !== null) {
      buf[at++] = prefix;
      size--;
    }
    // ASCII (as long in bytes as in characters) byte by byte; anything else by Buffer's own encoder.
    if (size === s.length) for (let i = 0; i < size; i++) buf[at + i] = s.charCodeAt(i);
    else buf.write(s, at, size, 'utf8');
  },
});

/** A decimal integer's text of up to 15 digits (a bigint id as `pg` returns it) as a number, else NaN. */
function shortDecimal(s: string): number {
  const negative = s.charCodeAt(0) === 45; /* - */
  const from = negative ? 1 : 0;
  if (s.length === from || s.length - from > 15) return NaN;
  let n = 0;
  for (let i = from; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

const int8: Kind = {
  oid: 20,
  size: (v) => {
    if (typeof v === 'number') return Number.isSafeInteger(v) ? 8 : -1;
    if (typeof v === 'bigint') return v >= INT64_MIN && v <= INT64_MAX ? 8 : -1;
    if (typeof v !== 'string') return -1;
    if (!Number.isNaN(shortDecimal(v))) return 8;
    if (!DECIMAL.test(v)) return -1;
    const b = BigInt(v);
    return b >= INT64_MIN && b <= INT64_MAX ? 8 : -1;
  },
  write: (buf, at, v) => {
    if (typeof v === 'number') return writeInt64(buf, at, v);
    if (typeof v === 'bigint') return void buf.writeBigInt64BE(v, at);
    const n = shortDecimal(v as string);
    if (Number.isNaN(n)) buf.writeBigInt64BE(BigInt(v as string), at);
    else writeInt64(buf, at, n);
  },
};

const timestamptz: Kind = {
  oid: 1184,
  // The times arrayLiteral writes (others go to pg, as text, as before).
  size: (v) => (v instanceof Date && isFourDigitYear(v.getTime()) ? 8 : -1),
  // Microseconds since 2000-01-01 UTC (integer timestamps, PostgreSQL's only kind since 10): past the year 2285
  // they pass 2^53, so the milliseconds (exact) are multiplied in int64 halves.
  write: (buf, at, v) => writeInt64(buf, at, (v as Date).getTime() - PG_EPOCH_MS, 1000),
};

const int4 = integer(23, 4, -2_147_483_648, 2_147_483_647);
const bool: Kind = { oid: 16, size: (v) => (typeof v === 'boolean' ? 1 : -1), write: (buf, at, v) => void (buf[at] = v ? 1 : 0) };

/** By the type names the statements use (`$n::<type>[]`), each with its element's type OID. */
const KINDS: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['int', int4],
  ['integer', int4],
  ['smallint', integer(21, 2, -32_768, 32_767)],
  ['bigint', int8],
  ['bool', bool],
  ['boolean', bool],
  ['text', text(25, null)],
  ['varchar', text(1043, null)],
  ['json', text(114, null)],
  ['jsonb', text(3802, 1)],
  ['timestamptz', timestamptz],
]);

/**
 * PostgreSQL's binary array (array_recv): dimensions (1, or 0 when empty), whether it holds NULLs, the element
 * type; for the one dimension its length and lower bound (1); then each element as its length (-1: NULL) and
 * its bytes. Null when a value cannot be written so.
 */
function binaryArray(values: readonly unknown[], kind: Kind): Buffer | null {
  const n = values.length;
  const sizes = new Int32Array(n);
  let bytes = n ? 20 : 12;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      sizes[i] = -1;
      nulls = 1;
      bytes += 4;
      continue;
    }
    const size = kind.size(v);
    if (size < 0) return null;
    sizes[i] = size;
    bytes += 4 + size;
  }
  const buf = Buffer.allocUnsafe(bytes);
  buf.writeInt32BE(n ? 1 : 0, 0);
  buf.writeInt32BE(nulls, 4);
  buf.writeUInt32BE(kind.oid, 8);
  if (!n) return buf;
  buf.writeInt32BE(n, 12);
  buf.writeInt32BE(1, 16);
  let at = 20;
  for (let i = 0; i < n; i++) {
    const size = sizes[i];
    buf.writeInt32BE(size, at);
    at += 4;
    if (size < 0) continue;
    kind.write(buf, at, values[i], size);
    at += size;
  }
  return buf;
}
