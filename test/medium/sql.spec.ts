import { DataSource } from 'typeorm';
import { execute, selectOne, selectRows } from '../../src/common/database/sql';
import { DATABASE_URL } from '../support/services';

/** TypeORM answers UPDATE/DELETE with [rows, count] and everything else with rows: one reader for both. */
describe('sql helpers on real PostgreSQL', () => {
  const db = new DataSource({ type: 'postgres', url: DATABASE_URL });
  beforeAll(() => db.initialize());
  afterAll(() => db.destroy());

  it('reads rows and counts of every kind of statement', async () => {
    await db.transaction(async (m) => {
      expect(await execute(m, 'CREATE TEMP TABLE t_probe (id int PRIMARY KEY, v text) ON COMMIT DROP')).toEqual({ rows: [], count: 0 });
      expect(await execute(m, `INSERT INTO t_probe VALUES (1, 'a'), (2, 'b'), (3, 'c')`)).toEqual({ rows: [], count: 0 });
      expect(await execute<{ id: number }>(m, `INSERT INTO t_probe VALUES (4, 'd') RETURNING id`)).toEqual({ rows: [{ id: 4 }], count: 1 });
      expect(await selectRows<{ id: number }>(m, 'SELECT id FROM t_probe WHERE id <= $1 ORDER BY id', [2])).toEqual([{ id: 1 }, { id: 2 }]);
      expect(await selectOne<{ v: string }>(m, 'SELECT v FROM t_probe WHERE id = $1', [3])).toEqual({ v: 'c' });
      expect(await selectOne(m, 'SELECT v FROM t_probe WHERE id = $1', [99])).toBeUndefined();
      expect(await execute(m, `UPDATE t_probe SET v = 'x' WHERE id > 1`)).toEqual({ rows: [], count: 3 });
      expect(await execute<{ id: number }>(m, `UPDATE t_probe SET v = 'y' WHERE id = 1 RETURNING id`)).toEqual({
        rows: [{ id: 1 }],
        count: 1,
      });
      expect(await execute(m, 'DELETE FROM t_probe WHERE id IN (1, 2)')).toEqual({ rows: [], count: 2 });
      expect(await selectRows<{ id: number }>(m, 'DELETE FROM t_probe WHERE id = 3 RETURNING id')).toEqual([{ id: 3 }]);
    });
  });
});
