import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { classifyDbError, DbFailure, isConcurrencyFailure } from '../../src/common/database/db-errors';
import { ClassifyingPool, pgDriver } from '../../src/common/database/pg-driver';
import { createTestDatabase } from '../support/database';
import { DATABASE_URL, freePort, uniqueName, waitFor } from '../support/services';

/**
 * classifyDbError on the errors the real PostgreSQL, the pg driver and TypeORM raise (not on
 * hand-made copies): every failure to get, keep or use a connection is the store's side, whatever
 * its SQLSTATE or message; values PostgreSQL refuses are the content's; a bug is unknown.
 */
jest.setTimeout(60_000);

describe('classifyDbError on real errors', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let ds: DataSource;
  const role = uniqueName('dh_role').toLowerCase();
  const url = (patch: (u: URL) => void) => {
    const u = new URL(db.url);
    patch(u);
    return u.toString();
  };

  /** The error a promise rejects with (failing the test if it resolves). */
  async function failure(p: Promise<unknown>): Promise<unknown> {
    try {
      await p;
    } catch (e) {
      return e;
    }
    throw new Error('expected a failure');
  }

  async function connectError(connectionString: string): Promise<unknown> {
    const c = new Client({ connectionString, connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    const e = await failure(c.connect());
    await c.end().catch(() => undefined);
    return e;
  }

  const expectKind = (e: unknown, kind: DbFailure) =>
    expect({ error: String(e), kind: classifyDbError(e) }).toEqual({ error: String(e), kind });

  beforeAll(async () => {
    db = await createTestDatabase('dh_dberr');
    const c = new Client({ connectionString: db.url });
    await c.connect();
    await c.query(`CREATE TABLE t (id int PRIMARY KEY, name varchar(5), big text)`);
    await c.query(`CREATE INDEX t_big ON t (big)`);
    await c.query(`INSERT INTO t VALUES (1, 'a', 'x'), (2, 'b', 'y')`);
    await c.query(`CREATE ROLE ${role}_nologin NOLOGIN`);
    await c.query(`CREATE ROLE ${role}_limited LOGIN CONNECTION LIMIT 0`);
    await c.end();
    ds = await new DataSource({ type: 'postgres', driver: pgDriver, url: db.url, extra: { max: 2 } }).initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
    const c = new Client({ connectionString: DATABASE_URL });
    await c.connect();
    await c.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`).catch(() => undefined);
    await c.query(`DROP ROLE IF EXISTS ${role}_nologin`);
    await c.query(`DROP ROLE IF EXISTS ${role}_limited`);
    await c.end();
    await db.drop();
  });

  it('connection refused (nothing listens on the port): store', async () => {
    const port = await freePort();
    expectKind(await connectError(url((u) => (u.port = String(port)))), 'store');
  });

  it('database does not exist (3D000): store', async () => {
    const e = await connectError(url((u) => (u.pathname = '/no_such_database_here')));
    expect((e as { code?: string }).code).toBe('3D000');
    expectKind(e, 'store');
  });

  it('role may not log in (28000) and too many connections for a role (53300): store', async () => {
    const nologin = await connectError(url((u) => (u.username = `${role}_nologin`)));
    expect((nologin as { code?: string }).code).toBe('28000');
    expectKind(nologin, 'store');
    const limited = await connectError(url((u) => (u.username = `${role}_limited`)));
    expect((limited as { code?: string }).code).toBe('53300');
    expectKind(limited, 'store');
  });

  it('not accepting connections (55000), at connect and through TypeORM: store', async () => {
    const adm = new Client({ connectionString: DATABASE_URL });
    await adm.connect();
    try {
      await adm.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
      await adm.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [db.name]);
      const e = await connectError(db.url);
      expect((e as { code?: string }).code).toBe('55000');
      expectKind(e, 'store');
      // TypeORM's pool lost its connections: the next query fails to connect (or on the dead socket).
      expectKind(await failure(ds.query('SELECT 1')), 'store');
      expectKind(await failure(ds.transaction((m) => m.query('SELECT 1'))), 'store');
    } finally {
      await adm.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
      await adm.end();
    }
    await waitFor(
      async () =>
        await ds
          .query('SELECT 1')
          .then(() => true)
          .catch(() => false),
      'TypeORM to reconnect',
    );
  });

  it('backend terminated mid-query (57P01), then queries on the dead connection through TypeORM: store', async () => {
    const c = new Client({ connectionString: db.url });
    c.on('error', () => undefined);
    await c.connect();
    const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const sleeping = failure(c.query('SELECT pg_sleep(30)'));
    const adm = new Client({ connectionString: DATABASE_URL });
    await adm.connect();
    await waitFor(
      async () => (await adm.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [pid])).rowCount === 1,
      'the query to run',
    );
    await adm.query('SELECT pg_terminate_backend($1)', [pid]);
    await adm.end();
    const e = await sleeping;
    expect((e as { code?: string }).code).toBe('57P01');
    expectKind(e, 'store');
    await c.end().catch(() => undefined);

    // The same through TypeORM (as the service queries): the dead connection's next query fails with
    // pg's plain "not queryable" Error, wrapped in a QueryFailedError.
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      const [{ pid: other }] = await runner.query('SELECT pg_backend_pid() AS pid');
      const adm2 = new Client({ connectionString: DATABASE_URL });
      await adm2.connect();
      await adm2.query('SELECT pg_terminate_backend($1)', [other]);
      await adm2.end();
      expectKind(await failure(runner.query('SELECT 1')), 'store');
      const again = await failure(runner.query('SELECT 1'));
      expect((again as { driverError?: { code?: unknown } }).driverError?.code).toBeUndefined();
      expectKind(again, 'store');
    } finally {
      await runner.release().catch(() => undefined);
    }
  });

  it('backend terminated under a TypeORM transaction: store', async () => {
    const e = await failure(
      ds.transaction(async (m) => {
        const [{ pid }] = await m.query('SELECT pg_backend_pid() AS pid');
        const adm = new Client({ connectionString: DATABASE_URL });
        await adm.connect();
        await adm.query('SELECT pg_terminate_backend($1)', [pid]);
        await adm.end();
        await m.query('SELECT 1');
      }),
    );
    expectKind(e, 'store');
  });

  it('statement cancelled (57014), read-only transaction (25006): store', async () => {
    expectKind(
      await failure(ds.transaction(async (m) => (await m.query(`SET LOCAL statement_timeout = 50`), m.query('SELECT pg_sleep(2)')))),
      'store',
    );
    expectKind(
      await failure(
        ds.transaction(async (m) => (await m.query('SET TRANSACTION READ ONLY'), m.query(`UPDATE t SET name = 'c' WHERE id = 1`))),
      ),
      'store',
    );
  });

  it('deadlock (40P01) and serialization failure (40001): store', async () => {
    const a = new Client({ connectionString: db.url });
    const b = new Client({ connectionString: db.url });
    await Promise.all([a.connect(), b.connect()]);
    try {
      await a.query('BEGIN');
      await b.query('BEGIN');
      await a.query('UPDATE t SET name = $1 WHERE id = 1', ['a1']);
      await b.query('UPDATE t SET name = $1 WHERE id = 2', ['b2']);
      const results = await Promise.allSettled([
        a.query('UPDATE t SET name = $1 WHERE id = 2', ['a2']),
        b.query('UPDATE t SET name = $1 WHERE id = 1', ['b1']),
      ]);
      const dead = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(dead.reason.code).toBe('40P01');
      expectKind(dead.reason, 'store');
      await a.query('ROLLBACK');
      await b.query('ROLLBACK');

      await a.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      await b.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      await a.query('SELECT count(*) FROM t');
      await b.query('SELECT count(*) FROM t');
      await a.query(`INSERT INTO t VALUES (10, 'x', 'x')`);
      await b.query(`INSERT INTO t VALUES (11, 'y', 'y')`);
      await a.query('COMMIT');
      const e = await failure(b.query('COMMIT'));
      expect((e as { code?: string }).code).toBe('40001');
      expectKind(e, 'store');
    } finally {
      await a.query('ROLLBACK').catch(() => undefined);
      await b.query('ROLLBACK').catch(() => undefined);
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('the pool times out waiting for a connection (no SQLSTATE): store, through the pool TypeORM is given', async () => {
    const pool = new ClassifyingPool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 100 });
    const held = await pool.connect();
    try {
      const e = await failure(pool.query('SELECT 1'));
      expect((e as { code?: string }).code).toBeUndefined();
      expectKind(e, 'store');
    } finally {
      held.release();
      await pool.end();
    }
  });

  it('values PostgreSQL refuses (22001, 22P02, 23505, 54000 index row too large): content', async () => {
    expectKind(await failure(ds.query(`UPDATE t SET name = 'far too long' WHERE id = 1`)), 'content');
    expectKind(await failure(ds.query(`SELECT 'abc'::int`)), 'content');
    expectKind(await failure(ds.query(`INSERT INTO t VALUES (1, 'dup', 'x')`)), 'content');
    // Random, so that compression cannot bring it under the btree's ~2.7 KB per entry.
    const e = await failure(ds.query(`INSERT INTO t VALUES (3, 'z', $1)`, [randomBytes(8000).toString('base64')]));
    expect((e as { code?: string }).code).toBe('54000');
    expectKind(e, 'content');
  });

  it('a partition attached under an insert (23514, no constraint named): a lost race, store; a CHECK constraint (23514 named): content', async () => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`CREATE TABLE p (k int NOT NULL, v int CHECK (v >= 0)) PARTITION BY RANGE (k)`);
      await c.query(`CREATE TABLE p_default PARTITION OF p DEFAULT`);
      await c.query(`CREATE TABLE p_10 (LIKE p INCLUDING ALL)`);
      // The insert routes its row to the DEFAULT partition and waits for it; the attach commits meanwhile.
      await c.query('BEGIN');
      await c.query(`LOCK TABLE p_default IN ACCESS EXCLUSIVE MODE`);
      await c.query(`ALTER TABLE p ATTACH PARTITION p_10 FOR VALUES FROM (10) TO (20)`);
      const inserting = failure(ds.query(`INSERT INTO p (k, v) SELECT * FROM unnest($1::int[], $2::int[])`, [[12], [1]]));
      await waitFor(
        async () =>
          (await c.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'relation'`)).rowCount,
        'the insert to wait for the DEFAULT partition',
      );
      await c.query('COMMIT');
      const e = await inserting;
      expect((e as { driverError?: { code?: string; constraint?: string } }).driverError).toMatchObject({
        code: '23514',
        constraint: undefined,
      });
      expectKind(e, 'store');
      expect(isConcurrencyFailure(e)).toBe(true);
      // The same statement again lands in the partition attached.
      await ds.query(`INSERT INTO p (k, v) SELECT * FROM unnest($1::int[], $2::int[])`, [[12], [1]]);
      expect((await c.query(`SELECT tableoid::regclass::text AS part FROM p`)).rows).toEqual([{ part: 'p_10' }]);

      const check = await failure(ds.query(`INSERT INTO p (k, v) VALUES (12, -1)`));
      expect((check as { driverError?: { code?: string; constraint?: string } }).driverError).toMatchObject({
        code: '23514',
        constraint: 'p_v_check',
      });
      expectKind(check, 'content');
      expect(isConcurrencyFailure(check)).toBe(false);
    } finally {
      await c.query('ROLLBACK').catch(() => undefined);
      await c.end();
    }
  });

  it('the same pool error from a plain pg Pool, or any bare Error of ours: unknown, not an outage', async () => {
    const pool = new Pool({ connectionString: db.url, max: 1, connectionTimeoutMillis: 100 });
    const held = await pool.connect();
    try {
      expectKind(await failure(pool.query('SELECT 1')), 'unknown');
    } finally {
      held.release();
      await pool.end();
    }
    expectKind(new Error('A circular dependency has been detected'), 'unknown');
  });

  it('a bug (an undefined table, a TypeError): unknown', async () => {
    expectKind(await failure(ds.query(`SELECT * FROM no_such_table`)), 'unknown');
    expectKind(new TypeError("Cannot read properties of undefined (reading 'x')"), 'unknown');
  });
});
