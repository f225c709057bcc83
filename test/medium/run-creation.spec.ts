import { EntityManager } from 'typeorm';
import { HistoryWriter } from '../../src/history/history-writer.service';
import type { StoreCommand } from '../../src/history/store-commands';
import { PlanNode, planNodes } from './explain-plans';
import { openStore, start, Store, writerOn } from './history-store';

/**
 * A bus batch that starts many runs (issue #17): how its statements read what they are sent. Under the
 * writer's planner settings (no hash or merge joins: lookUpByIndexes) a run's pending rows matched to their
 * run by uuid were read again for every run of the batch (a nested loop: 70 runs of 100 tasks read
 * 490,000 rows of the list or of the runs to insert 7,000), most of what creating runs cost PostgreSQL.
 */
describe('runs created by a bus batch', () => {
  let store: Store;
  /** Each statement that creates runs or their rows, with its plan (EXPLAIN ANALYZE, then rolled back). */
  const plans: Array<{ sql: string; plan: PlanNode }> = [];
  let writer: HistoryWriter;
  const RUNS = 70;
  const NODES = 5;
  const TASKS = 20;
  const uuid = (k: number) => `created-${k}`;

  beforeAll(async () => {
    store = await openStore();
    const explained = new Proxy(store.ds, {
      get(target, prop, receiver) {
        if (prop !== 'transaction') return Reflect.get(target, prop, receiver) as unknown;
        return (work: (m: EntityManager) => Promise<unknown>) =>
          target.transaction((m) => {
            const query = async (sql: string, params?: unknown[]) => {
              if (/INSERT INTO (transactions|deployment_history|run_nodes|node_task_definitions|run_snapshots)\b/.test(sql)) {
                await m.query('SAVEPOINT explained');
                const [{ 'QUERY PLAN': plan }] = await m.query<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(
                  `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`,
                  params,
                );
                await m.query('ROLLBACK TO SAVEPOINT explained');
                plans.push({ sql, plan: plan[0].Plan });
              }
              return m.query(sql, params);
            };
            return work(new Proxy(m, { get: (t, p, r) => (p === 'query' ? query : (Reflect.get(t, p, r) as unknown)) }));
          });
      },
    });
    writer = writerOn(explained, store);
  }, 60_000);
  afterAll(() => store?.close());

  it('reads each list it is sent once, whatever the number of runs', async () => {
    const commands: StoreCommand[] = [];
    for (let k = 0; k < RUNS; k++) {
      const tasks: Array<[string | null, string]> = [];
      for (let n = 1; n <= NODES; n++) for (let t = 1; t <= TASKS; t++) tasks.push([String(n), `task-${t}`]);
      const c = start(uuid(k), (k % 7) + 1, tasks, {
        nodes: Array.from({ length: NODES }, (_, n) => ({ uid: String(n + 1), roles: ['compute'], hostname: `node-${n + 1}` })),
        snapshots: { settings: '{"a":1}' },
      });
      if (c.kind === 'start') c.start.nodeDefinitions = [{ nodeId: '1', taskName: 'task-1', json: `{"id":"task-1","run":${k}}` }];
      commands.push(c);
    }
    const outcomes = await writer.apply(commands);
    expect(outcomes.map((o) => o.outcome)).toEqual(commands.map(() => 'started'));
    expect(outcomes.map((o) => ('rows' in o ? o.rows : null))).toEqual(commands.map(() => NODES * TASKS));

    // What was written: every run with its plan (no pending row: those are stored when read), nodes, definition and snapshot.
    const count = (): Promise<
      Array<{ runs: number; planned: number; rows: number; nodes: number; definitions: number; snapshots: number }>
    > =>
      store.ds.query(
        `SELECT (SELECT count(*) FROM transactions WHERE uuid LIKE 'created-%')::int AS runs,
              (SELECT sum(jsonb_array_length(p.tasks)) FROM run_plans p JOIN transactions t ON t.id = p.transaction_id WHERE t.uuid LIKE 'created-%')::int AS planned,
              (SELECT count(*) FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id WHERE t.uuid LIKE 'created-%')::int AS rows,
              (SELECT count(*) FROM run_nodes)::int AS nodes,
              (SELECT count(*) FROM node_task_definitions d JOIN transactions t ON t.id = d.transaction_id AND d.definition->>'run' = substr(t.uuid, 9))::int AS definitions,
              (SELECT count(*) FROM run_snapshots)::int AS snapshots`,
      );
    const [written] = await count();
    expect(written).toEqual({
      runs: RUNS,
      planned: RUNS * NODES * TASKS,
      rows: 0,
      nodes: RUNS * NODES,
      definitions: RUNS,
      snapshots: RUNS,
    });
    // Read, each planned task is a pending row.
    const plannedOnly = plans.length;
    await store.materialize();
    const [read] = await count();
    expect(read).toEqual({
      runs: RUNS,
      planned: null,
      rows: RUNS * NODES * TASKS,
      nodes: RUNS * NODES,
      definitions: RUNS,
      snapshots: RUNS,
    });
    plans.splice(plannedOnly);

    // How: each list sent (unnest, jsonb_to_recordset...) and each set of rows written read once, not once
    // per run or per row.
    expect(plans.length).toBeGreaterThan(0);
    const rescanned = plans.flatMap(({ sql, plan }) =>
      planNodes(plan)
        .filter((n) => ['Function Scan', 'CTE Scan'].includes(n['Node Type']) && (n['Actual Loops'] ?? 1) > 1)
        .map(
          (n) =>
            `${(n as PlanNode & { Alias?: string }).Alias} read ${n['Actual Loops']} times in ${sql.replace(/\s+/g, ' ').slice(0, 60)}`,
        ),
    );
    expect(rescanned).toEqual([]);
  });

  it('writes a (node, task) listed twice in a run’s graph once, with the first one’s type', async () => {
    const c = start('created-twice', 1, [
      ['1', 'a'],
      [null, 'b'],
      ['1', 'a'],
      [null, 'b'],
    ]);
    if (c.kind === 'start') c.start.tasks = c.start.tasks.map((t, i) => ({ ...t, type: i < 2 ? 'first' : 'second' }));
    const [outcome] = await writer.apply([c]);
    expect(outcome).toMatchObject({ outcome: 'started', rows: 2 });
    await store.materialize();
    const rows = await store.ds.query<Array<{ node_id: string | null; task_name: string; task_type: string }>>(
      `SELECT h.node_id, h.task_name, h.task_type FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE t.uuid = 'created-twice' ORDER BY h.id`,
    );
    expect(rows).toEqual([
      { node_id: '1', task_name: 'a', task_type: 'first' },
      { node_id: null, task_name: 'b', task_type: 'first' },
    ]);
  });
});
