import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';

/** Retention: whole finished runs go, runs in progress never, and it says what it removed. */
describe('retention', () => {
  let t: TestApp;
  const graph = { '1': [{ id: 'a' }, { id: 'b' }], '2': [{ id: 'a' }] };

  /** A run on `cluster` that ended `daysAgo` days ago (null: still running). */
  async function run(uuid: string, cluster: number, daysAgo: number | null) {
    const time = new Date(Date.now() - (daysAgo ?? 0) * 86_400_000).toISOString();
    await t
      .http()
      .post('/api/v1/casts')
      .send([start(uuid, { id: cluster, release: 'mitaka-9.0' }, graph, { time }), resp(uuid, [task('1', 'a', 'ready', { time })])])
      .expect(200);
    if (daysAgo !== null)
      await t
        .http()
        .post('/api/v1/casts')
        .send(finish(uuid, 'ready', { time }))
        .expect(200);
  }
  const uuids = async () => (await t.sql.query('SELECT uuid FROM transactions ORDER BY id')).rows.map((r) => r.uuid);

  beforeAll(async () => {
    t = await startApp();
    await run('old-1', 1, 400);
    await run('old-2', 1, 200);
    await run('running-old', 1, null);
    await t.sql.query(`UPDATE transactions SET time_start = now() - interval '500 days' WHERE uuid = 'running-old'`);
    await run('recent-1', 1, 10);
    await run('recent-2', 1, 1);
    await run('other-1', 2, 300);
    await run('other-2', 2, 2);
  });
  afterAll(() => t?.close());

  it('needs a policy: 400 without older_than_days or keep_runs, and for bad values', async () => {
    expect((await t.http().post('/api/v1/retention').expect(400)).body.message).toMatch(/older_than_days and\/or keep_runs/);
    expect((await t.http().post('/api/v1/retention?older_than_days=-1').expect(400)).body.message).toMatch(/older_than_days/);
    expect((await t.http().post('/api/v1/retention?keep_runs=0').expect(400)).body.message).toMatch(/keep_runs/);
  });

  it('reports without removing on a dry run', async () => {
    const res = (await t.http().post('/api/v1/retention?older_than_days=100&dry_run=true').expect(200)).body;
    expect(res).toMatchObject({ dry_run: true, transactions: 3, rows: 9, older_than_days: 100 });
    expect(res.clusters).toEqual([
      { cluster_id: 1, transactions: 2, rows: 6 },
      { cluster_id: 2, transactions: 1, rows: 3 },
    ]);
    expect(await uuids()).toHaveLength(7);
  });

  it('removes finished runs older than the limit, with their rows; never the run in progress', async () => {
    const res = (await t.http().post('/api/v1/retention?older_than_days=100').expect(200)).body;
    expect(res).toMatchObject({ dry_run: false, transactions: 3, rows: 9 });
    expect(res.disk_before_bytes).toBeGreaterThan(0);
    expect(res.disk_after_bytes).toBeGreaterThan(0);
    expect(await uuids()).toEqual(['running-old', 'recent-1', 'recent-2', 'other-2']);
    const orphans = await t.sql.query(
      'SELECT count(*)::int AS n FROM deployment_history WHERE transaction_id NOT IN (SELECT id FROM transactions)',
    );
    expect(orphans.rows[0].n).toBe(0);
  });

  it('keeps only the last N runs of each cluster, counting the run in progress but never removing it', async () => {
    const res = (await t.http().post('/api/v1/retention?keep_runs=1&compact=true').expect(200)).body;
    // Cluster 1: running-old, recent-1, recent-2 → recent-2 is the last; recent-1 goes; running-old stays.
    expect(res).toMatchObject({ transactions: 1, rows: 3 });
    expect(await uuids()).toEqual(['running-old', 'recent-2', 'other-2']);
  });
});
