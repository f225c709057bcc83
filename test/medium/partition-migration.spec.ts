import { Client } from 'pg';
import { PartitionedHistory1764600000000 } from '../../migrations/1764600000000-PartitionedHistory';
import { runMigrationsLocked } from '../../src/common/database/migrate';
import { databaseBefore, foreignKeysOf, migrationsThrough, quiet } from './migration-database';
import { ClusterStateRepository } from '../../src/history/persistence/cluster-state.repository';

const THROUGH = migrationsThrough(PartitionedHistory1764600000000);

/**
 * The migration to a partitioned history on a copy with data: a database built at the migration before,
 * filled with rows of runs in two ranges, migrated up (every row, id, version and sequence kept; the
 * indexes and constraints; lookups by run pruned to one partition), then down again (the same rows).
 */
describe('migration PartitionedHistory1764600000000', () => {
  let db: Awaited<ReturnType<typeof databaseBefore>>;
  let sql: Client;
  let source: typeof db.source;
  const rows = async () => (await sql.query(`SELECT * FROM deployment_history ORDER BY id`)).rows;
  const seqs = async () =>
    (
      await sql.query(
        `SELECT (SELECT last_value FROM deployment_history_id_seq) AS ids, (SELECT last_value FROM deployment_history_version_seq) AS versions`,
      )
    ).rows[0];
  const kind = async () => (await sql.query(`SELECT relkind FROM pg_class WHERE relname = 'deployment_history'`)).rows[0].relkind;
  const indexes = async () =>
    (await sql.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'deployment_history' ORDER BY indexname`)).rows.map(
      (r) => r.indexname,
    );

  beforeAll(async () => {
    db = await databaseBefore('dh_partmig', PartitionedHistory1764600000000);
    ({ sql, source } = db);
    // Runs 1-5 and 1500-1502 on two clusters, three rows each (a node, another, the cluster itself), some ready.
    await sql.query(`INSERT INTO clusters (id, name, release) VALUES (1, 'a', 'mitaka-9.0'), (2, 'b', 'mitaka-9.0')`);
    const addRuns = (from: number, to: number) =>
      sql.query(
        `INSERT INTO transactions (id, uuid, cluster_id, name, history_recorded, release, time_start, status)
         SELECT g, 'run-' || g, 1 + g % 2, 'deployment', true, 'mitaka-9.0', now() - interval '1 day', 'ready' FROM generate_series($1::int, $2::int) g`,
        [from, to],
      );
    await addRuns(1, 5);
    await addRuns(1500, 1502);
    await sql.query(`SELECT setval('transactions_id_seq', 1502)`);
    await sql.query(
      `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, task_type, status, time_start, time_end, custom)
       SELECT t.id, t.cluster_id, n, 'deploy', 'puppet', CASE WHEN n = '1' THEN 'ready' ELSE 'pending' END::history_status,
              CASE WHEN n = '1' THEN now() - interval '1 hour' END, CASE WHEN n = '1' THEN now() - interval '30 min' END,
              jsonb_build_object('n', n)
       FROM transactions t, unnest(ARRAY['1', '2', NULL]) n`,
    );
    await sql.query(
      `INSERT INTO cluster_state (cluster_id, epoch, node_id, task_name, transaction_id, history_id, time_end)
       SELECT DISTINCT ON (cluster_id) cluster_id, 1, node_id, task_name, transaction_id, id, time_end
       FROM deployment_history WHERE status = 'ready' ORDER BY cluster_id, transaction_id DESC`,
    );
  });
  afterAll(async () => {
    await db?.close();
  });

  it('moves the rows into partitions by range of run, keeping ids, versions and sequences, and comes back down', async () => {
    const before = await rows();
    const sequences = await seqs();
    expect(before).toHaveLength(24);
    expect(await kind()).toBe('r');

    const all = await source(THROUGH).initialize();
    try {
      expect(await runMigrationsLocked(all, quiet())).toEqual(['PartitionedHistory1764600000000']);
      expect(await kind()).toBe('p');
      expect(await rows()).toEqual(before);
      expect(await seqs()).toEqual(sequences);
      const parts = await sql.query(
        `SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound, c.reloptions FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'deployment_history'::regclass ORDER BY c.relname`,
      );
      expect(parts.rows).toEqual([
        { relname: 'deployment_history_default', bound: 'DEFAULT', reloptions: ['fillfactor=80'] },
        { relname: 'deployment_history_p0', bound: 'FOR VALUES FROM (0) TO (1000)', reloptions: ['fillfactor=80'] },
        { relname: 'deployment_history_p1000', bound: 'FOR VALUES FROM (1000) TO (2000)', reloptions: ['fillfactor=80'] },
        { relname: 'deployment_history_p2000', bound: 'FOR VALUES FROM (2000) TO (3000)', reloptions: ['fillfactor=80'] },
      ]);
      const placed = await sql.query(
        `SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM deployment_history GROUP BY 1 ORDER BY 1`,
      );
      expect(placed.rows).toEqual([
        { part: 'deployment_history_p0', n: 15 },
        { part: 'deployment_history_p1000', n: 9 },
      ]);
      expect(await indexes()).toEqual([
        'deployment_history_cluster_time_idx',
        'deployment_history_node_time_idx',
        'deployment_history_pkey',
        'deployment_history_row_uq',
      ]);
      // The unique key holds (in the run's partition), the id sequence goes on, the foreign key cascades.
      await expect(
        sql.query(`INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name) VALUES (1500, 1, NULL, 'deploy')`),
      ).rejects.toThrow(/duplicate key value violates unique constraint/);
      const added = await sql.query(
        `INSERT INTO deployment_history (transaction_id, cluster_id, task_name) VALUES (2, 1, 'extra') RETURNING id`,
      );
      expect(Number(added.rows[0].id)).toBeGreaterThan(Number(sequences.ids));
      // The cluster state's rows are found by their id, as before.
      const state = new ClusterStateRepository(all);
      expect((await state.current(1, {})).map((s) => s.transaction_id)).toEqual([1502]);
      expect((await state.current(2, {})).map((s) => s.transaction_id)).toEqual([1501]);
      // A run's rows are read from its partition alone.
      const plan = (await sql.query(`EXPLAIN (COSTS OFF) SELECT * FROM deployment_history WHERE transaction_id = 1501`)).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
      expect(plan).toMatch(/deployment_history_p1000/);
      expect(plan).not.toMatch(/deployment_history_p0\b|deployment_history_default/);
      await sql.query(`DELETE FROM deployment_history WHERE task_name = 'extra'`);

      await all.undoLastMigration({ transaction: 'each' });
      expect(await kind()).toBe('r');
      expect(await rows()).toEqual(before);
      expect(await indexes()).toEqual([
        'deployment_history_cluster_time_idx',
        'deployment_history_node_time_idx',
        'deployment_history_pkey',
        'deployment_history_row_uq',
      ]);
      const owned = await sql.query(`SELECT pg_get_serial_sequence('deployment_history', 'id') AS s`);
      expect(owned.rows[0].s).toBe('public.deployment_history_id_seq');
      expect(await sql.query(`SELECT 1 FROM pg_class WHERE relname ~ '^deployment_history_(p[0-9]+|default)$'`)).toMatchObject({
        rowCount: 0,
      });
      expect(await foreignKeysOf(sql, 'deployment_history')).toEqual(['deployment_history_transaction_id_fkey']);
      // And up again, as a later start would.
      expect(await runMigrationsLocked(all, quiet())).toEqual(['PartitionedHistory1764600000000']);
      expect(await rows()).toEqual(before);
    } finally {
      await all.destroy();
    }
  });
});
