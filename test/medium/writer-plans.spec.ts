import { HistoryWriter } from '../../src/history/history-writer.service';
import { ClusterRegistry } from '../../src/clusters/cluster-registry';
import { RunStarts } from '../../src/history/run-starts';
import { explainingSource, PartitionRead } from './explain-plans';
import { openStore, report, start, Store } from './history-store';
import { seedSpreadHistory } from './spread-history';

/**
 * A history of 8 partitions of 50 runs (4 clusters, 60 rows a run), the last one three-fifths full, where
 * the runs below come: a partition with rows the statistics know, and new runs they do not.
 */
const SHAPE = { runs: 380, clusters: 4, nodes: 6, tasks: 10, partitionRuns: 50, firstRun: 2000 };

interface Explained {
  sql: string;
  /** The partitions of deployment_history in the plan, with how each is scanned. */
  scans: PartitionRead[];
}

/**
 * A small batch (the HTTP path's: a few casts of a few runs, one database transaction) in a history of many
 * partitions (issue #17). Its statements join the history on rows' keys; planned against every partition
 * (pruned only as they ran), planning was most of what such a batch cost PostgreSQL: 3.2 ms against 0.7 to
 * look up 8 rows at 14 partitions. They are planned against the partition of the batch's runs only, and
 * read it by key: on statistics that do not know the new runs yet, not through a bitmap of the runs' ids.
 */
describe('the writer’s statements for a small batch in a partitioned history', () => {
  let store: Store;
  let writer: HistoryWriter;
  let seen: Explained[];
  const uuids = [1, 2, 3, 4].map((c) => `small-batch-${c}`);

  beforeAll(async () => {
    store = await openStore();
    await seedSpreadHistory(store.ds, SHAPE);
    // The new runs after the statistics (seedSpreadHistory analyzes): the planner knows nothing of them.
    await store.writer.apply(
      uuids.map((u, i) =>
        start(u, i + 1, [
          ['1', 'task-1'],
          ['2', 'task-1'],
          [null, 'task-9'],
        ]),
      ),
    );
    seen = [];
    // The writer's statements, reads and writes, planned only (EXPLAIN without ANALYZE: nothing runs twice).
    const ds = explainingSource(store.ds, (sql, scans) => seen.push({ sql: sql.replace(/\s+/g, ' ').slice(0, 50), scans }), {
      statements: /^\s*(SELECT|WITH)/i,
      analyze: false,
    });
    writer = new HistoryWriter(
      ds,
      new RunStarts(new ClusterRegistry(store.ds), store.runs, store.changes),
      store.runs,
      store.rows,
      store.state,
      store.changes,
    );
  }, 120_000);
  afterAll(() => store?.close());
  beforeEach(() => seen.splice(0));

  /** The partition that holds the batch's runs. */
  async function runsPartition(): Promise<string[]> {
    const rows = await store.ds.query<Array<{ p: string }>>(
      `SELECT DISTINCT h.tableoid::regclass::text AS p FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id WHERE t.uuid = ANY($1)`,
      [uuids],
    );
    return rows.map((r) => r.p);
  }

  it('holds its runs in one partition of many (what the plans below are about)', async () => {
    const partitions = await store.ds.query<unknown[]>(`SELECT 1 FROM pg_inherits WHERE inhparent = 'deployment_history'::regclass`);
    expect(partitions.length).toBeGreaterThanOrEqual(SHAPE.runs / SHAPE.partitionRuns);
    expect(await runsPartition()).toHaveLength(1);
  });

  it('looks up the rows reported on, node and cluster level, in their runs’ partition only, by key', async () => {
    const [partition] = await runsPartition();
    await writer.apply(
      uuids.map((u) =>
        report(u, [
          { nodeId: '1', taskName: 'task-1', status: 'running' },
          { nodeId: null, taskName: 'task-9', status: 'running' },
        ]),
      ),
    );
    const lookup = seen.filter((e) => e.sql.startsWith('SELECT h.id'));
    const write = seen.filter((e) => e.sql.startsWith('WITH history AS'));
    expect(lookup).toHaveLength(1);
    expect(write).toHaveLength(1);
    for (const e of [...lookup, ...write]) {
      expect({ sql: e.sql, partitions: [...new Set(e.scans.map((s) => s.partition))] }).toEqual({ sql: e.sql, partitions: [partition] });
      for (const s of e.scans) expect({ sql: e.sql, scan: s.scan }).toEqual({ sql: e.sql, scan: 'Index Scan' });
    }
    // And the batch did what it says.
    const statuses = await store.ds.query<Array<{ status: string }>>(
      `SELECT h.status FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE t.uuid = ANY($1) AND h.task_name IN ('task-1', 'task-9') AND h.node_id IS DISTINCT FROM '2'`,
      [uuids],
    );
    expect(statuses.map((r) => r.status)).toEqual(new Array(8).fill('running'));
  });

  it('closes out a run that ends: its open rows read in its partition only', async () => {
    const [partition] = await runsPartition();
    await writer.apply([report(uuids[0], [], { status: 'error', message: 'stopped by the test', time: new Date('2026-01-01T10:02:00Z') })]);
    const lookup = seen.filter((e) => e.sql.startsWith('SELECT h.id'));
    expect(lookup).toHaveLength(1);
    expect([...new Set(lookup[0].scans.map((s) => s.partition))]).toEqual([partition]);
  });
});
