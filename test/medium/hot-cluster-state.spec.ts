import { Client } from 'pg';
import { HotClusterState1764700000000 } from '../../migrations/1764700000000-HotClusterState';
import { runMigrationsLocked } from '../../src/common/database/migrate';
import { databaseBefore, foreignKeysOf, migrationsThrough, quiet } from './migration-database';
import { openStore, report, start, Store } from './history-store';

/** cluster_state's indexes, each with the columns it covers. */
async function stateIndexes(q: { query: (sql: string) => Promise<unknown> }): Promise<Array<{ name: string; columns: string[] }>> {
  return (await q.query(
    `SELECT i.relname AS name, array_agg(a.attname::text ORDER BY a.attnum) AS columns
     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY(x.indkey)
     WHERE x.indrelid = 'cluster_state'::regclass GROUP BY i.relname ORDER BY i.relname`,
  )) as Array<{ name: string; columns: string[] }>;
}

/**
 * Issue #17: every task that turns ready moves its cluster state entry to the new row. Measured before,
 * each such update wrote all three of the table's indexes (history_id and transaction_id had their own,
 * and both change) and checked the run's foreign key again. Now only the key is indexed: the update is
 * HOT (no index write), and the entries of deleted runs and of rows no longer ready are found by their
 * runs' cluster and epoch.
 */
