import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { arrayParam } from '../../src/common/database/array-param';
import { selectRows } from '../../src/common/database/sql';
import { DATABASE_URL } from '../support/services';
import { anyTimes, readElements, readTimes } from './array-read-back';

/**
 * What PostgreSQL reads from the binary arrays arrayParam sends: the same values, of every type the writer's
 * statements name, whatever the session's time zone; and the lists it sends as text are read as before.
 */
describe('arrayParam read by PostgreSQL', () => {
  const db = new DataSource({ type: 'postgres', url: DATABASE_URL });
  beforeAll(() => db.initialize());
  afterAll(() => db.destroy());

  /** Each element of `$1::<type>[]` as PostgreSQL reads it, as text (NULL as null), in order; `binary`: how it was sent. */
  async function readBack(type: string, list: readonly unknown[], binary = true): Promise<Array<string | null>> {
    const param = arrayParam(list, type);
    expect(Buffer.isBuffer(param)).toBe(binary);
    return readElements(db, type, param);
  }

  it('reads any text back as it was: every plane of Unicode, quotes, backslashes, braces, NULL and empty strings', async () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.oneof(text, fc.constantFrom('', 'NULL', ' ', '{}', '"', '\\', ',', 'a"b\\c', 'é ü 中 😀'))), {
          maxLength: 30,
        }),
        async (list) => {
          const expected = list.map((v) => v ?? null);
          expect(await readBack('text', list)).toEqual(expected);
          expect(await readBack('varchar', list)).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads integers, ids and booleans back, at the edges of their types', async () => {
    expect(await readBack('int', [1, -2147483648, 2147483647, null, 0])).toEqual(['1', '-2147483648', '2147483647', null, '0']);
    expect(await readBack('integer', [-1])).toEqual(['-1']);
    expect(await readBack('smallint', [100, -32768, 32767, null])).toEqual(['100', '-32768', '32767', null]);
    const ids = ['9007199254740993', '-9223372036854775808', '9223372036854775807', '999999999999999', '-5', '0', '42'];
    expect(await readBack('bigint', [...ids, 12n, 7, -(2 ** 53) + 1, null])).toEqual([...ids, '12', '7', String(-(2 ** 53) + 1), null]);
    expect(await readBack('boolean', [true, false, null])).toEqual(['true', 'false', null]);
    expect(await readBack('bool', [false])).toEqual(['false']);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { maxLength: 20 }), async (list) => {
        expect(await readBack('bigint', list.map(String))).toEqual(list.map(String));
        expect(await readBack('bigint', list)).toEqual(list.map(String));
      }),
      { numRuns: 50 },
    );
  });

  it('reads times back to the millisecond, whatever the session’s time zone', async () => {
    await fc.assert(
      fc.asyncProperty(anyTimes, async (list) => {
        const param = arrayParam(list, 'timestamptz');
        expect(Buffer.isBuffer(param)).toBe(true);
        expect(await readTimes(db, param)).toEqual(list.map((d) => (d === null ? null : d.getTime())));
      }),
      { numRuns: 60 },
    );
    // To the microsecond around PostgreSQL's epoch and past 2^53 µs after it (from 2285 on), where a product in doubles rounds.
    const edges = [
      '1999-12-31T23:59:59.999Z',
      '2000-01-01T00:00:00.001Z',
      '2285-06-04T23:47:16.855Z',
      '9999-12-31T23:59:59.999Z',
      '0001-01-01T00:00:00.000Z',
    ];
    const us = await selectRows<{ us: string }>(
      db,
      `SELECT ((extract(epoch FROM v) * 1000000)::numeric)::text AS us FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(v, n) ORDER BY n`,
      [
        arrayParam(
          edges.map((t) => new Date(t)),
          'timestamptz',
        ),
      ],
    );
    expect(us.map((r) => BigInt(r.us.replace(/\.0*$/, '')))).toEqual(edges.map((t) => BigInt(new Date(t).getTime()) * 1000n));
  });

  it('reads JSON texts back as the same documents, as jsonb and as json', async () => {
    const docs = [JSON.stringify({ a: 'say "hi"', b: 'C:\\dir', c: [1, { d: null }], e: 'é 中 😀 \n\t' }), '{}', '[]', null];
    for (const type of ['jsonb', 'json']) {
      const param = arrayParam(docs, type);
      expect(Buffer.isBuffer(param)).toBe(true);
      const rows = await selectRows<{ v: unknown }>(db, `SELECT v FROM unnest($1::${type}[]) WITH ORDINALITY AS u(v, n) ORDER BY n`, [
        param,
      ]);
      expect(rows.map((r) => r.v)).toEqual(docs.map((d) => (d === null ? null : JSON.parse(d))));
    }
  });

  it('sends an empty list, and a list of NULLs only', async () => {
    for (const type of ['int', 'bigint', 'text', 'varchar', 'timestamptz', 'jsonb', 'boolean', 'smallint']) {
      expect(await readBack(type, [])).toEqual([]);
      expect(await readBack(type, [null, undefined])).toEqual([null, null]);
    }
  });

  it('sends as text, read as before, the lists it does not write binary', async () => {
    // A number in a text column, a fraction in an int one, a time past year 9999, a type it does not know.
    expect(await readBack('text', ['a', 5], false)).toEqual(['a', '5']);
    expect(await readBack('numeric', [1.5, null], false)).toEqual(['1.5', null]);
    await expect(readBack('int', [1, 2.5], false)).rejects.toThrow(/invalid input syntax for type integer/);
    expect(await readBack('timestamptz', [new Date('+010000-01-01T00:00:00Z'), null], false)).toHaveLength(2);
    await expect(readBack('bigint', ['9223372036854775808'], false)).rejects.toThrow(/out of range/);
  });
});
