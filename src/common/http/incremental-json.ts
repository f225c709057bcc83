/**
 * JSON.parse of a large body in steps, so that other requests are served in between.
 *
 * Why: one JSON.parse of 60 MB holds the event loop for 0.3 to 0.6 s on an idle core (measured on
 * 60 MB of casts or of a tasks graph), seconds on a busy one, and nothing else is answered meanwhile.
 * Parsing in a worker thread does not help: handing the object back is a structured clone whose
 * deserialisation on the main thread costs 2 to 3 times the parse itself (measured: 0.9 s and 1.6 s
 * for the same two bodies).
 *
 * How: a container larger than `leafBytes` is not given to JSON.parse whole. Its members are found by
 * a byte scan (strings skipped with indexOf; the structural characters are ASCII, so a UTF-8 multi-byte
 * character never looks like one); runs of small members are parsed together by JSON.parse, wrapped in
 * brackets; a large member is split the same way, recursively. The scan pauses (setImmediate) whenever
 * it has held the event loop for `sliceMs`. The result equals JSON.parse's: the same values, the same
 * key order (integer-like keys first, the others in their order), the last of duplicate keys, and
 * `__proto__` an own property. The text between members (commas, colons, whitespace, brackets) is
 * checked here; everything else by JSON.parse.
 */
export interface IncrementalJsonOptions {
  /** Containers up to this many bytes are parsed by one JSON.parse call. */
  leafBytes?: number;
  /** Longest time the scan holds the event loop before letting others run. */
  sliceMs?: number;
  /** Only an object or a list (a request body): anything else is refused, as body-parser's strict mode does. */
  containerOnly?: boolean;
}

/** The body is not JSON; the message says where (a byte offset). */
export class JsonSyntaxError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

const LEAF_BYTES = 256 * 1024;
const SLICE_MS = 10;
/** Deeper than this, a container is parsed whole (no body of this API nests large containers so deep). */
const MAX_SPLIT_DEPTH = 64;
/** Bytes scanned between two looks at the clock. */
const SCAN_CHUNK = 64 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
/** Where a number or a literal (true, false, null) ends. */
const DELIMITS = new Uint8Array(256);
for (const c of [COMMA, COLON, CLOSE_BRACE, CLOSE_BRACKET, OPEN_BRACE, OPEN_BRACKET, QUOTE, 0x20, 0x0a, 0x0d, 0x09]) DELIMITS[c] = 1;

/**
 * Parses `buf` (UTF-8 JSON text, without a byte order mark) like JSON.parse(buf.toString('utf8')),
 * letting other callbacks run between steps of at most about `sliceMs` (a single string or number of
 * many megabytes is still one step). Rejects with a JsonSyntaxError where JSON.parse would throw.
 */
export async function parseJsonIncrementally(buf: Buffer, options: IncrementalJsonOptions = {}): Promise<unknown> {
  const leaf = options.leafBytes ?? LEAF_BYTES;
  let start = 0;
  let end = buf.length;
  while (start < end && isSpace(buf[start])) start++;
  while (end > start && isSpace(buf[end - 1])) end--;
  if (options.containerOnly && buf[start] !== OPEN_BRACE && buf[start] !== OPEN_BRACKET) {
    throw new JsonSyntaxError(`expected an object {...} or a list [...] at byte ${start} of the body`);
  }
  if (end - start <= leaf || (buf[start] !== OPEN_BRACE && buf[start] !== OPEN_BRACKET)) return parseText(buf, 0, buf.length);
  return new Parser(buf, leaf, options.sliceMs ?? SLICE_MS).container(start, end, 0);
}

function parseText(buf: Buffer, from: number, to: number, wrap = ''): unknown {
  try {
    return JSON.parse(wrap ? `${wrap[0]}${buf.toString('utf8', from, to)}${wrap[1]}` : buf.toString('utf8', from, to));
  } catch (e) {
    // JSON.parse's position is within the part parsed; say where that part starts in the body.
    throw new JsonSyntaxError(from === 0 ? (e as Error).message : `${(e as Error).message} (in the part of the body from byte ${from})`);
  }
}

/** Where a container's member lies in the body: [start, keyEnd) its key (objects), its value from `value`. */
interface Member {
  start: number;
  keyEnd: number;
  value: number;
}

class Parser {
  private last = performance.now();

  constructor(
    private readonly buf: Buffer,
    private readonly leaf: number,
    private readonly sliceMs: number,
  ) {}

