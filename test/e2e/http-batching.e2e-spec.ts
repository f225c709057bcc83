import { Client } from 'pg';
import { StoreHealth } from '../../src/common/database/store-health';
import { HttpCastBatcher } from '../../src/receiver/http-batcher';
import { startApp, TestApp } from '../support/app';
import { resp, start, task } from '../support/casts';
import { createTestDatabase } from '../support/database';
import { TcpProxy } from '../support/faults/tcp-proxy';
import { waitFor } from '../support/services';

/**
 * Concurrent POST /casts share database transactions (HttpCastBatcher), each request keeping its own
 * answer. Transactions are counted exactly on the test's own database: a statement trigger on the two
 * tables casts write notes the id of every transaction that wrote them.
 */
const GRAPH = { '1': [{ id: 'a', type: 'puppet' }] };
const CLIENTS = 8;

async function countWritingTransactions(sql: Client): Promise<void> {
  await sql.query(`
    CREATE TABLE test_xacts (x bigint PRIMARY KEY);
    CREATE FUNCTION test_note_xact() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO test_xacts VALUES (txid_current()) ON CONFLICT DO NOTHING; RETURN NULL; END $$;
    CREATE TRIGGER test_xacts_h AFTER INSERT OR UPDATE ON deployment_history FOR EACH STATEMENT EXECUTE FUNCTION test_note_xact();
    CREATE TRIGGER test_xacts_t AFTER INSERT OR UPDATE ON transactions FOR EACH STATEMENT EXECUTE FUNCTION test_note_xact();`);
}
const writingTransactions = async (sql: Client) => Number((await sql.query('SELECT count(*) AS n FROM test_xacts')).rows[0].n);

/** Starts one run per client (one request each), then counts the transactions written from now on. */
async function runsFor(t: { http: TestApp['http'] }, sql: Client, prefix: string, cluster: number): Promise<string[]> {
  const uuids = Array.from({ length: CLIENTS }, (_, i) => `${prefix}-${i}`);
  for (const u of uuids)
    await t
      .http()
      .post('/api/v1/casts')
      .send(start(u, { id: cluster, release: 'mitaka-9.0' }, GRAPH))
      .expect(200);
  await sql.query('TRUNCATE test_xacts');
  return uuids;
}

/**
 * Sends the requests while the first batch is held on a lock of this test, until `waiting` requests are in the
 * batcher: however the machine schedules them, they meet in the batcher (no timing assumed).
 */
async function allWaiting<T>(t: TestApp, waiting: number, send: () => Promise<T>): Promise<T> {
  const locker = new Client({ connectionString: t.databaseUrl });
  await locker.connect();
  try {
    await locker.query('BEGIN; LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE');
    const sent = send();
    await waitFor(() => t.app.get(HttpCastBatcher).waiting === waiting, `${waiting} requests to wait in the batcher`);
    await locker.query('COMMIT');
    return await sent;
  } finally {
    await locker.end();
  }
}

const taskStatus = async (sql: Client, uuid: string) =>
  (
    await sql.query(
      `SELECT h.status FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id WHERE t.uuid = $1 AND h.task_name = 'a'`,
      [uuid],
    )
  ).rows.map((r: { status: string }) => r.status);

