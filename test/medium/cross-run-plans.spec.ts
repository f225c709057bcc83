import { InsightsRepository, RunRef } from '../../src/history/persistence/insights.repository';
import { RunStatsCache } from '../../src/history/persistence/run-stats-cache';
import { openStore, Store } from './history-store';
import { explainingSource, PartitionRead } from './explain-plans';
import { seedSpreadHistory } from './spread-history';

/** The history's shape here: 8 partitions of 100 runs, 10 clusters in turn, 60 rows a run (48,000 rows). */
const SHAPE = { runs: 800, clusters: 10, nodes: 6, tasks: 10, partitionRuns: 100, firstRun: 2000 };
/** The cluster whose runs are read: a tenth of each partition's runs. */
const CLUSTER = 3;

/**
 * The reads across many runs (flaky tasks, task statistics, regressions) in a history partitioned by
 * ranges of run ids (issue #17). A cluster's runs are a small share of each partition's: read through
 * the indexes, each partition gives its share; read by Seq Scan, every partition is read whole, which at
 * 10,000 runs took the flaky read over all runs from ~50 ms to ~300 ms. The statements are the
 * repository's own (each is explained, then run, on the connection and in the transaction it runs in).
 */
describe('reads across runs in the partitioned history', () => {
  let store: Store;
  let plans: Map<string, PartitionRead[][]>;
  let insights: InsightsRepository;
  let runs: RunRef[];
  let partitionRows: Map<string, number>;

  beforeAll(async () => {
    store = await openStore();
    await seedSpreadHistory(store.ds, SHAPE);
    partitionRows = new Map(
      (await store.ds.query(`SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM deployment_history GROUP BY 1`)).map(
        (r: { partition: string; n: number }) => [r.partition, r.n],
      ),
    );
    const explaining = explainingSource(store.ds, (sql, reads) => {
      const key = sql.replace(/\s+/g, ' ').slice(0, 60);
      plans.set(key, [...(plans.get(key) ?? []), reads]);
    });
    insights = new InsightsRepository(explaining, new RunStatsCache(explaining, store.cache));
    runs = await insights.lastRuns(CLUSTER, 'all', 1000);
  }, 120_000);
  afterAll(() => store?.close());
  beforeEach(() => {
    plans = new Map();
  });

  /** The `statements` history statements explained so far each read at least `minPartitions` partitions, each through an index and only its share of it. */
  function expectIndexReads(statements: number, minPartitions: number): void {
    expect(plans.size).toBe(statements);
    for (const [sql, reads] of plans) {
      for (const read of reads) {
        const partitions = read.filter((r) => partitionRows.has(r.partition) && partitionRows.get(r.partition)! > 0);
        expect({ sql, partitions: partitions.length >= minPartitions }).toEqual({ sql, partitions: true });
        for (const r of partitions) {
          // The right reason: what is asked is at most a tenth or so of the partition...
          expect(r.rows).toBeLessThanOrEqual(partitionRows.get(r.partition)! * 0.15);
          // ... and it is read as such, not by reading the whole partition.
          expect({ sql, partition: r.partition, scan: r.scan }).toEqual({
            sql,
            partition: r.partition,
            scan: expect.not.stringMatching(/Seq Scan/),
          });
        }
      }
    }
  }

  it('spreads the cluster’s runs over every partition (what the reads below are about)', () => {
    expect(runs.length).toBe(SHAPE.runs / SHAPE.clusters);
    expect(new Set(runs.map((r) => Math.floor(r.id / SHAPE.partitionRuns))).size).toBe(SHAPE.runs / SHAPE.partitionRuns);
  });

  it('flaky tasks over all the cluster’s runs: each partition through its index', async () => {
    expect((await insights.flakyCounts(runs)).length).toBeGreaterThan(0);
    expectIndexReads(1, SHAPE.runs / SHAPE.partitionRuns);
  });

  it('task statistics, built from the rows the first time and filtered by task: each partition through its index', async () => {
    expect((await insights.taskStatsRows({ clusterId: CLUSTER, epoch: 'all' })).rows.length).toBeGreaterThan(0);
    expect((await insights.taskStatsRows({ clusterId: CLUSTER, epoch: 'all', tasks_names: ['task-1'] })).rows.length).toBeGreaterThan(0);
    // The kept rows built from the history, and the rows of one task read from it.
    expectIndexReads(2, SHAPE.runs / SHAPE.partitionRuns);
  });

  it('regressions’ baseline rows (the runs before one): through the indexes', async () => {
    expect((await insights.rowsOf(runs.slice(-40), { names: ['task-1', 'task-2'] })).length).toBeGreaterThan(0);
    expectIndexReads(1, 4);
  });
});
