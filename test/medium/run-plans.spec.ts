import { HistoryWriter } from '../../src/history/history-writer.service';
import { PlanMaterializer } from '../../src/history/plans-materialized';
import { RunChanges } from '../../src/history/persistence/run-changes';
import { RunStarts } from '../../src/history/run-starts';
import { openStore, report, start, Store } from './history-store';

interface Row {
  node_id: string | null;
  task_name: string;
  task_type: string | null;
  status: string;
  created_at: Date;
  closed_reason: string | null;
}

/**
 * Issue #17: a run's tasks are kept as its plan (run_plans), not as pending rows written at its start and
 * written again at their first report. A task's row is stored at its first report, with the type and
 * creation time its pending row had; the tasks never reported are stored as pending rows from the plan when
 * the run ends (and are closed out as before), when the history is read, when the run is deleted.
 */
describe('a run’s plan instead of its pending rows', () => {
  let store: Store;
  const T = (s: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, s));
  beforeAll(async () => {
    store = await openStore();
  });
  afterAll(() => store?.close());

  const idOf = async (uuid: string): Promise<number> => (await store.ds.query(`SELECT id FROM transactions WHERE uuid = $1`, [uuid]))[0].id;
  const rowsOf = (id: number): Promise<Row[]> =>
    store.ds.query(
      `SELECT node_id, task_name, task_type, status, created_at, closed_reason FROM deployment_history WHERE transaction_id = $1 ORDER BY id`,
      [id],
    );
  const planOf = async (id: number): Promise<{ created_at: Date; tasks: unknown } | undefined> =>
    (await store.ds.query(`SELECT created_at, tasks FROM run_plans WHERE transaction_id = $1`, [id]))[0];
  /** A start whose tasks have types of their own (typed by name). */
  const typedStart = (uuid: string, cluster: number, tasks: Array<[string | null, string]>) => {
    const c = start(uuid, cluster, tasks);
    if (c.kind === 'start') c.start.tasks = c.start.tasks.map((t) => ({ ...t, type: `type-${t.taskName}` }));
    return c;
  };

  it('stores a run’s plan at its start and no row; the first report stores its row with the plan’s type and time', async () => {
    const [outcome] = await store.writer.apply([
      typedStart('planned', 1, [
        [null, 'sync'],
        ['1', 'a'],
        ['2', 'a'],
        ['1', 'b'],
      ]),
    ]);
    expect(outcome).toMatchObject({ outcome: 'started', rows: 4 });
    const id = await idOf('planned');
    expect(await rowsOf(id)).toEqual([]);
    const plan = await planOf(id);
    expect(plan!.tasks).toEqual([
      [null, 'sync', 'type-sync'],
      ['1', 'a', 'type-a'],
      ['2', 'a', 'type-a'],
      ['1', 'b', 'type-b'],
    ]);

    await store.writer.apply([
      report('planned', [
        { nodeId: '2', taskName: 'a', status: 'running', time: T(1) },
        // A task the run did not announce: no type, created by its report.
        { nodeId: '3', taskName: 'late', status: 'ready', time: T(2) },
      ]),
    ]);
    const rows = await rowsOf(id);
    expect(rows.map((r) => [r.node_id, r.task_name, r.task_type, r.status])).toEqual([
      ['2', 'a', 'type-a', 'running'],
      ['3', 'late', null, 'ready'],
    ]);
    // The planned task's row was created when its run was, as its pending row would have been.
    expect(rows[0].created_at).toEqual(plan!.created_at);
    expect(rows[1].created_at.getTime()).toBeGreaterThan(plan!.created_at.getTime());
    expect(await planOf(id)).toBeDefined();
  });

  it('reads a plan another instance made (not in this writer’s memory) for the type and time', async () => {
    const id = await idOf('planned');
    const plan = await planOf(id);
    // Another instance: its own RunChanges (an empty memory of plans) over the same database.
    const changes = new RunChanges(store.state);
    const other = new HistoryWriter(
      store.ds,
      new RunStarts(store.registry, store.runs, changes),
      store.runs,
      store.rows,
      store.state,
      changes,
    );
    await other.apply([report('planned', [{ nodeId: '1', taskName: 'b', status: 'ready', time: T(3) }])]);
    const row = (await rowsOf(id)).find((r) => r.task_name === 'b')!;
    expect(row).toMatchObject({ node_id: '1', task_type: 'type-b', status: 'ready' });
    expect(row.created_at).toEqual(plan!.created_at);
  });

  it('stores the tasks never reported as pending rows when read, in graph order, once', async () => {
    const id = await idOf('planned');
    await store.materialize();
    const rows = await rowsOf(id);
    expect(rows.map((r) => [r.node_id, r.task_name, r.task_type, r.status])).toEqual([
      ['2', 'a', 'type-a', 'running'],
      ['3', 'late', null, 'ready'],
      ['1', 'b', 'type-b', 'ready'],
      [null, 'sync', 'type-sync', 'pending'],
      ['1', 'a', 'type-a', 'pending'],
    ]);
    const plan = rows.find((r) => r.task_name === 'b')!.created_at;
    for (const r of rows.filter((r) => r.status === 'pending')) expect(r.created_at).toEqual(plan);
    expect(await planOf(id)).toBeUndefined();
    // Again: nothing more to store.
    await store.materialize();
    expect(await rowsOf(id)).toHaveLength(5);
    // A report after it updates the stored pending row (no second row).
    await store.writer.apply([report('planned', [{ nodeId: '1', taskName: 'a', status: 'ready', time: T(4) }])]);
    const after = await rowsOf(id);
    expect(after).toHaveLength(5);
    expect(after.find((r) => r.node_id === '1' && r.task_name === 'a')).toMatchObject({ status: 'ready', task_type: 'type-a' });
  });

  it('closes out the tasks never reported when the run ends, from its plan', async () => {
    await store.writer.apply([
      typedStart('ends', 2, [
        ['1', 'a'],
        ['1', 'b'],
        ['2', 'c'],
      ]),
    ]);
    const id = await idOf('ends');
    await store.writer.apply([report('ends', [{ nodeId: '1', taskName: 'a', status: 'ready', time: T(1) }])]);
    // The end and a first report of another task in one batch.
    await store.writer.apply([
      report('ends', [{ nodeId: '2', taskName: 'c', status: 'error', time: T(2), errorMessage: 'failed' }]),
      report('ends', [], { status: 'error', message: 'stopped', time: T(3) }),
    ]);
    const rows = await rowsOf(id);
    expect(rows.map((r) => [r.node_id, r.task_name, r.task_type, r.status, r.closed_reason !== null])).toEqual([
      ['1', 'a', 'type-a', 'ready', false],
      ['1', 'b', 'type-b', 'skipped', true],
      ['2', 'c', 'type-c', 'error', false],
    ]);
    expect(await planOf(id)).toBeUndefined();
  });

  it('counts the tasks never reported among a deleted run’s rows, and leaves no plan', async () => {
    await store.writer.apply([
      start('deleted', 3, [
        ['1', 'a'],
        ['1', 'b'],
      ]),
    ]);
    await store.writer.apply([report('deleted', [{ nodeId: '1', taskName: 'a', status: 'running', time: T(1) }])]);
    const id = await idOf('deleted');
    const removed = await store.ds.transaction((m) => store.changes.remove(m, [id]));
    expect(removed).toEqual([expect.objectContaining({ id, rows: 2 })]);
    expect(await planOf(id)).toBeUndefined();
    expect(await rowsOf(id)).toEqual([]);
  });

  it('stores the plans of the clusters a read is about, and leaves the others’', async () => {
    await store.writer.apply([start('scope-a', 11, [['1', 'a']]), start('scope-b', 12, [['1', 'a']]), start('scope-c', 13, [['1', 'a']])]);
    const [a, b, c] = [await idOf('scope-a'), await idOf('scope-b'), await idOf('scope-c')];
    const plans = new PlanMaterializer(store.ds, store.changes);
    await plans.materialize({ clusters: [11] });
    expect([await planOf(a), await planOf(b), await planOf(c)].map((p) => p === undefined)).toEqual([true, false, false]);
    expect(await rowsOf(a)).toHaveLength(1);
    // A run's read: the plans of its cluster (its reads compare it with its cluster's other runs).
    await plans.materialize({ runs: [b] });
    expect([await planOf(b), await planOf(c)].map((p) => p === undefined)).toEqual([true, false]);
    expect(await rowsOf(c)).toEqual([]);
    await plans.materializeAll();
    expect(await planOf(c)).toBeUndefined();
    expect(await rowsOf(c)).toHaveLength(1);
  });
});
