import fc from 'fast-check';
import { JsonSyntaxError, parseJsonIncrementally } from '../../src/common/http/incremental-json';
import { Admission } from '../../src/common/http/request-body';

/**
 * The parser of large bodies must answer exactly what JSON.parse answers (values, key order, the
 * last of duplicate keys, `__proto__` as an own key), and refuse exactly what it refuses. With a
 * tiny `leafBytes`, every container of these small texts is split, so the splitting itself is what
 * the properties exercise.
 */
const parse = (text: string | Buffer, leafBytes = 8) =>
  parseJsonIncrementally(Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8'), { leafBytes });

/** The outcome of JSON.parse, comparable: the value with its key order, or 'error'. */
function outcome(f: () => unknown): unknown {
  try {
    return shape(f());
  } catch (e) {
    if (e instanceof SyntaxError) return 'error';
    throw e;
  }
}
async function outcomeAsync(p: () => Promise<unknown>): Promise<unknown> {
  try {
    return shape(await p());
  } catch (e) {
    if (e instanceof SyntaxError) return 'error';
    throw e;
  }
}
/** Key order and own properties made visible (toEqual ignores order and treats __proto__ specially). */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return { array: v.map(shape) };
  if (v !== null && typeof v === 'object') {
    const entries = Object.getOwnPropertyNames(v).map((k) => [k, shape((v as Record<string, unknown>)[k])]);
    return { proto: Object.getPrototypeOf(v) === Object.prototype, entries };
  }
  return v;
}

/** JSON texts with whitespace between tokens, duplicate and hostile keys. */
const spaced = fc.constantFrom('', ' ', '\n', '\t ', '\r\n  ');
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom('__proto__', 'constructor', '0', '1', '10', 'a', 'a', 'é', '\u2028', '"', '\\'),
);
const jsonText: fc.Arbitrary<string> = fc
  .letrec<{ value: string; object: string; array: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.jsonValue({ maxDepth: 0 }).map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 8 }).map((s) => JSON.stringify(s)),
      fc.constantFrom('-0', '1e400', '0.1e-2', '"\\ud800"', '"\\u0041\\n"', 'true', 'null'),
      tie('object'),
      tie('array'),
    ),
    object: fc
      .array(fc.tuple(key, tie('value'), spaced, spaced), { maxLength: 6 })
      .map((members) => `{${members.map(([k, v, a, b]) => `${a}${JSON.stringify(k)}${b}:${a}${v}${b}`).join(',')}}`),
    array: fc
      .array(fc.tuple(tie('value'), spaced), { maxLength: 6 })
      .map((items) => `[${items.map(([v, s]) => `${s}${v}${s}`).join(',')}]`),
  }))
  .value.filter((t) => t.startsWith('{') || t.startsWith('['));

const leafArb = fc.integer({ min: 1, max: 32 });

