import { finish, start } from '../support/casts';
import { startApp, TestApp } from '../support/app';

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