describe('the cluster state written in place (HOT)', () => {
  let store: Store;
  const KEYS: Array<[string | null, string]> = [
    ['1', 'a'],
    ['2', 'a'],
    [null, 'sync'],
  ];
  const RUNS = 6;
  const at = (run: number, minute: number) => new Date(Date.UTC(2026, 0, 1, 10 + run, minute));

  beforeAll(async () => {
    store = await openStore();
    // The same three keys made ready by six runs in turn, on cluster 1; one run on cluster 2.
    for (let r = 1; r <= RUNS; r++) {
      await store.writer.apply([start(`s${r}`, 1, KEYS, { time: at(r, 0) })]);
      await store.writer.apply([
        report(
          `s${r}`,
          KEYS.map(([nodeId, taskName]) => ({ nodeId, taskName, status: 'ready' as const, time: at(r, 1) })),
        ),
      ]);
    }
    await store.writer.apply([start('other', 2, KEYS, { time: at(1, 0) })]);
    await store.writer.apply([
      report(
        'other',
        KEYS.map(([nodeId, taskName]) => ({ nodeId, taskName, status: 'ready' as const, time: at(1, 1) })),
      ),
    ]);
  });
  afterAll(() => store?.close());

  it('moves an entry to its new row without writing any index', async () => {
    // Only the key is indexed, and an entry's update never changes it.
    expect(await stateIndexes(store.ds)).toEqual([{ name: 'cluster_state_key', columns: ['cluster_id', 'epoch', 'node_id', 'task_name'] }]);
    // Each of the three entries of cluster 1 moved five times: all in place. (The statistics reach the
    // view within a second or so of the writers' commits: polled.)
    const updates = RUNS - 1;
    const deadline = Date.now() + 20_000;
    let seen: { upd: number; hot: number } = { upd: 0, hot: 0 };
    while (Date.now() < deadline) {
      const [row] = await store.ds.query<Array<{ upd: number; hot: number }>>(
        `SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = 'cluster_state'`,
      );
      seen = row;
      if (seen.upd >= KEYS.length * updates) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen.upd).toBeGreaterThanOrEqual(KEYS.length * updates);
    expect(seen.hot).toBe(seen.upd);
    const current = await store.state.current(1, {});
    expect(current.map((e) => e.transaction_name)).toEqual(['deployment', 'deployment', 'deployment']);
    expect(new Set(current.map((e) => e.transaction_id)).size).toBe(1);
  });

  it('empties the entries of rows no longer ready and of deleted runs, and only theirs', async () => {
    const [{ id: last }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid = $1`, [`s${RUNS}`]);
    const [{ id: other }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid = 'other'`);
    const [row] = await store.ds.query(`SELECT id FROM deployment_history WHERE transaction_id = $1 AND node_id = '1'`, [last]);
    const holders = async (cluster: number) =>
      (await store.state.current(cluster, {})).map((e) => `${e.node_id}/${e.task_name}:${e.transaction_id}`).sort();
    const otherBefore = await holders(2);
    await store.ds.transaction(async (m) => {
      // A row id of another run, or of no row, empties nothing.
      expect(await store.state.removeOfRows(m, [{ id: String(row.id), txId: other }])).toEqual([]);
      expect(await store.state.removeOfRows(m, [{ id: '0', txId: last }])).toEqual([]);
      const keys = await store.state.removeOfRows(m, [{ id: String(row.id), txId: last }]);
      expect(keys).toEqual([{ cluster_id: 1, epoch: 1, node_id: '1', task_name: 'a' }]);
      await store.state.handBack(m, keys);
    });
    // Handed back to the same row, still the best ready one.
    expect(await holders(1)).toEqual(['1/a:' + last, '2/a:' + last, 'null/sync:' + last]);
    // The last run deleted: its three entries go to the run before; cluster 2's stay as they were.
    await store.ds.transaction((m) => store.changes.remove(m, [last]));
    const [{ id: before }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid = $1`, [`s${RUNS - 1}`]);
    expect(await holders(1)).toEqual(['1/a:' + before, '2/a:' + before, 'null/sync:' + before]);
    expect(await holders(2)).toEqual(otherBefore);
    const [{ n }] = await store.ds.query(`SELECT count(*)::int AS n FROM cluster_state WHERE transaction_id = $1`, [last]);
    expect(n).toBe(0);
  });
});

describe('migration HotClusterState1764700000000', () => {
  let db: Awaited<ReturnType<typeof databaseBefore>>;
  let sql: Client;
  let source: typeof db.source;
  const entries = async () => (await sql.query(`SELECT * FROM cluster_state ORDER BY cluster_id, node_id, task_name`)).rows;
  const foreignKeys = () => foreignKeysOf(sql, 'cluster_state');
  const fillfactor = async () => (await sql.query(`SELECT reloptions FROM pg_class WHERE relname = 'cluster_state'`)).rows[0].reloptions;

  beforeAll(async () => {
    db = await databaseBefore('dh_hotstate', HotClusterState1764700000000);
    ({ sql, source } = db);
    // Two runs on two clusters with ready rows, and their entries.
    await sql.query(`INSERT INTO clusters (id, name, release) VALUES (1, 'a', 'mitaka-9.0'), (2, 'b', 'mitaka-9.0')`);
    await sql.query(
      `INSERT INTO transactions (id, uuid, cluster_id, name, history_recorded, release, time_start, status)
       VALUES (1, 'run-1', 1, 'deployment', true, 'mitaka-9.0', now(), 'ready'), (2, 'run-2', 2, 'deployment', true, 'mitaka-9.0', now(), 'ready')`,
    );
    await sql.query(`SELECT setval('transactions_id_seq', 2)`);
    await sql.query(
      `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, status, time_start, time_end)
       SELECT t.id, t.cluster_id, n, 'deploy', 'ready', now() - interval '1 hour', now() FROM transactions t, unnest(ARRAY['1', NULL]) n`,
    );
    await sql.query(
      `INSERT INTO cluster_state (cluster_id, epoch, node_id, task_name, transaction_id, history_id, time_end)
       SELECT cluster_id, 1, node_id, task_name, transaction_id, id, time_end FROM deployment_history`,
    );
  });
  afterAll(async () => {
    await db?.close();
  });

  it('keeps the entries, drops what made updates non-HOT, and comes back down', async () => {
    const before = await entries();
    expect(before).toHaveLength(4);
    const all = await source(migrationsThrough(HotClusterState1764700000000)).initialize();
    try {
      expect(await runMigrationsLocked(all, quiet())).toEqual(['HotClusterState1764700000000']);
      expect(await entries()).toEqual(before);
      expect(await stateIndexes(all)).toEqual([{ name: 'cluster_state_key', columns: ['cluster_id', 'epoch', 'node_id', 'task_name'] }]);
      expect(await foreignKeys()).toEqual(['cluster_state_cluster_id_fkey']);
      expect(await fillfactor()).toEqual(['fillfactor=50']);
      // An entry left of a missing run (which no deletion leaves: RunChanges.remove empties them first).
      await sql.query(
        `INSERT INTO cluster_state (cluster_id, epoch, node_id, task_name, transaction_id, history_id, time_end) VALUES (1, 1, '9', 'deploy', 99, 0, now())`,
      );

      await all.undoLastMigration({ transaction: 'each' });
      expect(await entries()).toEqual(before);
      expect(await stateIndexes(all)).toEqual([
        { name: 'cluster_state_history_idx', columns: ['history_id'] },
        { name: 'cluster_state_key', columns: ['cluster_id', 'epoch', 'node_id', 'task_name'] },
        { name: 'cluster_state_transaction_idx', columns: ['transaction_id'] },
      ]);
      expect(await foreignKeys()).toEqual(['cluster_state_cluster_id_fkey', 'cluster_state_transaction_id_fkey']);
      expect(await fillfactor()).toBeNull();
      // The key cascades again.
      await sql.query(`DELETE FROM transactions WHERE id = 2`);
      expect((await entries()).map((e) => e.transaction_id)).toEqual([1, 1]);

      // And up again, as a later start would.
      expect(await runMigrationsLocked(all, quiet())).toEqual(['HotClusterState1764700000000']);
      expect((await entries()).map((e) => e.transaction_id)).toEqual([1, 1]);
    } finally {
      await all.destroy();
    }
  });
});