describe('parseJsonIncrementally', () => {
  it('answers what JSON.parse answers, on valid JSON split everywhere', async () => {
    await fc.assert(
      fc.asyncProperty(jsonText, spaced, fc.integer({ min: 1, max: 64 }), async (text, pad, leaf) => {
        const padded = `${pad}${text}${pad}`;
        expect(await outcomeAsync(() => parse(padded, leaf))).toEqual(outcome(() => JSON.parse(padded)));
      }),
      { numRuns: 1500 },
    );
  });

  it('refuses what JSON.parse refuses: valid texts with one byte changed, removed or added', async () => {
    const mutation = fc.record({
      at: fc.nat(),
      how: fc.constantFrom('delete', 'insert', 'replace'),
      byte: fc.constantFrom(...'{}[],:" \\0123456789.-eEtfn\n'.split(''), '\u0000', '\u001f', 'é', 'x'),
    });
    await fc.assert(
      fc.asyncProperty(jsonText, mutation, fc.integer({ min: 1, max: 32 }), async (text, { at, how, byte }, leaf) => {
        const i = at % (text.length + 1);
        const changed = text.slice(0, i) + (how === 'delete' ? '' : byte) + text.slice(i + (how === 'insert' ? 0 : 1));
        // Compared on the bytes a client would send (a lone surrogate left by the change is sent as U+FFFD).
        const bytes = Buffer.from(changed, 'utf8');
        const expected = outcome(() => JSON.parse(bytes.toString('utf8')));
        expect({ changed, got: await outcomeAsync(() => parse(bytes, leaf)) }).toEqual({ changed, got: expected });
      }),
      { numRuns: 3000 },
    );
  });

  it('reads the bytes as a whole-body decode would: any byte inserted (invalid UTF-8 included)', async () => {
    await fc.assert(
      fc.asyncProperty(jsonText, fc.nat(), fc.integer({ min: 0, max: 255 }), leafArb, async (text, at, byte, leaf) => {
        const utf8 = Buffer.from(text, 'utf8');
        const i = at % (utf8.length + 1);
        const bytes = Buffer.concat([utf8.subarray(0, i), Buffer.from([byte]), utf8.subarray(i)]);
        expect({ bytes: bytes.toString('hex'), got: await outcomeAsync(() => parse(bytes, leaf)) }).toEqual({
          bytes: bytes.toString('hex'),
          got: outcome(() => JSON.parse(bytes.toString('utf8'))),
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps JSON.parse semantics the properties may miss: __proto__, duplicates, integer keys, escapes', async () => {
    const text = '{"b":1, "__proto__": {"polluted": true}, "2": [1], "a": {"x": 1}, "b": 2, "1": "\\"}\\\\", "a": [3]}';
    const got = (await parse(text, 4)) as Record<string, unknown>;
    expect(shape(got)).toEqual(shape(JSON.parse(text)));
    expect(Object.keys(got)).toEqual(['1', '2', 'b', '__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
  });

  it('says where a large body is broken, in bytes', async () => {
    const text = `[${Array.from({ length: 1000 }, (_, i) => `{"n":${i}}`).join(',')}]`;
    const broken = `${text.slice(0, 5000)}}${text.slice(5000)}`;
    await expect(parse(broken, 256)).rejects.toThrow(JsonSyntaxError);
    await expect(parse(broken, 256)).rejects.toThrow(/byte (49\d\d|50\d\d)/);
    await expect(parse('[1,2', 1)).rejects.toThrow(JsonSyntaxError);
    await expect(parse('{"a":1} {"b":2}', 1)).rejects.toThrow(JsonSyntaxError);
  });

  it('a body split into many parts: other callbacks run while it is parsed', async () => {
    const tasks = Array.from({ length: 20_000 }, (_, i) => ({ id: `task-${i}`, requires: [`task-${i - 1}`], parameters: { timeout: i } }));
    const text = JSON.stringify(tasks);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const got = await parseJsonIncrementally(Buffer.from(text), { leafBytes: 4096, sliceMs: 1 });
    clearInterval(timer);
    expect(got).toEqual(JSON.parse(text));
    expect(ticks).toBeGreaterThan(0);
  });
});

describe('Admission (the line of large bodies)', () => {
  const never = new AbortController().signal;

  it('lets atOnce in, queues maxWaiting in order, refuses the next; a turn passes on when it ends', async () => {
    const seen: Array<[number, number]> = [];
    const a = new Admission(2, 2, (active, waiting) => seen.push([active, waiting]));
    const first = await a.enter(never)!;
    const second = await a.enter(never)!;
    const order: string[] = [];
    const third = a.enter(never)!.then((end) => (order.push('third'), end));
    const fourth = a.enter(never)!.then((end) => (order.push('fourth'), end));
    expect(a.enter(never)).toBeUndefined();
    expect(seen.at(-1)).toEqual([2, 2]);
    first();
    first(); // a second call changes nothing
    const endThird = await third;
    expect(order).toEqual(['third']);
    expect(seen.at(-1)).toEqual([2, 1]);
    second();
    (await fourth)();
    endThird();
    expect(seen.at(-1)).toEqual([0, 0]);
  });

  it('a waiter whose client left leaves the line', async () => {
    const a = new Admission(1, 1);
    const end = await a.enter(never)!;
    const gone = new AbortController();
    const waiting = a.enter(gone.signal)!;
    expect(a.enter(never)).toBeUndefined();
    gone.abort();
    await expect(waiting).rejects.toThrow(/gone/);
    const next = a.enter(never)!; // its place is free again
    end();
    (await next)();
  });
});
