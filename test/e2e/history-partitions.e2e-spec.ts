import { Client } from 'pg';
import { clientQueryable } from '../../src/common/database/sql';
import { attachRange, CREATION_LOCK_KEY } from '../../src/history/persistence/partitions';
import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { waitFor } from '../support/services';

/**
 * The history's partitions in the running service (issue #17): new runs keep partitions ahead of them
 * (the writer's starts tell the keeper), so their rows never wait in the DEFAULT partition; retention
 * over HTTP drops a whole range and says so.
 */
describe('history partitions in the service', () => {
  let t: TestApp;
  const graph = { '1': [{ id: 'a' }, { id: 'b' }] };
  const ranges = async () =>
    (
      await t.sql.query(
        `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'deployment_history'::regclass AND c.relname <> 'deployment_history_default' ORDER BY c.relname`,
      )
    ).rows.map((r) => r.relname as string);

  beforeAll(async () => {
    t = await startApp({ env: { HISTORY_PARTITION_RUNS: '10' } });
  });
  afterAll(() => t?.close());

  it('creates partitions ahead of the runs as they are started, and retention drops a range whole', async () => {
    // Runs 1995..2024: past the migration's [0, 2000), in ranges of 10 the keeper makes.
    await t.sql.query(`SELECT setval('transactions_id_seq', 1994)`);
    const time = new Date(Date.now() - 400 * 86_400_000).toISOString();
    for (let k = 0; k < 30; k++) {
      const uuid = `p-${k}`;
      await t
        .http()
        .post('/api/v1/casts')
        .send([start(uuid, { id: 1 + (k % 2), release: 'mitaka-9.0' }, graph, { time }), finish(uuid, 'ready', { time })])
        .expect(200);
    }
    const deadline = Date.now() + 20_000;
    while (!(await ranges()).includes('deployment_history_p2040') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await ranges()).toEqual(
      expect.arrayContaining(['deployment_history_p2000', 'deployment_history_p2010', 'deployment_history_p2020']),
    );
    // Created as they were needed: the keeper was told by the starts, well before its 30 s timer.
    const strays = await t.sql.query(`SELECT count(*)::int AS n FROM deployment_history_default`);
    expect(strays.rows[0].n).toBe(0);

    const res = (await t.http().post('/api/v1/retention?older_than_days=100').expect(200)).body;
    expect(res).toMatchObject({ transactions: 30, rows: 60 });
    // [0, 1000) holds no run (its ids given out by setval), [1000, 2000) runs 1995-1999, [2000, 2010) and
    // [2010, 2020) only runs that go: dropped whole; [2020, 2030) still has ids to give out: its runs row by row.
    expect(res.partitions_dropped).toEqual([
      'deployment_history_p0',
      'deployment_history_p1000',
      'deployment_history_p2000',
      'deployment_history_p2010',
    ]);
    expect((await t.sql.query(`SELECT count(*)::int AS n FROM transactions`)).rows[0].n).toBe(0);
    expect(await ranges()).not.toContain('deployment_history_p2000');
  });
});

/**
 * A partition attached while the service writes rows of its range (the CI run of 2026-12-01 saw a
 * 500, "new row for relation deployment_history_default violates partition constraint", when a run
 * started while its range's partition was being attached). The test attaches the range itself, as the
 * keeper does (attachRange), and holds the attach open until the service's write waits for it: the
 * write must then land as if the partition had always been there. Seen in a probe before the fix: a
 * report on rows that the attach moved out of the DEFAULT partition was read as "no such row" (a query
 * planned with the partitions of before), and was lost.
 */
