import { Client } from 'pg';
import { brokerLock, releaseBroker, useBroker, withBrokerToItself } from '../support/broker-lock';
import { DATABASE_URL } from '../support/services';

/**
 * The lock that keeps a broker restart apart from the test files using the broker while files run in
 * parallel (test/support/broker-lock.ts), seen from another session as another worker would see it.
 */
describe('broker lock between parallel test files', () => {
  let other: Client;
  // A key of its own: files running beside this one hold the real one.
  const KEY = brokerLock.key + 1 + (process.pid % 100_000);
  brokerLock.key = KEY;
  beforeAll(async () => {
    other = new Client({ connectionString: DATABASE_URL });
    await other.connect();
  });
  afterAll(async () => {
    await releaseBroker();
    await other.end();
  });

  const tryLock = async (mode: 'shared' | 'exclusive'): Promise<boolean> => {
    const fn = mode === 'shared' ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
    const got = (await other.query(`SELECT ${fn}($1) AS ok`, [KEY])).rows[0].ok as boolean;
    if (got) await other.query(`SELECT ${mode === 'shared' ? 'pg_advisory_unlock_shared' : 'pg_advisory_unlock'}($1)`, [KEY]);
    return got;
  };

  it('a file using the broker keeps a restart off it until it lets go, and other users in', async () => {
    await useBroker();
    await useBroker(); // once per file
    expect(await tryLock('exclusive')).toBe(false);
    expect(await tryLock('shared')).toBe(true);
    await releaseBroker();
    expect(await tryLock('exclusive')).toBe(true);
  });

  it('a file with the broker to itself keeps every other file off it, its own helpers not, then uses it shared again', async () => {
    await useBroker();
    const during = await withBrokerToItself(async () => {
      await useBroker(); // its own helpers do not wait for it
      return { shared: await tryLock('shared'), exclusive: await tryLock('exclusive') };
    });
    expect(during).toEqual({ shared: false, exclusive: false });
    expect(await tryLock('exclusive')).toBe(false);
    expect(await tryLock('shared')).toBe(true);
  });

  it('a restart waits for another file using the broker, at most its time, and says so', async () => {
    await releaseBroker();
    await other.query('SELECT pg_advisory_lock_shared($1)', [KEY]);
    try {
      await expect(withBrokerToItself(() => Promise.resolve('ran'), 300)).rejects.toThrow(/not free for a restart within 300 ms/);
    } finally {
      await other.query('SELECT pg_advisory_unlock_shared($1)', [KEY]);
    }
    await expect(withBrokerToItself(() => Promise.resolve('ran'), 5000)).resolves.toBe('ran');
  });
});
