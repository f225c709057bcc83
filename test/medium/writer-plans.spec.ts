import { DataSource, EntityManager } from 'typeorm';
import { HistoryWriter } from '../../src/history/history-writer.service';
import { RUNS_OF_MAX_KEYS } from '../../src/history/persistence/columns';
import { ClusterRegistry } from '../../src/clusters/cluster-registry';
import { RunStarts } from '../../src/history/run-starts';
import { explainingSource, PartitionRead, planNodes } from './explain-plans';
import { openStore, report, start, Store, writerOn } from './history-store';
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
  /** The plan is a generic one, pruned by its parameters' values as it starts (what a prepared small batch runs). */
  generic: boolean;
}

/**
 * A small batch (the HTTP path's: a few casts of a few runs, one database transaction) in a history of many
 * partitions (issue #17). Its statements join the history on rows' keys; planned against every partition
 * (pruned only as they ran), planning was most of what such a batch cost PostgreSQL: 3.2 ms against 0.7 to
 * look up 8 rows at 14 partitions. They are planned against the partition of the batch's runs only, and
 * read it by key: on statistics that do not know the new runs yet, not through a bitmap of the runs' ids.
 * Since 2026-12-01 they are planned once per connection (generic plans, pruned by the values as they run):
 * those are the plans looked at here.
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
    // Their tasks stored as pending rows, as a read of the runs stores them first (PlansMaterialized): what is
    // looked at here is the update of rows that exist (a first report inserts its row otherwise: run-plans.spec.ts).
    await store.materialize();
    seen = [];
    // The writer's statements, reads and writes, planned only (EXPLAIN without ANALYZE: nothing runs twice).
    // A small batch's statements are prepared and planned once (generic plans): those plans are explained.
    const ds = explainingSource(
      store.ds,
      (sql, scans, plan) =>
        seen.push({
          sql: sql.replace(/\s+/g, ' ').slice(0, 50),
          scans,
          generic: planNodes(plan).some((n) => (n['Subplans Removed'] ?? 0) > 0),
        }),
      {
        statements: /^\s*(SELECT|WITH)/i,
        analyze: false,
        prepared: true,
      },
    );
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
      // Generic plans (the batch is small): their other partitions left out as they start, not when planned.
      expect({ sql: e.sql, generic: e.generic }).toEqual({ sql: e.sql, generic: true });
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
    expect(lookup[0].generic).toBe(true);
    expect([...new Set(lookup[0].scans.map((s) => s.partition))]).toEqual([partition]);
  });
});

/**
 * A small batch's statements are prepared (named) on their connection and planned once there: parsing and
 * planning were half of what they cost PostgreSQL on the HTTP path (~8 casts a transaction; issue #17).
 * A bus batch's are not: planned for their values, as a generic plan of hundreds of keys was not safe.
 */