describe('HTTP ingest shares the batches', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp();
    await countWritingTransactions(t.sql);
  });
  afterAll(() => t?.close());

  it('8 concurrent clients, one cast per request: fewer transactions than requests, each answered its own outcome', async () => {
    const uuids = await runsFor(t, t.sql, 'share', 50);
    const ids = new Map<string, number>();
    for (const u of uuids) ids.set(u, (await t.sql.query('SELECT id FROM transactions WHERE uuid = $1', [u])).rows[0].id);
    const answers = await allWaiting(t, CLIENTS, () =>
      Promise.all(
        uuids.map((u) =>
          t
            .http()
            .post('/api/v1/casts')
            .send(resp(u, [task('1', 'a', 'running')])),
        ),
      ),
    );
    answers.forEach((a, i) => {
      expect(a.status).toBe(200);
      expect(a.body).toEqual([
        expect.objectContaining({ task_uuid: uuids[i], outcome: 'applied', transaction_id: ids.get(uuids[i]), tasks_applied: 1 }),
      ]);
    });
    const xacts = await writingTransactions(t.sql);
    expect(xacts).toBeGreaterThanOrEqual(1);
    expect(xacts).toBeLessThan(CLIENTS);
    for (const u of uuids) expect(await taskStatus(t.sql, u)).toEqual(['running']);
  });

  it('a malformed request and one naming an unknown run get their own 4xx; their batch-mates are applied', async () => {
    const uuids = await runsFor(t, t.sql, 'mixed', 51);
    const bodies: object[] = uuids.map((u) => resp(u, [task('1', 'a', 'running')]));
    // Request 1: malformed (400 before any batch). Request 2: a good cast of its own run with one of an
    // unknown run: refused whole (404), inside a batch shared with the others.
    bodies[1] = { method: 'transaction_resp', args: { nodes: [] } };
    bodies[2] = [resp(uuids[2], [task('1', 'a', 'running')]), resp('mixed-nowhere', [task('1', 'a', 'running')])];
    // The malformed one never reaches the batcher.
    const answers = await allWaiting(t, CLIENTS - 1, () => Promise.all(bodies.map((b) => t.http().post('/api/v1/casts').send(b))));
    expect(answers.map((a) => a.status)).toEqual([200, 400, 404, 200, 200, 200, 200, 200]);
    expect(answers[2].body).toEqual(
      expect.objectContaining({ statusCode: 404, message: expect.stringMatching(/^casts\[1\]: .*mixed-nowhere/) }),
    );
    for (const i of [0, 3, 4, 5, 6, 7]) {
      expect(answers[i].body).toEqual([expect.objectContaining({ task_uuid: uuids[i], outcome: 'applied', tasks_applied: 1 })]);
      expect(await taskStatus(t.sql, uuids[i])).toEqual(['running']);
    }
    // Nothing of the refused request was applied; the good ones shared transactions.
    await t.materialize();
    expect(await taskStatus(t.sql, uuids[2])).toEqual(['pending']);
    expect(await writingTransactions(t.sql)).toBeLessThan(6);
  });

  it('past the cap of waiting requests: 503, a JSON reason and Retry-After; the waiting ones are applied', async () => {
    const uuids = await runsFor(t, t.sql, 'cap', 53);
    const limits = t.app.get(HttpCastBatcher).limits;
    const saved = limits.requests;
    limits.requests = 2;
    // The first batch blocks on a lock this test holds, so that the others surely find the queue full.
    const locker = new Client({ connectionString: t.databaseUrl });
    await locker.connect();
    try {
      await locker.query('BEGIN; LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE');
      const settled: number[] = [];
      const pending = uuids.map((u) =>
        t
          .http()
          .post('/api/v1/casts')
          .send(resp(u, [task('1', 'a', 'running')]))
          .then((r) => (settled.push(r.status), r)),
      );
      await waitFor(() => settled.length >= CLIENTS - 2, 'the requests past the cap to be answered');
      await locker.query('COMMIT');
      const answers = await Promise.all(pending);
      const busy = answers.filter((a) => a.status === 503);
      expect(busy.length).toBe(CLIENTS - 2);
      expect(answers.filter((a) => a.status === 200).length + busy.length).toBe(CLIENTS);
      for (const a of busy) {
        expect(a.headers['retry-after']).toMatch(/^\d+$/);
        expect(a.body).toEqual({ statusCode: 503, message: expect.stringMatching(/too many casts waiting/) });
      }
      await t.materialize();
      for (const [i, a] of answers.entries()) expect(await taskStatus(t.sql, uuids[i])).toEqual([a.status === 200 ? 'running' : 'pending']);
    } finally {
      limits.requests = saved;
      await locker.end();
    }
  });

  it('the database lost mid-batch: the requests are answered once it is back, everything stored once', async () => {
    const db = await createTestDatabase();
    const proxy = await TcpProxy.start({ host: new URL(db.url).hostname, port: Number(new URL(db.url).port || 5432) });
    const viaProxy = new URL(db.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const app = await startApp({ env: { DATABASE_URL: viaProxy.toString(), BATCH_MAX_WAIT_MS: '100' } });
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    try {
      await countWritingTransactions(sql);
      const uuids = await runsFor(app, sql, 'blink', 52);
      const batcher = app.app.get(HttpCastBatcher);
      const health = app.app.get(StoreHealth);
      // Every request is in the batcher (the first batch held on a lock this test takes directly, not through
      // the proxy) when the database goes away under the batch.
      const locker = new Client({ connectionString: db.url });
      await locker.connect();
      let answers!: Promise<Array<{ status: number; body: unknown }>>;
      try {
        await locker.query('BEGIN; LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE');
        answers = Promise.all(
          uuids.map((u) =>
            app
              .http()
              .post('/api/v1/casts')
              .send(resp(u, [task('1', 'a', 'ready')])),
          ),
        );
        await waitFor(() => batcher.waiting === CLIENTS, 'every request to wait in the batcher');
        await proxy.cut();
        await waitFor(() => !health.available, 'the batch to fail for the database');
        await locker.query('COMMIT');
      } finally {
        await locker.end();
      }
      expect(await writingTransactions(sql)).toBe(0);
      await proxy.open();
      const got = await answers;
      expect(got.map((a) => a.status)).toEqual(uuids.map(() => 200));
      got.forEach((a, i) =>
        expect(a.body).toEqual([expect.objectContaining({ task_uuid: uuids[i], outcome: 'applied', tasks_applied: 1 })]),
      );
      for (const u of uuids) expect(await taskStatus(sql, u)).toEqual(['ready']);
      const rows = await sql.query(`SELECT count(*)::int AS n FROM deployment_history`);
      expect(rows.rows[0].n).toBe(CLIENTS);
      expect(await writingTransactions(sql)).toBeLessThan(CLIENTS);
    } finally {
      await proxy.open();
      await sql.end();
      await app.close();
      await proxy.close();
      await db.drop();
    }
  });
});
