import { waitFor } from '../support/services';
import { listen, openStore, report, start, Store } from './history-store';

/**
 * The invariant of a run's rows (persistence/run-changes.ts): every path that changes them gives the rows
 * it writes a higher row_version, forgets the run's kept summary and list, and announces the run on
 * HISTORY_CHANNEL. Each path is driven here on a real database, with the run's caches filled before.
 */
describe('every path that changes a run’s rows keeps the invariant', () => {
  let store: Store;
  let bus: Awaited<ReturnType<typeof listen>>;
  let n = 0;
  beforeAll(async () => {
    store = await openStore();
    bus = await listen(store.url);
  });
  afterAll(async () => {
    await bus?.close();
    await store?.close();
  });

  /** A finished run of its own cluster (one of its tasks never reported: closed out); its id. */
  const finishedRun = async (uuid: string): Promise<number> => {
    const cluster = ++n;
    await store.writer.apply([
      start(uuid, cluster, [
        [null, 'sync'],
        ['master', 'hiera'],
        ['1', 'netconfig'],
        ['2', 'never'],
      ]),
    ]);
    await store.writer.apply([
      report(uuid, [
        { nodeId: null, taskName: 'sync', status: 'ready' },
        { nodeId: 'master', taskName: 'hiera', status: 'ready' },
        { nodeId: '1', taskName: 'netconfig', status: 'ready' },
      ]),
    ]);
    await store.writer.apply([report(uuid, [], { status: 'ready', time: new Date('2026-01-01T10:05:00Z') })]);
    const [{ id }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid = $1`, [uuid]);
    return id as number;
  };
  const fillCaches = (id: number) =>
    store.ds.query(`UPDATE transactions SET summary_cache = '{"total":3}', list_cache = '[]', list_cache_shape = 2 WHERE id = $1`, [id]);
  const observe = async (id: number) => {
    const [r] = await store.ds.query(
      `SELECT t.summary_cache IS NULL AND t.list_cache IS NULL AS cleared,
              (SELECT max(row_version)::text FROM deployment_history h WHERE h.transaction_id = t.id) AS version
       FROM transactions t WHERE t.id = $1`,
      [id],
    );
    return r as { cleared: boolean; version: string | null } | undefined;
  };

  /** A run in progress of its own cluster, one of its two tasks reported running (the other only in its plan); its id. */
  const runningRun = async (uuid: string): Promise<number> => {
    await store.writer.apply([
      start(uuid, ++n, [
        ['1', 'a'],
        ['2', 'b'],
      ]),
    ]);
    await store.writer.apply([report(uuid, [{ nodeId: '1', taskName: 'a', status: 'running' }])]);
    const [{ id }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid = $1`, [uuid]);
    return id as number;
  };

  /** Runs `change` on a run (finished by default) with its caches filled; checks version bumped, caches cleared, run announced. */
  const keepsInvariant = async (uuid: string, change: (id: number) => Promise<unknown>, run = finishedRun) => {
    const id = await run(uuid);
    await fillCaches(id);
    const before = await observe(id);
    expect(before).toEqual({ cleared: false, version: expect.any(String) });
    bus.heard.clear();
    await change(id);
    const after = await observe(id);
    expect(after!.cleared).toBe(true);
    expect(BigInt(after!.version!)).toBeGreaterThan(BigInt(before!.version!));
    await waitFor(() => bus.heard.has(id), `run ${id} announced`);
  };

  it('a late task report (the writer’s final statement)', async () => {
    await keepsInvariant('late-report', () =>
      store.writer.apply([
        report('late-report', [{ nodeId: '1', taskName: 'netconfig', status: 'error', time: new Date('2026-01-01T10:09:00Z') }]),
      ]),
    );
  });

  it('a report on a (node, task) the run did not announce (a row created)', async () => {
    await keepsInvariant('unannounced', () =>
      store.writer.apply([report('unannounced', [{ nodeId: '2', taskName: 'extra', status: 'ready' }])]),
    );
  });

  it('a later failure over a success (the row leaves the cluster state, which is handed back)', async () => {
    await keepsInvariant('lost-ready', async (id) => {
      await store.writer.apply([
        report('lost-ready', [{ nodeId: 'master', taskName: 'hiera', status: 'error', time: new Date('2026-01-01T10:10:00Z') }]),
      ]);
      const state: unknown[] = await store.ds.query(`SELECT 1 FROM cluster_state WHERE transaction_id = $1 AND node_id = 'master'`, [id]);
      expect(state).toEqual([]);
    });
  });

  it('a later final run report (the open rows closed out again)', async () => {
    await keepsInvariant('late-end', async (id) => {
      await store.writer.apply([report('late-end', [], { status: 'error', message: 'boom', time: new Date('2026-01-01T10:20:00Z') })]);
      const [row] = await store.ds.query(`SELECT closed_reason FROM deployment_history WHERE transaction_id = $1 AND task_name = 'never'`, [
        id,
      ]);
      expect(row.closed_reason).toContain('boom');
    });
  });

  it('a read of a run in progress (its never-reported tasks stored from its plan)', async () => {
    await keepsInvariant('read-while-running', () => store.materialize(), runningRun);
  });

  it('a stop (reset and forced deletion stop runs through the writer)', async () => {
    // The task only in its plan is stored and closed out with the one running.
    await keepsInvariant(
      'stopped',
      async (id) => {
        await store.ds.transaction((m) => store.writer.stop(m, ['stopped'], 'stopped by a test', new Date('2026-01-01T11:00:00Z')));
        const open: unknown[] = await store.ds.query(
          `SELECT 1 FROM deployment_history WHERE transaction_id = $1 AND status IN ('pending', 'running')`,
          [id],
        );
        expect(open).toEqual([]);
        const [{ n: rows }] = await store.ds.query(`SELECT count(*)::int AS n FROM deployment_history WHERE transaction_id = $1`, [id]);
        expect(rows).toBe(2);
      },
      runningRun,
    );
  });

  it('a deletion (task delete, history deletion and retention all delete through RunChanges.remove)', async () => {
    const parent = await finishedRun('deleted-parent');
    await store.writer.apply([start('deleted-child', n, [['1', 'a']], { parentUuid: 'deleted-parent' })]);
    const [{ id: child }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid = 'deleted-child'`);
    bus.heard.clear();
    const removed = await store.ds.transaction((m) => store.changes.remove(m, [parent]));
    expect(removed).toEqual([expect.objectContaining({ id: parent, uuid: 'deleted-parent', rows: 4 })]);
    expect(await observe(parent)).toBeUndefined();
    await waitFor(() => bus.heard.has(parent) && bus.heard.has(child as number), 'deleted run and its child announced');
  });
});
