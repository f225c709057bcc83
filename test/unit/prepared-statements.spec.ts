import { EntityManager, QueryFailedError, QueryRunnerAlreadyReleasedError } from 'typeorm';
import { runsOf } from '../../src/history/persistence/columns';
import { classifyDbError, RetryableWriteError } from '../../src/common/database/db-errors';
import { PREPARED_PER_CONNECTION, preparedStatements, statementName } from '../../src/common/database/prepared';

/** A pg client that records what it is sent and answers like pg (rows, command, rowCount). */
function fakeClient(fail?: Error) {
  const sent: Array<{ name?: string; text: string; values: unknown[] }> = [];
  return {
    sent,
    query: (q: { name?: string; text: string; values: unknown[] }) => {
      sent.push(q);
      if (fail) return Promise.reject(fail);
      const command = q.text.split(' ')[0];
      return Promise.resolve({ command, rows: [{ x: 1 }], rowCount: 1 });
    },
  };
}

function managerOn(client: object | undefined, logged: string[] = [], isReleased = false): EntityManager {
  return {
    queryRunner: client ? { databaseConnection: client, isReleased } : undefined,
    connection: { logger: { logQueryError: (e: Error, q: string) => logged.push(`${e.message}: ${q}`) } },
    query: () => Promise.resolve('the manager itself'),
  } as unknown as EntityManager;
}

describe('preparedStatements', () => {
  it('sends each text under its digest’s name, the same name for the same text', async () => {
    const client = fakeClient();
    const q = preparedStatements(managerOn(client));
    await q.query('SELECT $1::int', [1]);
    await q.query('SELECT $1::int', [2]);
    await q.query('SELECT $1::text', ['a']);
    expect(client.sent.map((s) => s.name)).toEqual([
      statementName('SELECT $1::int'),
      statementName('SELECT $1::int'),
      statementName('SELECT $1::text'),
    ]);
    expect(client.sent.map((s) => s.values)).toEqual([[1], [2], ['a']]);
    // A name PostgreSQL takes (at most 63 bytes), not the text's.
    expect(statementName('SELECT 1'.repeat(1000)).length).toBeLessThanOrEqual(63);
    expect(statementName('SELECT 1')).not.toEqual(statementName('SELECT 2'));
  });

  it('answers as TypeORM’s query does: rows, or [rows, count] for UPDATE and DELETE', async () => {
    const q = preparedStatements(managerOn(fakeClient()));
    expect(await q.query('SELECT 1', [])).toEqual([{ x: 1 }]);
    expect(await q.query('UPDATE t SET x = 1', [])).toEqual([[{ x: 1 }], 1]);
    expect(await q.query('DELETE FROM t', [])).toEqual([[{ x: 1 }], 1]);
    expect(await q.query('INSERT INTO t VALUES (1)', [])).toEqual([{ x: 1 }]);
  });

  it('names at most PREPARED_PER_CONNECTION statements per connection, then sends them unnamed', async () => {
    const client = fakeClient();
    const other = fakeClient();
    const q = preparedStatements(managerOn(client));
    for (let i = 0; i < PREPARED_PER_CONNECTION + 5; i++) await q.query(`SELECT ${i}`, []);
    expect(client.sent.filter((s) => s.name).length).toBe(PREPARED_PER_CONNECTION);
    expect(client.sent.slice(PREPARED_PER_CONNECTION).every((s) => s.name === undefined)).toBe(true);
    // A statement named before keeps its name; another connection has its own share.
    await q.query('SELECT 0', []);
    expect(client.sent.at(-1)!.name).toBe(statementName('SELECT 0'));
    await preparedStatements(managerOn(other)).query(`SELECT ${PREPARED_PER_CONNECTION + 1}`, []);
    expect(other.sent[0].name).toBe(statementName(`SELECT ${PREPARED_PER_CONNECTION + 1}`));
  });

  it('fails as TypeORM’s query does: a QueryFailedError around the driver’s error, logged', async () => {
    const driverError = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    const logged: string[] = [];
    const q = preparedStatements(managerOn(fakeClient(driverError), logged));
    const failure = await q.query('SELECT 1', []).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QueryFailedError);
    expect((failure as QueryFailedError).driverError).toBe(driverError);
    expect(logged).toEqual(['deadlock detected: SELECT 1']);
  });

  it('takes a named statement its connection no longer holds as sent for the store’s side: run again, unnamed there', async () => {
    for (const [code, routine] of [
      ['26000', 'FetchPreparedStatement'],
      ['42P05', 'StorePreparedStatement'],
      ['0A000', 'RevalidateCachedQuery'],
    ]) {
      const stale = Object.assign(new Error(`stale ${code}`), { code, routine });
      const client = fakeClient(stale);
      const q = preparedStatements(managerOn(client));
      const failure = await q.query('SELECT 1', []).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(RetryableWriteError);
      expect(classifyDbError(failure)).toBe('store');
      // The transaction run again on that connection: its statements now unnamed, and a failure of an unnamed
      // statement is what it is (not about prepared statements): a QueryFailedError of its own code.
      const again = await preparedStatements(managerOn(client))
        .query('SELECT 1', [])
        .catch((e: unknown) => e);
      expect(client.sent.map((s) => s.name)).toEqual([statementName('SELECT 1'), undefined]);
      expect(again).toBeInstanceOf(QueryFailedError);
      expect(classifyDbError(again)).not.toBe('store');
    }
  });

  it('takes another “feature not supported” of a named statement for what it is', async () => {
    const unsupported = Object.assign(new Error('not supported'), { code: '0A000', routine: 'transformSelectStmt' });
    const client = fakeClient(unsupported);
    const failure = await preparedStatements(managerOn(client))
      .query('SELECT 1', [])
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QueryFailedError);
    await preparedStatements(managerOn(client))
      .query('SELECT 1', [])
      .catch(() => undefined);
    // Still named: the connection's statements were not found stale.
    expect(client.sent.map((s) => s.name)).toEqual([statementName('SELECT 1'), statementName('SELECT 1')]);
  });

  it('sends nothing once the transaction’s connection was given back', async () => {
    const client = fakeClient();
    const failure = await preparedStatements(managerOn(client, [], true))
      .query('SELECT 1', [])
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QueryRunnerAlreadyReleasedError);
    expect(client.sent).toEqual([]);
  });

  it('is the manager itself where there is no transaction’s connection', async () => {
    const m = managerOn(undefined);
    expect(preparedStatements(m)).toBe(m);
  });
});

describe('runsOf', () => {
  it('names each run once, padded to a power of two with the last run (a few texts for prepared statements)', () => {
    const params: unknown[] = [];
    expect(runsOf('h', [7, 7, 8, 9], params)).toBe(
      '(h.transaction_id = $1::int OR h.transaction_id = $2::int OR h.transaction_id = $3::int OR h.transaction_id = $4::int)',
    );
    expect(params).toEqual([7, 8, 9, 9]);
    const sizes = [1, 2, 3, 5, 8, 9, 33, 64].map(
      (n) =>
        runsOf(
          'h',
          Array.from({ length: n }, (_, i) => i + 1),
          [],
        ).split(' OR ').length,
    );
    expect(sizes).toEqual([1, 2, 4, 8, 8, 16, 64, 64]);
    expect(
      runsOf(
        'h',
        Array.from({ length: 65 }, (_, i) => i),
        [],
      ),
    ).toBe('TRUE');
  });
});
