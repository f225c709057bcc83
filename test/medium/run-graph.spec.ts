import { RunGraphRepository } from '../../src/history/persistence/run-graph.repository';
import { openStore, report, start, Store } from './history-store';

/**
 * RunGraphRepository on real PostgreSQL: a run's graph rebuilt from its rows, tasks_snapshot and
 * node_task_definitions (a node's own definition over the shared one, the cluster-level node included),
 * only the dependency fields, and the version read with it.
 */
describe('RunGraphRepository on real PostgreSQL', () => {
  let store: Store;
  let graphs: RunGraphRepository;
  let run: number;
  const T = (s: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, s));
  /** Milliseconds are kept. */
  const T3 = new Date(T(3).getTime() + 123);
  const own = { requires: [{ name: 'stage', node_id: null }], parameters: { timeout: 9 } };

  beforeAll(async () => {
    store = await openStore();
    graphs = new RunGraphRepository(store.ds);
    const begin = start('graph-1', 1, [
      [null, 'stage'],
      ['1', 'a'],
      ['2', 'a'],
      ['1', 'constructor'],
    ]);
    if (begin.kind !== 'start') throw new Error('a start');
    begin.start.snapshot = {
      stage: { id: 'stage', type: 'stage', required_for: [{ name: 'a', node_id: '1' }], parameters: { big: 'x'.repeat(100) } },
      a: { id: 'a', type: 'puppet', requires: ['b'], cross_depends: [{ name: 'stage', role: '*' }], cross_depended_by: [] },
    };
    // Node 2's a and the cluster-level stage have their own; `constructor` was announced without any definition.
    begin.start.nodeDefinitions = [
      { nodeId: '2', taskName: 'a', json: JSON.stringify({ id: 'a', ...own }) },
      { nodeId: null, taskName: 'stage', json: JSON.stringify({ id: 'stage', requires: [] }) },
    ];
    await store.writer.apply([begin]);
    await store.writer.apply([
      report('graph-1', [
        { nodeId: null, taskName: 'stage', status: 'running', time: T(1) },
        { nodeId: null, taskName: 'stage', status: 'ready', time: T(2) },
        { nodeId: '1', taskName: 'a', status: 'running', time: T3 },
        // Reported, never announced: a row without a definition.
        { nodeId: '3', taskName: 'late', status: 'error', time: T(4) },
      ]),
    ]);
    [{ id: run }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid = 'graph-1'`);
    // As a read of the REST API does first (PlansMaterialized): the tasks never reported stored as pending rows.
    await store.materialize();
  });
  afterAll(() => store?.close());

  it('gives each row its node own definition, else the shared one, else none; dependency fields only', async () => {
    const none = { requires: null, required_for: null, cross_depends: null, cross_depended_by: null };
    const shared = { ...none, requires: ['b'], cross_depends: [{ name: 'stage', role: '*' }], cross_depended_by: [] };
    const loaded = await graphs.load(run);
    expect(loaded.graph).toEqual({
      null: [{ id: 'stage', ...none, requires: [] }],
      '1': [{ id: 'a', ...shared }, { id: 'constructor' }],
      '2': [{ id: 'a', ...none, requires: [{ name: 'stage', node_id: null }] }],
      '3': [{ id: 'late' }],
    });
    // In the order the rows were stored: those reported at their first report, then the tasks never
    // reported, in graph order, when the run was read (RunChanges.materialize).
    expect(loaded.rows).toEqual([
      { node: null, task: 'stage', status: 'ready', timeStart: T(1), timeEnd: T(2) },
      { node: '1', task: 'a', status: 'running', timeStart: T3, timeEnd: null },
      { node: '3', task: 'late', status: 'error', timeStart: T(4), timeEnd: T(4) },
      { node: '2', task: 'a', status: 'pending', timeStart: null, timeEnd: null },
      { node: '1', task: 'constructor', status: 'pending', timeStart: null, timeEnd: null },
    ]);
    const [{ v }] = await store.ds.query(`SELECT max(row_version)::text AS v FROM deployment_history WHERE transaction_id = $1`, [run]);
    expect(loaded.version).toBe(v);
  });

  it('an unknown run: nothing', async () => {
    expect(await graphs.load(999_999)).toEqual({ rows: [], graph: {}, version: null });
  });
});
