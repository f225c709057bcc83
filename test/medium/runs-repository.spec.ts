import { openStore, report, start, Store } from './history-store';

describe('RunsRepository on real PostgreSQL', () => {
  let store: Store;
  const id = async (uuid: string): Promise<number> => (await store.ds.query(`SELECT id FROM transactions WHERE uuid = $1`, [uuid]))[0].id;
  beforeAll(async () => {
    store = await openStore();
    await store.writer.apply([
      start('r-old', 1, [['1', 'a']], { time: new Date('2026-01-01T00:00:00Z') }),
      start('r-dry', 1, [['1', 'a']], { dryRun: true, time: new Date('2026-01-02T00:00:00Z') }),
      start(
        'r-live',
        1,
        [
          ['1', 'a'],
          ['2', 'a'],
        ],
        { time: new Date('2026-01-03T00:00:00Z') },
      ),
      start('r-other', 2, [['1', 'a']]),
    ]);
    await store.writer.apply([
      report('r-old', [{ nodeId: '1', taskName: 'a', status: 'ready' }], { status: 'ready', time: new Date('2026-01-01T01:00:00Z') }),
    ]);
    await store.writer.apply([report('r-dry', [], { status: 'error', time: new Date('2026-01-02T01:00:00Z') })]);
    // As a read of the REST API does first (PlansMaterialized): the runs' planned tasks stored as pending rows.
    await store.materialize();
  });
  afterAll(() => store?.close());

  it('counts each cluster’s runs, those in progress, its rows and its deployment status', async () => {
    const counts = await store.runs.countsByCluster([1, 2, 3]);
    expect(counts.get(1)).toEqual({
      transactions: 3,
      running: 1,
      last_transaction_id: await id('r-live'),
      last_transaction_status: 'running',
      // The latest real run of the epoch, one in progress first (the dry run does not count).
      deployment_status: 'running',
      history_rows: 4,
    });
    expect(counts.get(2)).toEqual(expect.objectContaining({ transactions: 1, running: 1, history_rows: 1 }));
    expect(counts.get(3)).toBeUndefined();
    expect(await store.runs.countsByCluster([])).toEqual(new Map());
  });

  it('finds and locks runs in the lock order', async () => {
    expect(await store.runs.clusterOf(await id('r-other'))).toBe(2);
    expect(await store.runs.clusterOf(999_999)).toBeUndefined();
    expect(await store.runs.idsOf(store.ds, ['r-old', 'nope'])).toEqual(new Map([['r-old', await id('r-old')]]));
    await store.ds.transaction(async (m) => {
      expect(await store.runs.lockInProgress(m, 1)).toEqual([{ id: await id('r-live'), uuid: 'r-live' }]);
      expect((await store.runs.lockFinishedBefore(m, 1, '2026-01-01T12:00:00Z')).map((r) => r.id)).toEqual([await id('r-old')]);
      expect(await store.runs.inProgressBefore(m, 1, '2026-02-01T00:00:00Z')).toEqual([await id('r-live')]);
      expect((await store.runs.lockFinished(m, [await id('r-old'), await id('r-live')])).map((r) => r.id)).toEqual([await id('r-old')]);
      expect(await store.runs.lockOne(m, await id('r-old'), 2)).toBeUndefined();
      expect(await store.runs.lockOne(m, await id('r-old'), 1)).toEqual({ id: await id('r-old'), uuid: 'r-old', status: 'ready' });
      const [live] = await store.runs.lockForReports(m, ['r-live']);
      expect(live).toEqual(
        expect.objectContaining({ uuid: 'r-live', cluster_id: 1, status: 'running', history_recorded: true, dry_run: false, epoch: 1 }),
      );
    });
  });

  it('reads runs as entities: a list by cluster, status and name, one run, what the upgrade guard needs', async () => {
    expect((await store.runs.list({ cluster_id: 1, statuses: ['ready', 'error'] })).map((t) => t.uuid)).toEqual(['r-old', 'r-dry']);
    expect((await store.runs.list({ transaction_types: ['dry_run_deployment'] })).map((t) => t.uuid)).toEqual(['r-dry']);
    expect((await store.runs.find({ uuid: 'r-live' }))?.id).toBe(await id('r-live'));
    expect(await store.runs.find({ id: 999_999 })).toBeNull();
    expect(await store.runs.located(await id('r-other'))).toEqual({
      id: await id('r-other'),
      clusterId: 2,
      historyRecorded: true,
      release: 'mitaka-9.0',
      lastPlan: null,
    });
    // With it, the highest run id among its cluster's plans (PlanMaterializer's first look), another run's too.
    const other = await id('r-other');
    await store.ds.query(`INSERT INTO run_plans (transaction_id, cluster_id, tasks) VALUES ($1, 2, '{}')`, [other]);
    try {
      expect((await store.runs.located(other))?.lastPlan).toBe(other);
      expect((await store.runs.locatedCluster(2)).lastPlan).toBe(other);
      expect((await store.runs.located(await id('r-old')))?.lastPlan).toBe(
        (await store.ds.query(`SELECT max(transaction_id) AS m FROM run_plans WHERE cluster_id = 1`))[0].m,
      );
    } finally {
      await store.ds.query(`DELETE FROM run_plans WHERE transaction_id = $1`, [other]);
    }
    expect(await store.runs.located(999_999)).toBeNull();
    // A cluster's: its name and release, and the last plan of its runs (none here); no such cluster: null.
    expect(await store.runs.locatedCluster(2)).toEqual({
      cluster: { id: 2, name: expect.any(String), release: 'mitaka-9.0' },
      lastPlan: null,
    });
    expect(await store.runs.locatedCluster(999_999)).toEqual({ cluster: null, lastPlan: null });
    expect(await store.runs.hasRecordedHistory(2)).toBe(true);
    expect(await store.runs.hasRecordedHistory(3)).toBe(false);
  });

  it('links parents that exist', async () => {
    await store.writer.apply([start('r-child', 1, [])]);
    const linked = await store.ds.transaction((m) =>
      store.runs.linkParents(m, [
        { uuid: 'r-child', parent: 'r-old' },
        { uuid: 'r-live', parent: 'missing' },
      ]),
    );
    expect(linked).toEqual(['r-child']);
    const [{ parent_id }] = await store.ds.query(`SELECT parent_id FROM transactions WHERE uuid = 'r-child'`);
    expect(parent_id).toBe(await id('r-old'));
  });

  it('names the finished runs retention may remove, and the space the history takes', async () => {
    expect(await store.runs.retentionCandidates(null, 1)).toEqual([
      { id: await id('r-old'), cluster_id: 1, rows: 1 },
      { id: await id('r-dry'), cluster_id: 1, rows: 1 },
    ]);
    expect(await store.runs.retentionCandidates(1, null)).toEqual([
      { id: await id('r-old'), cluster_id: 1, rows: 1 },
      { id: await id('r-dry'), cluster_id: 1, rows: 1 },
    ]);
    expect(await store.runs.retentionCandidates(100_000, null)).toEqual([]);
    expect(await store.runs.diskBytes()).toBeGreaterThan(0);
  });
});
