import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { arrayLiteral } from '../../src/common/database/array-literal';
import { selectRows } from '../../src/common/database/sql';
import { DATABASE_URL } from '../support/services';
import { anyTimes, readElements, readTimes } from './array-read-back';

/** What PostgreSQL reads from the literals arrayLiteral writes: the same values, of every type the writer sends. */
describe('arrayLiteral read by PostgreSQL', () => {
  const db = new DataSource({ type: 'postgres', url: DATABASE_URL });
  beforeAll(() => db.initialize());
  afterAll(() => db.destroy());

  /** Each element of `$1::<type>[]` as PostgreSQL reads it, as text (NULL as null), in order. */
  async function readBack(type: string, list: readonly unknown[]): Promise<Array<string | null>> {
    const param = arrayLiteral(list);
    expect(typeof param).toBe('string');
    return readElements(db, type, param);
  }

  it('reads any text back as it was, quotes, backslashes, braces, spaces, NULL and empty strings included', async () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0'));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(text, fc.constantFrom('', 'NULL', 'null', ' ', '{}', '"', '\\', ',', 'a"b\\c')), { maxLength: 30 }),
        async (list) => {
          expect(await readBack('text', list)).toEqual(list);
          expect(await readBack('varchar', list)).toEqual(list);
        },
      ),
      { numRuns: 150 },
    );
    expect(await readBack('text', ['a', null, 'b'])).toEqual(['a', null, 'b']);
  });

  it('reads numbers, ids and booleans back', async () => {
    expect(await readBack('int', [1, -2147483648, 2147483647, null, 0])).toEqual(['1', '-2147483648', '2147483647', null, '0']);
    expect(await readBack('smallint', [100, null])).toEqual(['100', null]);
    expect(await readBack('bigint', ['9007199254740993', 12n, 7])).toEqual(['9007199254740993', '12', '7']);
    expect(await readBack('boolean', [true, false, null])).toEqual(['true', 'false', null]);
  });

  it('reads times back to the millisecond, whatever the session’s time zone', async () => {
    await fc.assert(
      fc.asyncProperty(anyTimes, async (list) => {
        expect(await readTimes(db, arrayLiteral(list))).toEqual(list.map((d) => (d === null ? null : d.getTime())));
      }),
      { numRuns: 60 },
    );
  });

  it('reads JSON texts back as the same documents', async () => {
    const docs = [JSON.stringify({ a: 'say "hi"', b: 'C:\\dir', c: [1, { d: null }] }), '{}', null];
    const rows = await selectRows<{ v: unknown }>(db, `SELECT v FROM unnest($1::jsonb[]) WITH ORDINALITY AS u(v, n) ORDER BY n`, [
      arrayLiteral(docs),
    ]);
    expect(rows.map((r) => r.v)).toEqual(docs.map((d) => (d === null ? null : JSON.parse(d))));
  });
});
