import { Client } from 'pg';
import { RunPlans1765100000000 } from '../../migrations/1765100000000-RunPlans';
import { runMigrationsLocked } from '../../src/common/database/migrate';
import { databaseBefore, migrationsThrough, quiet } from './migration-database';

const THROUGH = migrationsThrough(RunPlans1765100000000);

/**
 * The migration to runs' plans on a copy with data: a database built at the migration before, with a run
 * in progress (pending rows, as stored then) and a finished one. Up: every row kept as it was (a run's
 * pending rows are its plan already: nothing moves), the plans' table there, its key cascading with the run.
 * Down: a plan made meanwhile becomes the pending rows it stands for, in graph order, beside the rows reported.
 */
describe('migration RunPlans1765100000000', () => {
  let db: Awaited<ReturnType<typeof databaseBefore>>;
  let sql: Client;
  const rows = async () =>
    (await sql.query(`SELECT id, transaction_id, node_id, task_name, task_type, status, created_at FROM deployment_history ORDER BY id`))
      .rows;

  beforeAll(async () => {
    db = await databaseBefore('dh_plansmig', RunPlans1765100000000);
    sql = db.sql;
    await sql.query(`INSERT INTO clusters (id, name, release) VALUES (1, 'a', 'mitaka-9.0')`);
    await sql.query(
      `INSERT INTO transactions (id, uuid, cluster_id, name, history_recorded, release, time_start, status)
       VALUES (1, 'done', 1, 'deployment', true, 'mitaka-9.0', now() - interval '1 day', 'ready'),
              (2, 'running', 1, 'deployment', true, 'mitaka-9.0', now(), 'running')`,
    );
    await sql.query(
      `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, task_type, status)
       VALUES (1, 1, '1', 'netconfig', 'puppet', 'ready'), (1, 1, NULL, 'sync', 'shell', 'ready'),
              (2, 1, '1', 'netconfig', 'puppet', 'running'), (2, 1, '2', 'netconfig', 'puppet', 'pending'), (2, 1, NULL, 'sync', 'shell', 'pending')`,
    );
  });
  afterAll(() => db?.close());

  it('keeps every row as it was, adds the plans’ table (cascading with its run), and comes back down with plans as pending rows', async () => {
    const before = await rows();
    expect(before).toHaveLength(5);
    const all = await db.source(THROUGH).initialize();
    try {
      expect(await runMigrationsLocked(all, quiet())).toEqual(['RunPlans1765100000000']);
      expect(await rows()).toEqual(before);
      expect((await sql.query(`SELECT count(*)::int AS n FROM run_plans`)).rows).toEqual([{ n: 0 }]);

      // A run started after it: its plan, one of its tasks reported (a row), the others not.
      await sql.query(
        `INSERT INTO transactions (id, uuid, cluster_id, name, history_recorded, release, time_start, status)
         VALUES (3, 'planned', 1, 'deployment', true, 'mitaka-9.0', now(), 'running'), (4, 'gone', 1, 'deployment', true, 'mitaka-9.0', now(), 'running')`,
      );
      await sql.query(
        `INSERT INTO run_plans (transaction_id, cluster_id, tasks)
         VALUES (3, 1, '[[null, "sync", "shell"], ["2", "netconfig", "puppet"], ["1", "netconfig", "puppet"]]'),
                (4, 1, '[["1", "netconfig", "puppet"]]')`,
      );
      const [{ created_at: planned }] = (await sql.query(`SELECT created_at FROM run_plans WHERE transaction_id = 3`)).rows;
      await sql.query(
        `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, task_type, status, created_at)
         VALUES (3, 1, '2', 'netconfig', 'puppet', 'running', $1)`,
        [planned],
      );
      // The plan goes with its run.
      await sql.query(`DELETE FROM transactions WHERE id = 4`);
      expect((await sql.query(`SELECT transaction_id FROM run_plans`)).rows).toEqual([{ transaction_id: 3 }]);

      await all.undoLastMigration({ transaction: 'each' });
      expect((await sql.query(`SELECT to_regclass('run_plans') AS t`)).rows).toEqual([{ t: null }]);
      const after = await rows();
      expect(after.slice(0, 5)).toEqual(before);
      expect(after.slice(5).map((r) => [r.transaction_id, r.node_id, r.task_name, r.task_type, r.status])).toEqual([
        [3, '2', 'netconfig', 'puppet', 'running'],
        [3, null, 'sync', 'shell', 'pending'],
        [3, '1', 'netconfig', 'puppet', 'pending'],
      ]);
      for (const r of after.slice(5)) expect(r.created_at).toEqual(planned);
    } finally {
      await all.destroy();
    }
  });
});
