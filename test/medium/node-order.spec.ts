import fc from 'fast-check';
import { Client } from 'pg';
import { compareNodes, nodeOrderSql } from '../../src/common/node-order';
import { DATABASE_URL } from '../support/services';

/** The in-memory order (CLI, --watch, page) and the SQL order (API) are one rule: PostgreSQL decides here. */
describe('node order', () => {
  let pg: Client;
  beforeAll(async () => {
    pg = new Client({ connectionString: DATABASE_URL });
    await pg.connect();
  });
  afterAll(() => pg.end());

  const sqlOrder = async (ids: Array<string | null>): Promise<Array<string | null>> => {
    const r = await pg.query<{ id: string | null }>(`SELECT id FROM unnest($1::text[]) AS u(id) ORDER BY ${nodeOrderSql('id')}`, [ids]);
    return r.rows.map((x) => x.id);
  };

  it('puts cluster-level rows first, then master, then nodes by number', async () => {
    const ids = ['11', 'master', '2', null, '1', 'ceph', '100'];
    const expected = [null, 'master', '1', '2', '11', '100', 'ceph'];
    expect([...ids].sort(compareNodes)).toEqual(expected);
    expect(await sqlOrder(ids)).toEqual(expected);
  });

  it('sorts any node ids as PostgreSQL does', async () => {
    const id = fc.oneof(
      fc.constant(null),
      fc.constant('master'),
      fc.integer({ min: 0, max: 100000 }).map(String),
      fc.stringMatching(/^[a-z0-9-]{1,8}$/),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(id, { maxLength: 30 }), async (ids) => {
        expect([...ids].sort(compareNodes)).toEqual(await sqlOrder(ids));
      }),
      { numRuns: 200 },
    );
  });
});
