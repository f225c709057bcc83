import { Client } from 'pg';
import { HistoryWithoutRunForeignKey1764800000000 } from '../../migrations/1764800000000-HistoryWithoutRunForeignKey';
import { runMigrationsLocked } from '../../src/common/database/migrate';
import { databaseBefore, foreignKeysOf, migrationsThrough, quiet } from './migration-database';
import { openStore, report, start, Store } from './history-store';

/** The triggers on deployment_history and its partitions (a foreign key's check is one per table). */
const historyTriggers = async (q: { query: <T>(sql: string) => Promise<T> }): Promise<number> => {
  const [{ n }] = await q.query<Array<{ n: number }>>(
    `SELECT count(*)::int AS n FROM pg_trigger g
     WHERE g.tgrelid = 'deployment_history'::regclass
        OR g.tgrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'deployment_history'::regclass)`,
  );
  return n;
};

/**
 * Issue #17: every history row inserted ran its foreign key's check (a trigger selecting the run FOR KEY
 * SHARE, per row: 7.5 µs against 4.7 for the insert itself). The key is gone; what it guarded is the
 * writer's (RunChanges): rows are inserted only with their run, and deleted with it.
 */
describe('history rows and their run, kept by the writer', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore();
    for (const uuid of ['keep', 'drop']) {
      await store.writer.apply([
        start(uuid, 1, [
          ['1', 'a'],
          ['2', 'a'],
          [null, 'sync'],
        ]),
      ]);
      await store.writer.apply([report(uuid, [{ nodeId: '1', taskName: 'a', status: 'ready' }])]);
      // A task the run did not announce: its row is created by the report.
      await store.writer.apply([report(uuid, [{ nodeId: '3', taskName: 'late', status: 'ready' }])]);
    }
    // The tasks never reported stored as pending rows, as a read does first (PlansMaterialized).
    await store.materialize();
  });
  afterAll(() => store?.close());

  const rowsOf = async (uuid: string) =>
    (
      await store.ds.query<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id WHERE t.uuid = $1`,
        [uuid],
      )
    )[0].n;

  it('inserts rows without a check per row', async () => {
    expect(await historyTriggers(store.ds)).toBe(0);
    expect(await rowsOf('keep')).toBe(4);
    expect(await rowsOf('drop')).toBe(4);
  });

  it('deletes a run’s rows with the run, and only its', async () => {
    const [{ id }] = await store.ds.query<Array<{ id: number }>>(`SELECT id FROM transactions WHERE uuid = 'drop'`);
    const removed = await store.ds.transaction((m) => store.changes.remove(m, [id]));
    expect(removed).toEqual([expect.objectContaining({ id, uuid: 'drop', rows: 4 })]);
    const [{ n }] = await store.ds.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM deployment_history WHERE transaction_id = $1`,
      [id],
    );
    expect(n).toBe(0);
    expect(await rowsOf('keep')).toBe(4);
  });
});

describe('migration HistoryWithoutRunForeignKey1764800000000', () => {
  let db: Awaited<ReturnType<typeof databaseBefore>>;
  let sql: Client;
  let source: typeof db.source;
  const rows = async () => (await sql.query(`SELECT * FROM deployment_history ORDER BY id`)).rows;
  const keys = () => foreignKeysOf(sql, 'deployment_history');

  beforeAll(async () => {
    db = await databaseBefore('dh_histfk', HistoryWithoutRunForeignKey1764800000000);
    ({ sql, source } = db);
    await sql.query(`INSERT INTO clusters (id, name, release) VALUES (1, 'a', 'mitaka-9.0')`);
    await sql.query(
      `INSERT INTO transactions (id, uuid, cluster_id, name, history_recorded, release, time_start, status)
       SELECT g, 'run-' || g, 1, 'deployment', true, 'mitaka-9.0', now(), 'ready' FROM generate_series(1, 3) g`,
    );
    await sql.query(`SELECT setval('transactions_id_seq', 3)`);
    await sql.query(
      `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, status)
       SELECT t.id, 1, n, 'deploy', 'pending' FROM transactions t, unnest(ARRAY['1', NULL]) n`,
    );
  });
  afterAll(async () => {
    await db?.close();
  });

  it('keeps the rows, drops the key, and comes back down', async () => {
    const before = await rows();
    expect(before).toHaveLength(6);
    expect(await keys()).toEqual(['deployment_history_transaction_id_fkey']);
    const all = await source(migrationsThrough(HistoryWithoutRunForeignKey1764800000000)).initialize();
    try {
      expect(await runMigrationsLocked(all, quiet())).toEqual(['HistoryWithoutRunForeignKey1764800000000']);
      expect(await rows()).toEqual(before);
      expect(await keys()).toEqual([]);
      expect(await historyTriggers(all)).toBe(0);
      // A row of a missing run (which RunChanges never leaves): accepted now, removed by the way down.
      await sql.query(`INSERT INTO deployment_history (transaction_id, cluster_id, task_name) VALUES (99, 1, 'orphan')`);

      await all.undoLastMigration({ transaction: 'each' });
      expect(await rows()).toEqual(before);
      expect(await keys()).toEqual(['deployment_history_transaction_id_fkey']);
      // The key cascades again.
      await sql.query(`DELETE FROM transactions WHERE id = 3`);
      expect((await rows()).map((r) => r.transaction_id).sort()).toEqual([1, 1, 2, 2]);

      expect(await runMigrationsLocked(all, quiet())).toEqual(['HistoryWithoutRunForeignKey1764800000000']);
      expect(await keys()).toEqual([]);
    } finally {
      await all.destroy();
    }
  });
});
