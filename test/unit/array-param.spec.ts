import fc from 'fast-check';
import { arrayLiteral } from '../../src/common/database/array-literal';
import { arrayParam } from '../../src/common/database/array-param';

/** The elements of a one-dimensional binary array, as their bytes (null for NULL), and its header. */
function elements(buf: Buffer): { ndim: number; nulls: number; oid: number; items: Array<Buffer | null> } {
  const ndim = buf.readInt32BE(0);
  const nulls = buf.readInt32BE(4);
  const oid = buf.readUInt32BE(8);
  const items: Array<Buffer | null> = [];
  if (ndim === 0) return { ndim, nulls, oid, items };
  expect(buf.readInt32BE(16)).toBe(1); // lower bound
  let at = 20;
  for (let i = 0; i < buf.readInt32BE(12); i++) {
    const len = buf.readInt32BE(at);
    at += 4;
    items.push(len < 0 ? null : buf.subarray(at, at + len));
    if (len > 0) at += len;
  }
  expect(at).toBe(buf.length);
  return { ndim, nulls, oid, items };
}

describe('arrayParam', () => {
  it('writes a binary array with the element type the statement names, and its NULLs', () => {
    const ints = elements(arrayParam([1, -1, null, 2147483647], 'int') as Buffer);
    expect(ints).toMatchObject({ ndim: 1, nulls: 1, oid: 23 });
    expect(ints.items.map((b) => (b ? b.readInt32BE(0) : null))).toEqual([1, -1, null, 2147483647]);
    expect(elements(arrayParam([1], 'smallint') as Buffer).oid).toBe(21);
    expect(elements(arrayParam(['x'], 'varchar') as Buffer).oid).toBe(1043);
    expect(elements(arrayParam(['x'], 'text') as Buffer)).toMatchObject({ oid: 25, nulls: 0 });
    expect(elements(arrayParam([true, false], 'bool') as Buffer).items).toEqual([Buffer.from([1]), Buffer.from([0])]);
    expect(elements(arrayParam([], 'int') as Buffer)).toEqual({ ndim: 0, nulls: 0, oid: 23, items: [] });
  });

  it('writes ids as int64, from numbers, bigints and decimal texts of any length', () => {
    const ids = elements(arrayParam([7, '-5', '9007199254740993', 12n, '-9223372036854775808'], 'bigint') as Buffer);
    expect(ids.oid).toBe(20);
    expect(ids.items.map((b) => b!.readBigInt64BE(0))).toEqual([7n, -5n, 9007199254740993n, 12n, -(2n ** 63n)]);
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        expect(elements(arrayParam([String(n)], 'bigint') as Buffer).items[0]!.readBigInt64BE(0)).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });

  it('writes times as microseconds since 2000-01-01 UTC, for any time of years 1 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62135596800000, max: 253402300799999 }), (ms) => {
        const [b] = elements(arrayParam([new Date(ms)], 'timestamptz') as Buffer).items;
        expect(b!.readBigInt64BE(0)).toBe(BigInt(ms - 946684800000) * 1000n);
      }),
      { numRuns: 20_000 },
    );
  });

  it('writes texts as their UTF-8, and jsonb after its version byte', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 30 })), (list) => {
        const { items } = elements(arrayParam(list, 'text') as Buffer);
        expect(items.map((b) => b!.toString('utf8'))).toEqual(list.map((s) => Buffer.from(s, 'utf8').toString('utf8')));
      }),
      { numRuns: 2000 },
    );
    const [doc] = elements(arrayParam(['{"a":"é"}'], 'jsonb') as Buffer).items;
    expect(doc![0]).toBe(1);
    expect(doc!.subarray(1).toString('utf8')).toBe('{"a":"é"}');
    expect(elements(arrayParam(['{}'], 'json') as Buffer).items[0]!.toString()).toBe('{}');
  });

  it('sends the list as text (arrayLiteral) when a value is not of the kind its type is written from, or the type is unknown', () => {
    for (const [type, list] of [
      ['text', ['a', 5]],
      ['varchar', [{}]],
      ['int', [1, 2.5]],
      ['int', [2147483648]],
      ['smallint', [40000]],
      ['bigint', ['0x10']],
      ['bigint', ['9223372036854775808']],
      ['bigint', [2 ** 60]],
      ['bigint', ['']],
      ['timestamptz', [new Date(NaN)]],
      ['timestamptz', [new Date('+010000-01-01T00:00:00Z')]],
      ['timestamptz', ['2016-01-01']],
      ['jsonb', [{ a: 1 }]],
      ['bool', [1]],
      ['numeric', [1.5]],
      ['history_status', ['ready']],
      ['constructor', [1]],
      ['__proto__', [1]],
    ] as Array<[string, unknown[]]>) {
      expect(arrayParam(list, type)).toEqual(arrayLiteral(list));
    }
  });
});
