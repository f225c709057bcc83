import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { selectRows } from '../../src/common/database/sql';

/** Each element of `$1::<type>[]` as PostgreSQL reads it from `param`, as text (NULL as null), in order. */
export async function readElements(db: DataSource, type: string, param: unknown): Promise<Array<string | null>> {
  const rows = await selectRows<{ v: string | null }>(
    db,
    `SELECT v::text AS v FROM unnest($1::${type}[]) WITH ORDINALITY AS u(v, n) ORDER BY n`,
    [param],
  );
  return rows.map((r) => r.v);
}

/** The times of `$1::timestamptz[]` as PostgreSQL reads them in a session of another time zone, in ms since 1970 (NULL as null). */
export async function readTimes(db: DataSource, param: unknown): Promise<Array<number | null>> {
  const rows = await db.transaction(async (m) => {
    await m.query(`SET LOCAL TIME ZONE 'Asia/Kolkata'`);
    return selectRows<{ ms: string | null }>(
      m,
      `SELECT (extract(epoch FROM v) * 1000)::bigint::text AS ms FROM unnest($1::timestamptz[]) WITH ORDINALITY AS u(v, n) ORDER BY n`,
      [param],
    );
  });
  return rows.map((r) => (r.ms === null ? null : Number(r.ms)));
}

/** Lists of times of years 1 to 9999 (what the writer's encoders write), with NULLs. */
export const anyTimes = fc.array(
  fc.option(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })),
  { maxLength: 20 },
);
