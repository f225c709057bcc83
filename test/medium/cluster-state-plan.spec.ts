import { ClusterStateRepository } from '../../src/history/persistence/cluster-state.repository';
import { explainingSource, PlanNode, planNodes } from './explain-plans';
import { openStore, Store } from './history-store';
import { seedSpreadHistory } from './spread-history';

/** 14 partitions of 100 runs, 10 clusters in turn, 60 rows a run. */
const SHAPE = { runs: 1400, clusters: 10, nodes: 6, tasks: 10, partitionRuns: 100, firstRun: 2000 };
const CLUSTER = 3;
/** Entries of another cluster (a large run's, as the benchmark's 200 × 150 run leaves): the table the state is read from. */
const OTHER_ENTRIES = 30_000;

/**
 * The cluster state (GET /clusters/:id/state) is a lookup: the cluster's entries by their key, each entry's
 * row by its primary key in its run's partition. In the 10,000-run benchmark it read p95 38–46 ms (target 20
 * ms) where the statement takes 0.3 ms: with the history in partitions of 100,000 rows, the planner costs
 * each entry's row lookup as a probe of every partition, and took a parallel sequential scan of
 * cluster_state (27 MB after a million upserts) for the cheaper plan: two workers started for a 100-row
 * answer, ~10 ms on 2 busy cores. The read now runs through the indexes (common/database/planner.ts).
 * That plan needs partitions of ~100,000 rows to appear (a minute or two of seeding), so this test does not
 * reproduce it: it keeps the read's plan what it must be at a scale the suite affords (the benchmark's
 * `cluster_state` read is the measure of the defect). The statement is the repository's own, explained on
 * its connection and in its transaction.
 */
describe('the cluster state read', () => {
  let store: Store;
  let plans: PlanNode[];
  let state: ClusterStateRepository;

  beforeAll(async () => {
    store = await openStore();
    await seedSpreadHistory(store.ds, SHAPE);
    const q = (sql: string) => store.ds.query(sql);
    // The state as the writer leaves it: per cluster, epoch and (node, task), its last ready row.
    await q(`INSERT INTO cluster_state (cluster_id, epoch, node_id, task_name, transaction_id, history_id, time_end)
      SELECT DISTINCT ON (h.cluster_id, t.epoch, h.node_id, h.task_name) h.cluster_id, t.epoch, h.node_id, h.task_name, h.transaction_id, h.id, h.time_end
      FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id WHERE h.status = 'ready'
      ORDER BY h.cluster_id, t.epoch, h.node_id, h.task_name, h.time_end DESC, h.id DESC`);
    // A large run's entries on another cluster, each replaced a few times as its rows become ready (not HOT: indexed columns change).
    await q(`INSERT INTO cluster_state (cluster_id, epoch, node_id, task_name, transaction_id, history_id, time_end)
      SELECT 1, 1, 'big-' || (i % 200), 'task-' || (i / 200), 2001, i, now() FROM generate_series(1, ${OTHER_ENTRIES}) i`);
    for (let n = 0; n < 6; n++) await q(`UPDATE cluster_state SET history_id = history_id + 1000000 WHERE cluster_id = 1 AND epoch = 1`);
    await q(`VACUUM (ANALYZE) cluster_state`);
    state = new ClusterStateRepository(explainingSource(store.ds, (_sql, _reads, plan) => plans.push(plan)));
  }, 180_000);
  afterAll(() => store?.close());
  beforeEach(() => {
    plans = [];
  });

  it('finds the cluster’s entries by their key and their rows by theirs, without parallel workers', async () => {
    const rows = await state.current(CLUSTER, {});
    expect(rows.length).toBe(SHAPE.nodes * SHAPE.tasks);
    expect(plans).toHaveLength(1);
    const nodes = planNodes(plans[0]);
    const stateScans = nodes.filter((n) => n['Relation Name'] === 'cluster_state').map((n) => n['Node Type']);
    expect(stateScans).toEqual([expect.stringMatching(/Index|Bitmap/)]);
    expect(nodes.map((n) => n['Node Type'])).not.toContain('Gather');
  });
});