describe('the writer’s statements prepared for small batches only', () => {
  let store: Store;
  let writer: HistoryWriter;
  /** The connection's prepared statements of the writer, read at the end of each of its transactions. */
  let prepared: Array<Array<{ name: string; generic_plans: number; custom_plans: number; statement: string }>>;
  const uuids = [1, 2, 3].map((c) => `prepared-batch-${c}`);
  const NODES = 8;
  const TASKS = 10;

  beforeAll(async () => {
    store = await openStore();
    // One connection, so that each batch runs where the one before prepared its statements.
    const single = new DataSource({ ...store.ds.options, extra: { max: 1 } });
    await single.initialize();
    closeSingle = () => single.destroy();
    prepared = [];
    const ds = new Proxy(single, {
      get(target, prop, receiver) {
        if (prop !== 'transaction') return Reflect.get(target, prop, receiver) as unknown;
        return (work: (m: EntityManager) => Promise<unknown>) =>
          target.transaction(async (m) => {
            const out = await work(m);
            settings.push(
              (
                await m.query<Array<{ mode: string; seqscan: string; jit: string }>>(
                  `SELECT current_setting('plan_cache_mode') AS mode, current_setting('enable_seqscan') AS seqscan, current_setting('jit') AS jit`,
                )
              )[0],
            );
            prepared.push(
              await m.query(
                `SELECT name, generic_plans::int, custom_plans::int, statement FROM pg_prepared_statements WHERE name LIKE 'dh\\_%' ORDER BY name`,
              ),
            );
            return out;
          });
      },
    });
    writer = writerOn(ds, store);
    unprepared = writerOn(ds, store, { databasePreparedStatements: false });
    const tasks: Array<[string, string]> = [];
    for (let n = 1; n <= NODES; n++) for (let t = 1; t <= TASKS; t++) tasks.push([String(n), `task-${t}`]);
    await writer.apply(uuids.map((u, i) => start(u, i + 1, tasks)));
    // Their tasks stored as pending rows, as a read of the runs stores them first: the updates of rows that exist are looked at.
    await store.materialize();
  }, 60_000);
  let closeSingle: () => Promise<void> = async () => undefined;
  /** The writer with DATABASE_PREPARED_STATEMENTS=off (behind a pooler that does not keep them). */
  let unprepared: HistoryWriter;
  /** The planner settings each of the writer's transactions ended with. */
  const settings: Array<{ mode: string; seqscan: string; jit: string }> = [];
  afterAll(async () => {
    await closeSingle();
    await store?.close();
  });

  const small = (status: 'running' | 'ready', task: string) => uuids.map((u) => report(u, [{ nodeId: '1', taskName: task, status }]));

  /** What each statement's counts rose by from one reading of the connection's prepared statements to another. */
  const rise = (from: (typeof prepared)[number], to: (typeof prepared)[number]) =>
    to.flatMap((p) => {
      const was = from.find((f) => f.name === p.name) ?? { generic_plans: 0, custom_plans: 0 };
      const generic = p.generic_plans - was.generic_plans;
      const custom = p.custom_plans - was.custom_plans;
      return generic || custom ? [{ statement: p.statement.replace(/\s+/g, ' ').slice(0, 24), generic, custom }] : [];
    });

  it('prepares a small batch’s statements once and runs them on one generic plan each', async () => {
    const before = prepared.at(-1)!;
    await writer.apply(small('running', 'task-1'));
    const first = prepared.at(-1)!;
    // Planned once, by index, never compiled (a plan kept keeps its JIT decision).
    expect(settings.at(-1)).toEqual({ mode: 'force_generic_plan', seqscan: 'off', jit: 'off' });
    // The clusters' and runs' locks, the rows' lookup and the commit statement: each run once, on a generic plan.
    const statements = ['SELECT h.id, h.transacti', 'SELECT id, name, release', 'SELECT id, uuid, cluster', 'WITH history AS ( UPDATE'];
    expect(rise(before, first).sort((a, b) => a.statement.localeCompare(b.statement))).toEqual(
      statements.map((statement) => ({ statement, generic: 1, custom: 0 })),
    );
    // The same shape twice again (other tasks, same runs): no new statement, each run on its plan again.
    await writer.apply(small('running', 'task-2'));
    await writer.apply(small('running', 'task-3'));
    const third = prepared.at(-1)!;
    expect(third.map((p) => p.name)).toEqual(first.map((p) => p.name));
    expect(rise(first, third).sort((a, b) => a.statement.localeCompare(b.statement))).toEqual(
      statements.map((statement) => ({ statement, generic: 2, custom: 0 })),
    );
    const rows = await store.ds.query<Array<{ status: string; n: number }>>(
      `SELECT h.status, count(*)::int AS n FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE t.uuid = ANY($1) AND h.node_id = '1' AND h.task_name IN ('task-1', 'task-2', 'task-3', 'task-4') GROUP BY 1 ORDER BY 1`,
      [uuids],
    );
    expect(rows).toEqual([
      { status: 'pending', n: 3 },
      { status: 'running', n: 9 },
    ]);
    // Another shape (rows ready: the cluster state written too) is a statement of its own, prepared in turn.
    await writer.apply(small('ready', 'task-1'));
    expect(prepared.at(-1)!.length).toBe(third.length + 1);
    const [{ n }] = await store.ds.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM cluster_state WHERE task_name = 'task-1'`);
    expect(n).toBe(3);
  });

  it('does not prepare a bus batch’s statements', async () => {
    const before = prepared.at(-1)!;
    // 3 runs × 8 nodes × 3 tasks: 72 task reports, past RUNS_OF_MAX_KEYS.
    const reports = uuids.map((u) =>
      report(
        u,
        Array.from({ length: NODES * 3 }, (_, k) => ({
          nodeId: String((k % NODES) + 1),
          taskName: `task-${4 + Math.floor(k / NODES)}`,
          status: 'running' as const,
        })),
      ),
    );
    expect(reports.reduce((n, r) => n + (r.kind === 'report' ? r.tasks.length : 0), 0)).toBeGreaterThan(RUNS_OF_MAX_KEYS);
    await writer.apply(reports);
    expect(prepared.at(-1)).toEqual(before);
    expect(settings.at(-1)).toMatchObject({ mode: 'auto', seqscan: 'on' });
    const [{ n }] = await store.ds.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE t.uuid = ANY($1) AND h.task_name IN ('task-4', 'task-5', 'task-6') AND h.status = 'running'`,
      [uuids],
    );
    expect(n).toBe(72);
  });

  it('prepares nothing with DATABASE_PREPARED_STATEMENTS=off', async () => {
    const before = prepared.at(-1)!;
    await unprepared.apply(small('running', 'task-7'));
    // A shape not seen before (its rows pending until now), all the same nothing new, nothing run by name.
    expect(prepared.at(-1)).toEqual(before);
    const [{ n }] = await store.ds.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE t.uuid = ANY($1) AND h.node_id = '1' AND h.task_name = 'task-7' AND h.status = 'running'`,
      [uuids],
    );
    expect(n).toBe(3);
  });
});
