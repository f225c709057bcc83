import { Client } from 'pg';
import { ClusterRegistry } from '../../src/clusters/cluster-registry';
import { Metrics } from '../../src/common/metrics/metrics.service';
import { HistoryPartitions } from '../../src/history/persistence/partitions';
import { RetentionService } from '../../src/history/retention.service';
import { RunDeletion } from '../../src/history/run-deletion.service';
import type { AppConfig } from '../../src/common/config/app-config';
import { openStore, report, start, Store } from './history-store';

/** Runs per partition in these tests: small, so that a few runs span several partitions. */
const SIZE = 10;

/** The history partitions on a real database: kept ahead of the runs, the DEFAULT partition as the net, retention by whole ranges. */
describe('history partitions', () => {
  let store: Store;
  let partitions: HistoryPartitions;
  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> => store.ds.query(sql, params);
  const attached = async () => (await partitions.list()).map((p) => `${p.lo}-${p.hi}`);
  const inDefault = async () => (await q<{ n: number }>(`SELECT count(*)::int AS n FROM deployment_history_default`))[0].n;
  /** Sets the runs' id sequence so that the next run gets `next`. */
  const nextRunId = (next: number) => q(`SELECT setval('transactions_id_seq', $1, false)`, [next]);

  beforeEach(async () => {
    store = await openStore();
    partitions = new HistoryPartitions(store.ds, { historyPartitionRuns: SIZE });
  });
  afterEach(() => store?.close());

  it('creates partitions two ranges ahead of the last run id given out, and nothing when they exist', async () => {
    // The migration made [0, 1000) and [1000, 2000) on an empty database.
    expect(await attached()).toEqual(['0-1000', '1000-2000']);
    await nextRunId(2015);
    expect(await partitions.keepAhead()).toBe(4);
    expect(await attached()).toEqual(['0-1000', '1000-2000', '2000-2010', '2010-2020', '2020-2030', '2030-2040']);
    expect(await partitions.keepAhead()).toBe(0);
    // Each new partition is a history table like the others: fillfactor 80, the parent's indexes.
    const [opts] = await q<{ reloptions: string[] }>(`SELECT reloptions FROM pg_class WHERE relname = 'deployment_history_p2010'`);
    expect(opts.reloptions).toEqual(['fillfactor=80']);
    const indexes = await q<{ n: number }>(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'deployment_history_p2010'`);
    expect(indexes[0].n).toBe(4);
  });

  it('takes turns with another instance creating the same partitions: each range once, no error', async () => {
    const other = new HistoryPartitions(store.ds, { historyPartitionRuns: SIZE });
    await nextRunId(2100);
    const made = await Promise.all([partitions.keepAhead(), other.keepAhead(), partitions.keepAhead()]);
    expect(made[0] + made[1]).toBe(12);
    const ranges = await partitions.list();
    expect(ranges.map((p) => p.lo)).toEqual([0, 1000, ...Array.from({ length: 12 }, (_, k) => 2000 + k * SIZE)]);
    for (let k = 1; k < ranges.length; k++) expect(ranges[k].lo).toBe(ranges[k - 1].hi);
  });

  it('keeps the rows of a run created past the partitions in the DEFAULT partition, then moves them into their partition', async () => {
    await nextRunId(2030);
    await store.writer.apply([
      start('far', 1, [
        ['1', 'a'],
        ['2', 'a'],
        [null, 'b'],
      ]),
    ]);
    await store.writer.apply([report('far', [{ nodeId: '1', taskName: 'a', status: 'ready' }])]);
    await store.materialize();
    const before = await q(`SELECT id, row_version, status FROM deployment_history ORDER BY id`);
    expect(await inDefault()).toBe(3);
    await partitions.keepAhead();
    expect(await inDefault()).toBe(0);
    expect(await attached()).toContain('2030-2040');
    expect(await q(`SELECT id, row_version, status FROM deployment_history_p2030 ORDER BY id`)).toEqual(before);
    // The run's rows are still its, and written as before.
    await store.writer.apply([report('far', [{ nodeId: '2', taskName: 'a', status: 'error' }])]);
    expect((await store.rows.statuses((await q<{ id: number }>(`SELECT id FROM transactions WHERE uuid = 'far'`))[0].id)).length).toBe(3);
  });

  it('is told each new run by the writer’s starts, and adds partitions ahead in the background', async () => {
    // A writer whose starts tell this keeper (as the service wires them).
    const { RunStarts } = await import('../../src/history/run-starts');
    const { HistoryWriter } = await import('../../src/history/history-writer.service');
    const writer = new HistoryWriter(
      store.ds,
      new RunStarts(store.registry, store.runs, store.changes, partitions),
      store.runs,
      store.rows,
      store.state,
      store.changes,
    );
    await partitions.keepAhead();
    await nextRunId(1995);
    await writer.apply([start('near-the-end', 1, [['1', 'a']])]);
    const deadline = Date.now() + 10_000;
    while (!(await attached()).includes('2010-2020') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await attached()).toEqual(['0-1000', '1000-2000', '2000-2010', '2010-2020']);
  });

  describe('retention', () => {
    let retention: RetentionService;
    const OLD = new Date('2020-01-01T00:00:00Z');
    const RECENT = new Date();

    /** Runs `from`..`to` (ids), on clusters 1 and 2 in turn, two rows each, finished at `ended` (null: still running). */
    async function runs(from: number, to: number, ended: Date | null) {
      await nextRunId(from);
      for (let id = from; id <= to; id++) {
        const uuid = `run-${id}`;
        await store.writer.apply([
          start(
            uuid,
            1 + (id % 2),
            [
              ['1', 'a'],
              ['2', 'a'],
            ],
            { time: ended ?? RECENT },
          ),
        ]);
        if (ended) {
          await store.writer.apply([
            report(uuid, [{ nodeId: '1', taskName: 'a', status: 'ready', time: ended }], { status: 'ready', time: ended }),
          ]);
        }
      }
    }
    // [0, 1000) and [1000, 2000) hold no run and every id of theirs was given out (setval): they go too.
    const EMPTY = ['deployment_history_p0', 'deployment_history_p1000'];
    const EMPTY_AND_WHOLE = [...EMPTY, 'deployment_history_p2000'];
    const left = async () => (await q<{ id: number }>(`SELECT id FROM transactions ORDER BY id`)).map((r) => r.id);
    const exists = async (table: string) => (await q(`SELECT 1 FROM pg_class WHERE relname = $1`, [table])).length > 0;

    beforeEach(async () => {
      const config = { retentionIntervalMinutes: 60 } as AppConfig;
      const deletion = new RunDeletion(store.ds, new ClusterRegistry(store.ds), new Metrics(), store.changes);
      retention = new RetentionService(store.runs, config, deletion, partitions);
      await nextRunId(2000);
      await partitions.keepAhead();
      // 2000-2009: all old (a whole range); 2010-2014 old, 2015 old but still running, 2016-2019 recent (a mixed range);
      // 2020-2021 old: their range [2020, 2030) has ids not given out yet (a new run may still take one): row by row.
      await runs(2000, 2014, OLD);
      await runs(2015, 2015, null);
      await q(`UPDATE transactions SET time_start = $1 WHERE id = 2015`, [OLD]);
      await runs(2016, 2019, RECENT);
      await runs(2020, 2021, OLD);
      // The running run's tasks stored as pending rows, as a read stores them first (PlansMaterialized).
      await store.materialize();
      // Runs past the partitions kept ahead went to the DEFAULT partition (this writer does not tell the keeper): moved out now.
      await partitions.keepAhead();
      expect(await inDefault()).toBe(0);
    });

    it('reports on a dry run the partitions it would drop, and drops none', async () => {
      const res = await retention.apply({ olderThanDays: 100 }, { dryRun: true, compact: false });
      expect(res).toMatchObject({ dry_run: true, transactions: 17, rows: 34, partitions_dropped: EMPTY_AND_WHOLE });
      expect(await exists('deployment_history_p2000')).toBe(true);
      expect(await left()).toHaveLength(22);
    });

    it('drops a range whose runs all go with its partition, and deletes the runs of the other ranges row by row', async () => {
      const res = await retention.apply({ olderThanDays: 100 }, { dryRun: false, compact: false });
      expect(res).toMatchObject({ dry_run: false, transactions: 17, rows: 34, partitions_dropped: EMPTY_AND_WHOLE });
      expect(res.clusters).toEqual([
        { cluster_id: 1, transactions: 9, rows: 18 },
        { cluster_id: 2, transactions: 8, rows: 16 },
      ]);
      expect(res.disk_after_bytes).toBeLessThan(res.disk_before_bytes);
      // The whole range's table is gone (detached and dropped), the boundary ranges stay with their remaining runs.
      expect(await exists('deployment_history_p2000')).toBe(false);
      expect(await attached()).toEqual(['2010-2020', '2020-2030', '2030-2040', '2040-2050']);
      expect(await left()).toEqual([2015, 2016, 2017, 2018, 2019]);
      const rows = await q<{ transaction_id: number; n: number }>(
        `SELECT transaction_id, count(*)::int AS n FROM deployment_history GROUP BY 1 ORDER BY 1`,
      );
      expect(rows.map((r) => r.transaction_id)).toEqual([2015, 2016, 2017, 2018, 2019]);
      // What the removed runs held elsewhere went with them: no entry of the state, snapshot or node points at a removed run or row.
      for (const table of ['cluster_state', 'run_snapshots', 'node_task_definitions', 'run_nodes']) {
        const orphans = await q<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${table} x WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = x.transaction_id)`,
        );
        expect({ table, n: orphans[0].n }).toEqual({ table, n: 0 });
      }
      const dangling = await q<{ n: number }>(
        `SELECT count(*)::int AS n FROM cluster_state s WHERE NOT EXISTS (SELECT 1 FROM deployment_history h WHERE h.id = s.history_id)`,
      );
      expect(dangling[0].n).toBe(0);
      // Writes go on in the ranges that stay, and a run of the dropped range is unknown.
      await store.writer.apply([report('run-2016', [{ nodeId: '2', taskName: 'a', status: 'ready' }])]);
      expect((await store.rows.statuses(2016)).find((r) => r.node_id === '2')?.status).toBe('ready');
      expect(await store.runs.find({ uuid: 'run-2003' })).toBeNull();
    });

    it('leaves a range whole when one of its runs no longer goes (here: kept by keep_runs)', async () => {
      const res = await retention.apply({ keepRuns: 7 }, { dryRun: false, compact: false });
      // The last 7 runs of each cluster stay: from 2008 (cluster 1, even ids) and 2009 (cluster 2) on; 2000-2007 go row by row.
      expect(res.partitions_dropped).toEqual(EMPTY);
      expect(res.transactions).toBe(8);
      expect((await left())[0]).toBe(2008);
      expect(await exists('deployment_history_p2000')).toBe(true);
    });

    it('never queues for its locks: while a reader holds the table, writes go on and the range goes row by row', async () => {
      const reader = new Client({ connectionString: store.url });
      await reader.connect();
      try {
        // A long read (ACCESS SHARE on the table): a DETACH that waited for it would hold every writer back behind it.
        await reader.query(`BEGIN; SELECT count(*) FROM deployment_history`);
        const pass = retention.apply({ olderThanDays: 100 }, { dryRun: false, compact: false });
        const writing = Date.now();
        await store.writer.apply([report('run-2017', [{ nodeId: '2', taskName: 'a', status: 'ready' }])]);
        const wrote = Date.now() - writing;
        const res = await pass;
        expect(wrote).toBeLessThan(res.seconds * 1000);
        // Its range could not go whole (its locks never came free): its runs went row by row all the same.
        expect(res.partitions_dropped).not.toContain('deployment_history_p2000');
        expect(res).toMatchObject({ transactions: 17, rows: 34 });
        expect(await left()).toEqual([2015, 2016, 2017, 2018, 2019]);
      } finally {
        await reader.query('ROLLBACK').catch(() => undefined);
        await reader.end();
      }
    }, 60_000);

    it('does not wait for writers of the runs table: with no foreign key to it, partitions are made, detached and dropped without locking it', async () => {
      // A writer of runs mid-transaction (ROW EXCLUSIVE on transactions, as every batch of the writer holds
      // until it commits). The locks on transactions were for deployment_history's foreign key (migration
      // HistoryWithoutRunForeignKey dropped it): taken anyway, each partition change waited for a moment
      // with no such writer, and here, never finding one, gave up.
      // A table that still references transactions, as a partition detached before that migration (it kept its
      // copy of the key): made before the writer begins, since making it needs the lock too.
      await q(`CREATE TABLE deployment_history_p9000 (transaction_id int REFERENCES transactions (id))`);
      const writer = new Client({ connectionString: store.url });
      await writer.connect();
      try {
        await writer.query(`BEGIN; UPDATE transactions SET progress = progress WHERE id = 2016`);
        await nextRunId(2045);
        expect(await attached()).not.toContain('2050-2060');
        expect(await partitions.keepAhead()).toBe(2);
        expect(await attached()).toContain('2060-2070');
        const res = await retention.apply({ olderThanDays: 100 }, { dryRun: false, compact: false });
        // Every id below 2045 given out: [2020, 2030) (two old runs) and [2030, 2040) (none) are whole now too.
        expect(res.partitions_dropped).toEqual([...EMPTY_AND_WHOLE, 'deployment_history_p2020', 'deployment_history_p2030']);
        expect(await exists('deployment_history_p2000')).toBe(false);
        // The table with the key is dropped only when the lock its key needs is free: not while the writer holds it.
        expect(await exists('deployment_history_p9000')).toBe(true);
        await expect(partitions.dropLeftovers()).rejects.toMatchObject({ code: '55P03' });
        expect(await exists('deployment_history_p9000')).toBe(true);
        await writer.query('COMMIT');
        expect(await partitions.dropLeftovers()).toEqual(['deployment_history_p9000']);
      } finally {
        await writer.query('ROLLBACK').catch(() => undefined);
        await writer.end();
      }
    }, 60_000);

    it('drops a partition left detached by an earlier pass', async () => {
      await q(`ALTER TABLE deployment_history DETACH PARTITION deployment_history_p1000`);
      await retention.apply({ olderThanDays: 100 }, { dryRun: false, compact: false });
      expect(await exists('deployment_history_p1000')).toBe(false);
    });
  });

  it('is a partitioned table whose unique key and lookups by run stay in one partition', async () => {
    const sql = new Client({ connectionString: store.url });
    await sql.connect();
    try {
      const plan = await sql.query(`EXPLAIN (COSTS OFF) SELECT * FROM deployment_history WHERE transaction_id = 5`);
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).toMatch(/deployment_history_p0/);
      expect(text).not.toMatch(/deployment_history_p1000|deployment_history_default/);
    } finally {
      await sql.end();
    }
  });
});