  /** The container spanning [a, b): buf[a] is its opening bracket, buf[b - 1] must be the closing one. */
  async container(a: number, b: number, depth: number): Promise<unknown> {
    const buf = this.buf;
    const isObject = buf[a] === OPEN_BRACE;
    const close = isObject ? CLOSE_BRACE : CLOSE_BRACKET;
    const last = b - 1;
    if (buf[last] !== close) throw this.error(`expected '${String.fromCharCode(close)}'`, last);
    const out: Record<string, unknown> | unknown[] = isObject ? {} : [];
    // Consecutive small members, parsed together: [batchStart, batchEnd) holds them and their commas.
    let batchStart = -1;
    let batchEnd = -1;
    const flush = async () => {
      if (batchStart < 0) return;
      const part = parseText(buf, batchStart, batchEnd, isObject ? '{}' : '[]');
      batchStart = -1;
      if (isObject) for (const k of Object.keys(part as object)) define(out, k, (part as Record<string, unknown>)[k]);
      else for (const v of part as unknown[]) (out as unknown[]).push(v);
      await this.breathe();
    };

    let i = this.space(a + 1, last);
    if (i === last) return out;
    for (;;) {
      const m = this.member(i, last, isObject);
      const valueEnd = await this.skip(m.value, last);
      const next = this.space(valueEnd, last);
      if (next !== last && buf[next] !== COMMA) throw this.error(`expected ',' or '${String.fromCharCode(close)}'`, next);
      const large =
        valueEnd - m.value > this.leaf && (buf[m.value] === OPEN_BRACE || buf[m.value] === OPEN_BRACKET) && depth < MAX_SPLIT_DEPTH;
      if (large) {
        await flush();
        const key = isObject ? (parseText(buf, m.start, m.keyEnd) as string) : '';
        const value = await this.container(m.value, valueEnd, depth + 1);
        if (isObject) define(out, key, value);
        else (out as unknown[]).push(value);
      } else {
        if (batchStart < 0) batchStart = m.start;
        batchEnd = valueEnd;
        if (batchEnd - batchStart >= this.leaf) await flush();
      }
      if (next === last) break;
      i = this.space(next + 1, last);
      if (i === last) throw this.error('expected a value after a comma', i);
    }
    await flush();
    return out;
  }

  /**
   * The member of a container starting at `i` (up to `last`, the closing bracket): where it starts, where
   * its key ends (objects), and where its value starts. Not async: one await per member is the scan's.
   */
  private member(i: number, last: number, isObject: boolean): Member {
    const buf = this.buf;
    const start = i;
    let keyEnd = i;
    if (isObject) {
      if (buf[i] !== QUOTE) throw this.error('expected a property name in double quotes', i);
      keyEnd = this.skipString(i, last);
      const colon = this.space(keyEnd, last);
      if (buf[colon] !== COLON) throw this.error("expected ':' after a property name", colon);
      i = this.space(colon + 1, last);
    }
    if (i === last || buf[i] === COMMA || buf[i] === COLON || buf[i] === CLOSE_BRACE || buf[i] === CLOSE_BRACKET) {
      throw this.error('expected a value', i);
    }
    return { start, keyEnd, value: i };
  }

  /** The end of the value starting at `i` (not whitespace), found by scanning, not parsing, up to `end`. */
  private async skip(i: number, end: number): Promise<number> {
    const buf = this.buf;
    const first = buf[i];
    if (first === QUOTE) return this.skipString(i, end);
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      while (i < end && !DELIMITS[buf[i]]) i++;
      return i;
    }
    let depth = 0;
    while (i < end) {
      const stop = Math.min(end, i + SCAN_CHUNK);
      for (; i < stop; i++) {
        const c = buf[i];
        if (c === QUOTE) i = this.skipString(i, end) - 1;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) return i + 1;
      }
      await this.breathe();
    }
    throw this.error('unexpected end of the body: a bracket is not closed', end);
  }

  /** The end of the string whose opening quote is at `i`. */
  private skipString(i: number, end: number): number {
    const buf = this.buf;
    for (let from = i + 1; ;) {
      const q = buf.indexOf(QUOTE, from);
      if (q < 0 || q >= end) throw this.error('unexpected end of the body: a string is not closed', i);
      let k = q - 1;
      while (buf[k] === BACKSLASH) k--;
      if ((q - 1 - k) % 2 === 0) return q + 1; // an even run of backslashes escapes itself, not the quote
      from = q + 1;
    }
  }

  private space(i: number, end: number): number {
    while (i < end && isSpace(this.buf[i])) i++;
    return i;
  }

  private async breathe(): Promise<void> {
    if (performance.now() - this.last < this.sliceMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.last = performance.now();
  }

  private error(what: string, at: number): JsonSyntaxError {
    return new JsonSyntaxError(`${what} at byte ${at} of the body`);
  }
}

/** As JSON.parse sets a property: an own, plain data property, even for `__proto__`. */
function define(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}