describe('a partition attached while the service writes rows of its range', () => {
  let t: TestApp;
  let keeper: Client;
  const graph = { '1': [{ id: 'a' }, { id: 'b' }] };
  const rowsOf = async (run: number) =>
    (
      await t.sql.query(
        `SELECT tableoid::regclass::text AS part, task_name, status FROM deployment_history WHERE transaction_id = $1 ORDER BY task_name`,
        [run],
      )
    ).rows;

  /** Starts run `id` past the partitions (the keeper held out): its rows wait in the DEFAULT partition. */
  async function strayRun(id: number, uuid: string): Promise<void> {
    await t.sql.query(`SELECT setval('transactions_id_seq', $1)`, [id - 1]);
    await t
      .http()
      .post('/api/v1/casts')
      .send([start(uuid, { id: 1, release: 'mitaka-9.0' }, graph)])
      .expect(200);
    // Its tasks stored as pending rows, as a read stores them first (PlansMaterialized).
    await t.materialize();
    expect(await rowsOf(id)).toEqual([
      { part: 'deployment_history_default', task_name: 'a', status: 'pending' },
      { part: 'deployment_history_default', task_name: 'b', status: 'pending' },
    ]);
  }

  /** Attaches [lo, lo + 10) in a transaction of the test's, runs `write` meanwhile, commits once the write waits for it; the write's answer. */
  async function duringAttach<T>(lo: number, write: () => Promise<T>): Promise<T> {
    await keeper.query('BEGIN');
    try {
      await attachRange(clientQueryable(keeper), lo, lo + 10);
      const answer = write();
      await waitFor(
        async () =>
          (
            await t.sql.query(
              `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'relation'`,
            )
          ).rows[0].n > 0,
        "the service's write to wait for the attach",
      );
      await keeper.query('COMMIT');
      return await answer;
    } catch (e) {
      await keeper.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  beforeAll(async () => {
    t = await startApp({ env: { HISTORY_PARTITION_RUNS: '10' } });
    keeper = new Client({ connectionString: t.databaseUrl });
    await keeper.connect();
    // The service's own keeper kept out (it takes this lock before creating a partition): the test attaches.
    await keeper.query('SELECT pg_advisory_lock($1)', [CREATION_LOCK_KEY]);
  });
  afterAll(async () => {
    await keeper?.end();
    await t?.close();
  });

  it('applies a report on rows the DEFAULT partition held when their partition was attached', async () => {
    await strayRun(5000, 'stray-1');
    const res = await duringAttach(5000, async () =>
      t
        .http()
        .post('/api/v1/casts')
        .send([resp('stray-1', [task('1', 'a', 'ready')])]),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject([{ outcome: 'applied' }]);
    expect(await rowsOf(5000)).toEqual([
      { part: 'deployment_history_p5000', task_name: 'a', status: 'ready' },
      { part: 'deployment_history_p5000', task_name: 'b', status: 'pending' },
    ]);
  });

  it("answers a run's history read while its rows move into their partition", async () => {
    await strayRun(5020, 'stray-2');
    const res = await duringAttach(5020, async () => t.http().get('/api/v1/transactions/5020/deployment_history'));
    expect(res.status).toBe(200);
    expect(res.body.map((r: { task_name: string }) => r.task_name).sort()).toEqual(['a', 'b']);
  });

  it('stores a run’s tasks from its plan while its range is attached (a run started, then read)', async () => {
    await t.sql.query(`SELECT setval('transactions_id_seq', 5029)`);
    // A start writes the run and its plan, no history row: nothing of the history's partitions to wait for.
    await t
      .http()
      .post('/api/v1/casts')
      .send([start('during-1', { id: 1, release: 'mitaka-9.0' }, graph)])
      .expect(200);
    // The read stores its tasks as pending rows first (PlansMaterialized): that write waits for the attach.
    const res = await duringAttach(5030, async () => t.http().get('/api/v1/transactions/5030/deployment_history'));
    expect(res.status).toBe(200);
    expect(res.body.map((r: { task_name: string; status: string }) => [r.task_name, r.status]).sort()).toEqual([
      ['a', 'pending'],
      ['b', 'pending'],
    ]);
    expect(await rowsOf(5030)).toEqual([
      { part: 'deployment_history_p5030', task_name: 'a', status: 'pending' },
      { part: 'deployment_history_p5030', task_name: 'b', status: 'pending' },
    ]);
  });
});
