import { gzipSync } from 'node:zlib';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { RunSnapshots1764313000000 } from '../../migrations/1764313000000-RunSnapshots';
import { RunNodes1764400000000 } from '../../migrations/1764400000000-RunNodes';
import { GzipListCache1764900000000 } from '../../migrations/1764900000000-GzipListCache';
import { BrotliListCache1765000000000 } from '../../migrations/1765000000000-BrotliListCache';
import { runMigrationsLocked } from '../../src/common/database/migrate';
import { createTestDatabase } from '../support/database';

/** The real migrations on the real PostgreSQL: concurrency, constraints, and index use at scale. */
describe('schema and migrations', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let sql: Client;
  const dataSource = () => new DataSource({ type: 'postgres', url: db.url, migrations: MIGRATIONS, logging: false });

  beforeAll(async () => {
    db = await createTestDatabase('dh_schema');
    sql = new Client({ connectionString: db.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
  });

  it('migrates once when two instances start together (advisory lock), and is a no-op after', async () => {
    const [a, b] = [await dataSource().initialize(), await dataSource().initialize()];
    try {
      const applied = await Promise.all([runMigrationsLocked(a), runMigrationsLocked(b)]);
      expect(applied.flat()).toEqual(MIGRATIONS.map((m) => m.name));
      expect(await runMigrationsLocked(a)).toEqual([]);
    } finally {
      await a.destroy();
      await b.destroy();
    }
    const { rows } = await sql.query('SELECT name FROM migrations');
    expect(rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it('enforces (transaction, task, node) uniqueness for cluster-level rows too (NULL node)', async () => {
    await sql.query(`INSERT INTO clusters (id, name, release) VALUES (1, 'c', 'mitaka-9.0')`);
    const { rows } = await sql.query(
      `INSERT INTO transactions (uuid, cluster_id, name, history_recorded, release, time_start) VALUES ('u', 1, 'deployment', true, 'mitaka-9.0', now()) RETURNING id`,
    );
    const insert = (node: string | null) =>
      sql.query(`INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name) VALUES ($1, 1, $2, 'deploy_start')`, [
        rows[0].id,
        node,
      ]);
    await insert(null);
    // The key is enforced in the run's partition, by its index (named by PostgreSQL after the partition).
    const rowKey = /unique constraint "deployment_history_p0_transaction_id_task_name_node_id_key"/;
    await expect(insert(null)).rejects.toThrow(rowKey);
    await insert('1');
    await expect(insert('1')).rejects.toThrow(rowKey);
    await expect(sql.query(`UPDATE transactions SET progress = 101`)).rejects.toThrow(/check constraint/);
    await expect(sql.query(`UPDATE deployment_history SET status = 'done'`)).rejects.toThrow(/invalid input value for enum/);
  });

  it('stores times as timestamptz', async () => {
    const { rows } = await sql.query(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE column_name IN ('time_start', 'time_end') AND data_type <> 'timestamp with time zone'`,
    );
    expect(rows).toEqual([]);
  });

  it('GzipListCache, BrotliListCache on data: a kept list (JSON text, then a gzip without its brotli) is dropped, the columns take gzip and brotli, out of line, uncompressed; the rest of the run stays; both can be undone', async () => {
    const own = await createTestDatabase('dh_schema_gzlist');
    const at = (migrations: typeof MIGRATIONS) => new DataSource({ type: 'postgres', url: own.url, migrations, logging: false });
    const upTo = MIGRATIONS.indexOf(GzipListCache1764900000000);
    const c = new Client({ connectionString: own.url });
    const migrate = async (count: number, undo = false) => {
      const ds = at(MIGRATIONS.slice(0, count));
      await ds.initialize();
      try {
        if (undo) await ds.undoLastMigration({ transaction: 'each' });
        else return await runMigrationsLocked(ds);
      } finally {
        await ds.destroy();
      }
    };
    const column = async (name = 'list_cache') =>
      (
        await c.query(
          `SELECT format_type(atttypid, atttypmod) AS type, attstorage AS storage FROM pg_attribute
           WHERE attrelid = 'transactions'::regclass AND attname = $1 AND NOT attisdropped`,
          [name],
        )
      ).rows[0];
    try {
      await migrate(upTo);
      await c.connect();
      await c.query(`INSERT INTO clusters (id, name, release) VALUES (1, 'c', 'mitaka-9.0')`);
      const [{ id }] = (
        await c.query(
          `INSERT INTO transactions (uuid, cluster_id, name, status, history_recorded, release, time_start, time_end, summary_cache, list_cache, list_cache_shape)
           VALUES ('old', 1, 'deployment', 'ready', true, 'mitaka-9.0', now(), now(), '{"total": 2}', '[{"task_name": "netconfig"}]', 2) RETURNING id`,
        )
      ).rows;
      expect(await column()).toEqual({ type: 'text', storage: 'x' });

      expect(await migrate(upTo + 1)).toEqual([GzipListCache1764900000000.name]);
      expect(await column()).toEqual({ type: 'bytea', storage: 'e' });
      const run = async () =>
        (await c.query(`SELECT uuid, status, summary_cache, list_cache FROM transactions WHERE id = $1`, [id])).rows[0];
      expect(await run()).toEqual({ uuid: 'old', status: 'ready', summary_cache: { total: 2 }, list_cache: null });
      const gz = gzipSync('[{"task_name": "netconfig"}]');
      await c.query(`UPDATE transactions SET list_cache = $2 WHERE id = $1`, [id, gz]);
      expect((await run()).list_cache).toEqual(gz);

      expect(MIGRATIONS[upTo + 1]).toBe(BrotliListCache1765000000000);
      expect(await migrate(upTo + 2)).toEqual([BrotliListCache1765000000000.name]);
      expect(await column('list_cache_br')).toEqual({ type: 'bytea', storage: 'e' });
      expect(await run()).toEqual({ uuid: 'old', status: 'ready', summary_cache: { total: 2 }, list_cache: null });

      await migrate(upTo + 2, true);
      expect(await column('list_cache_br')).toBeUndefined();
      await migrate(upTo + 1, true);
      expect(await column()).toEqual({ type: 'text', storage: 'x' });
      expect(await run()).toEqual({ uuid: 'old', status: 'ready', summary_cache: { total: 2 }, list_cache: null });
    } finally {
      await c.end().catch(() => undefined);
      await own.drop();
    }
  });

  it('RunSnapshots on data: old runs keep everything but their kept lists (built in the old row shape); snapshots and per-node definitions go with their run', async () => {
    const own = await createTestDatabase('dh_schema_snap');
    const at = (migrations: typeof MIGRATIONS) => new DataSource({ type: 'postgres', url: own.url, migrations, logging: false });
    const c = new Client({ connectionString: own.url });
    try {
      const before = at(MIGRATIONS.slice(0, MIGRATIONS.indexOf(RunSnapshots1764313000000)));
      await before.initialize();
      await runMigrationsLocked(before);
      await before.destroy();
      await c.connect();
      // A finished run as the previous version left it: one definition per task name, its summary and its whole list kept.
      await c.query(`INSERT INTO clusters (id, name, release) VALUES (1, 'c', 'mitaka-9.0')`);
      const snapshot = { netconfig: { id: 'netconfig', type: 'puppet', parameters: { timeout: 3600 } } };
      const [{ id }] = (
        await c.query(
          `INSERT INTO transactions (uuid, cluster_id, name, status, history_recorded, release, time_start, time_end, tasks_snapshot, summary_cache, list_cache)
           VALUES ('old', 1, 'deployment', 'ready', true, 'mitaka-9.0', now(), now(), $1, '{"total": 2}', '[{"task_name": "netconfig"}]') RETURNING id`,
          [snapshot],
        )
      ).rows;
      await c.query(
        `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, task_type, status)
         VALUES ($1, 1, '1', 'netconfig', 'puppet', 'ready'), ($1, 1, '2', 'netconfig', 'puppet', 'ready')`,
        [id],
      );

      const through = at(MIGRATIONS.slice(0, MIGRATIONS.indexOf(RunSnapshots1764313000000) + 1));
      await through.initialize();
      try {
        expect(await runMigrationsLocked(through)).toEqual([RunSnapshots1764313000000.name]);
      } finally {
        await through.destroy();
      }
      const after = at(MIGRATIONS.slice(0, MIGRATIONS.indexOf(RunSnapshots1764313000000) + 1));
      await after.initialize();
      try {
        expect(await runMigrationsLocked(after)).toEqual([]);
      } finally {
        await after.destroy();
      }
      const [run] = (
        await c.query(`SELECT tasks_snapshot, summary_cache, list_cache, list_cache_shape FROM transactions WHERE id = $1`, [id])
      ).rows;
      expect(run).toEqual({ tasks_snapshot: snapshot, summary_cache: { total: 2 }, list_cache: null, list_cache_shape: null });
      expect((await c.query(`SELECT count(*)::int AS n FROM deployment_history WHERE transaction_id = $1`, [id])).rows[0].n).toBe(2);

      // Snapshots: one per kind and node (NULL: the run-wide part), json kept as sent, only the three kinds.
      const snap = (kind: string, node: string | null, data: string) =>
        c.query(`INSERT INTO run_snapshots (transaction_id, kind, node_uid, data) VALUES ($1, $2, $3, $4)`, [id, kind, node, data]);
      await snap('settings', null, '{"editable": {"b": 1, "a": 2}}');
      await expect(snap('settings', null, '{}')).rejects.toThrow(/run_snapshots_key/);
      await snap('deployment_info', null, '{}');
      await snap('deployment_info', '1', '{"uid": "1"}');
      await expect(snap('deployment_info', '1', '{}')).rejects.toThrow(/run_snapshots_key/);
      await expect(snap('astute_yaml', null, '{}')).rejects.toThrow(/check constraint/);
      await expect(snap('network_configuration', null, '{"a": ')).rejects.toThrow(/invalid input syntax for type json/);
      expect((await c.query(`SELECT data::text FROM run_snapshots WHERE kind = 'settings'`)).rows[0].data).toBe(
        '{"editable": {"b": 1, "a": 2}}',
      );
      // Per-node definitions: one per (node, task); cluster-level (NULL) ones too.
      const def = (node: string | null) =>
        c.query(
          `INSERT INTO node_task_definitions (transaction_id, node_id, task_name, definition) VALUES ($1, $2, 'netconfig', '{"type": "puppet"}')`,
          [id, node],
        );
      await def('2');
      await expect(def('2')).rejects.toThrow(/node_task_definitions_key/);
      await def(null);
      await expect(def(null)).rejects.toThrow(/node_task_definitions_key/);
      // Deleting the run (retention, history deletion) takes them with it.
      await c.query(`DELETE FROM transactions WHERE id = $1`, [id]);
      expect(
        (await c.query(`SELECT (SELECT count(*) FROM run_snapshots) + (SELECT count(*) FROM node_task_definitions) AS n`)).rows[0].n,
      ).toBe('0');

      // And it can be undone.
      const undo = at(MIGRATIONS.slice(0, MIGRATIONS.indexOf(RunSnapshots1764313000000) + 1));
      await undo.initialize();
      try {
        await undo.undoLastMigration({ transaction: 'each' });
      } finally {
        await undo.destroy();
      }
      const { rows: left } = await c.query(
        `SELECT to_regclass('run_snapshots') AS s, to_regclass('node_task_definitions') AS d,
                (SELECT count(*)::int FROM information_schema.columns WHERE table_name = 'transactions' AND column_name = 'list_cache_shape') AS col`,
      );
      expect(left[0]).toEqual({ s: null, d: null, col: 0 });
    } finally {
      await c.end().catch(() => undefined);
      await own.drop();
    }
  });

  /** The SQL of the cross-run lists, as the service builds it (history-rows.ts), first and later pages. */
  const crossRun = (cluster: number, key: { us: string; id: string }): Array<[string, string, unknown[]]> => {
    const sql = (extra: string, order = 'DESC') =>
      `SELECT h.*, t.uuid, t.name FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE h.cluster_id = $1 ${extra} ORDER BY h.sort_time ${order}, h.id ${order} LIMIT 101`;
    const after = `AND (h.sort_time, h.id) < ('epoch'::timestamptz + ${key.us}::bigint * interval '1 microsecond', ${key.id}::bigint)`;
    return [
      ['a cluster, first page', sql(''), [cluster]],
      ['a cluster, a later page', sql(after), [cluster]],
      ['a cluster, oldest first', sql('', 'ASC'), [cluster]],
      [
        'a cluster, by status and time range',
        sql(`AND h.status = ANY('{error}'::history_status[]) AND h.sort_time >= now() - interval '1 day' AND h.sort_time < now()`),
        [cluster],
      ],
      [
        'a cluster, by run type, current epoch',
        sql(`AND t.name = ANY('{deployment}') AND t.epoch = (SELECT c.epoch FROM clusters c WHERE c.id = $1)`),
        [cluster],
      ],
      ['a node, first page', sql(`AND h.node_id = '3'`), [cluster]],
      ['a node, a later page', sql(`AND h.node_id = '3' ${after}`), [cluster]],
      [
        'the cluster state (a lookup in cluster_state)',
        `SELECT s.node_id, s.task_name, h.status, h.time_end, t.uuid FROM cluster_state s
         JOIN deployment_history h ON h.id = s.history_id JOIN transactions t ON t.id = s.transaction_id
         WHERE s.cluster_id = $1 AND s.epoch = (SELECT epoch FROM clusters WHERE id = $1)`,
        [cluster],
      ],
    ];
  };

  it('serves the read queries from indexes at a million history rows (no sequential scan)', async () => {
    // 1,000 runs × 1,000 rows (10 nodes × 100 tasks) on 20 clusters.
    await sql.query(`INSERT INTO clusters (id, name, release) SELECT g, 'c' || g, 'mitaka-9.0' FROM generate_series(100, 119) g`);
    await sql.query(
      `INSERT INTO transactions (uuid, cluster_id, name, status, history_recorded, release, time_start)
       SELECT 'scale-' || g, 100 + g % 20, 'deployment', 'ready', true, 'mitaka-9.0', now() - g * interval '1 minute' FROM generate_series(1, 1000) g`,
    );
    await sql.query(
      `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, status, time_start, time_end)
       SELECT t.id, t.cluster_id, n::text, 'task-' || k, (CASE WHEN k % 17 = 0 THEN 'error' ELSE 'ready' END)::history_status,
              t.time_start + k * interval '1 second', t.time_start + (k + 1) * interval '1 second'
       FROM transactions t, generate_series(1, 10) n, generate_series(1, 100) k WHERE t.uuid LIKE 'scale-%'`,
    );
    await sql.query('ANALYZE');
    const { rows: count } = await sql.query('SELECT count(*)::int AS n FROM deployment_history');
    expect(count[0].n).toBeGreaterThanOrEqual(1_000_000);
    const { rows: tx } = await sql.query(`SELECT id, cluster_id FROM transactions WHERE uuid = 'scale-500'`);
    // The key a second page starts after: the 100th newest row of the cluster.
    const { rows: pageKey } = await sql.query(
      `SELECT (extract(epoch FROM sort_time) * 1000000)::bigint::text AS us, id::text FROM deployment_history
       WHERE cluster_id = $1 ORDER BY sort_time DESC, id DESC OFFSET 99 LIMIT 1`,
      [tx[0].cluster_id],
    );
    const plan = async (query: string, params: unknown[]) =>
      (await sql.query(`EXPLAIN ${query}`, params)).rows.map((r) => r['QUERY PLAN']).join('\n');
    const queries: Array<[string, string, unknown[]]> = [
      ['one run, whole', 'SELECT * FROM deployment_history WHERE transaction_id = $1 ORDER BY node_id, time_start, task_name', [tx[0].id]],
      ['one run, by status', `SELECT * FROM deployment_history WHERE transaction_id = $1 AND status IN ('error')`, [tx[0].id]],
      ['one run, by node', `SELECT * FROM deployment_history WHERE transaction_id = $1 AND node_id IN ('3', '4')`, [tx[0].id]],
      ['one run, by task', `SELECT * FROM deployment_history WHERE transaction_id = $1 AND task_name IN ('task-7')`, [tx[0].id]],
      [
        'one row (the write path)',
        `SELECT * FROM deployment_history WHERE transaction_id = $1 AND task_name = 'task-7' AND node_id IS NOT DISTINCT FROM '3'`,
        [tx[0].id],
      ],
      ['runs of a cluster', 'SELECT * FROM transactions WHERE cluster_id = $1 ORDER BY id', [tx[0].cluster_id]],
      ...crossRun(tx[0].cluster_id, pageKey[0]),
      ['a run by uuid', 'SELECT * FROM transactions WHERE uuid = ANY($1)', [['scale-7', 'scale-8']]],
    ];
    for (const [name, query, params] of queries) {
      const p = await plan(query, params);
      // The DEFAULT partition (empty: partitions are kept ahead of the runs) is read whole, as an empty table is.
      const scanned = /Seq Scan on (deployment_history(?!_default)\w*|transactions)\b/.test(p);
      expect(scanned ? `${name}:\n${p}` : 'no sequential scan').toBe('no sequential scan');
    }
  }, 180000);
  it('RunNodes on data: old runs get their nodes from the deployment info they kept; run_nodes and the kept path go with their run', async () => {
    const own = await createTestDatabase('dh_schema_nodes');
    const at = (migrations: typeof MIGRATIONS) => new DataSource({ type: 'postgres', url: own.url, migrations, logging: false });
    const c = new Client({ connectionString: own.url });
    try {
      const before = at(MIGRATIONS.slice(0, MIGRATIONS.indexOf(RunNodes1764400000000)));
      await before.initialize();
      await runMigrationsLocked(before);
      await before.destroy();
      await c.connect();
      await c.query(`INSERT INTO clusters (id, name, release) VALUES (1, 'c', 'mitaka-9.0')`);
      const run = async (uuid: string) =>
        (
          await c.query(
            `INSERT INTO transactions (uuid, cluster_id, name, status, history_recorded, release, time_start)
             VALUES ($1, 1, 'deployment', 'ready', true, 'mitaka-9.0', now()) RETURNING id`,
            [uuid],
          )
        ).rows[0].id as number;
      const [a, b] = [await run('a'), await run('b')];
      const info = (id: number, node: string | null, data: string) =>
        c.query(`INSERT INTO run_snapshots (transaction_id, kind, node_uid, data) VALUES ($1, 'deployment_info', $2, $3)`, [
          id,
          node,
          data,
        ]);
      await info(a, null, '{"roles": ["not-a-node"]}');
      await info(
        a,
        '1',
        '{"uid": "1", "roles": ["primary-controller", "primary-controller", ""], "fqdn": "node-1.domain.tld", "name": "node-1"}',
      );
      await info(a, '2', '{"role": "compute", "name": "node-2"}');
      await info(a, '3', '{"roles": "controller", "fqdn": 7}');
      await info(a, '4', '[1, 2]');
      await c.query(`INSERT INTO run_snapshots (transaction_id, kind, node_uid, data) VALUES ($1, 'settings', NULL, '{"roles": ["x"]}')`, [
        b,
      ]);

      const after = at(MIGRATIONS.slice(0, MIGRATIONS.indexOf(RunNodes1764400000000) + 1));
      await after.initialize();
      try {
        expect(await runMigrationsLocked(after)).toEqual([RunNodes1764400000000.name]);
      } finally {
        await after.destroy();
      }
      const { rows } = await c.query(`SELECT transaction_id, node_id, roles, hostname FROM run_nodes ORDER BY transaction_id, node_id`);
      expect(rows).toEqual([
        { transaction_id: a, node_id: '1', roles: ['primary-controller'], hostname: 'node-1.domain.tld' },
        { transaction_id: a, node_id: '2', roles: ['compute'], hostname: 'node-2' },
        { transaction_id: a, node_id: '3', roles: [], hostname: null },
      ]);
      await c.query(`UPDATE transactions SET critical_path_cache = '{"steps": []}' WHERE id = $1`, [a]);
      await expect(c.query(`INSERT INTO run_nodes (transaction_id, node_id) VALUES ($1, '1')`, [a])).rejects.toThrow(/run_nodes_pkey/);
      await c.query(`DELETE FROM transactions WHERE id = $1`, [a]);
      expect((await c.query(`SELECT count(*)::int AS n FROM run_nodes`)).rows[0].n).toBe(0);

      const undo = at(MIGRATIONS.slice(0, MIGRATIONS.indexOf(RunNodes1764400000000) + 1));
      await undo.initialize();
      try {
        await undo.undoLastMigration({ transaction: 'each' });
      } finally {
        await undo.destroy();
      }
      const { rows: left } = await c.query(
        `SELECT to_regclass('run_nodes') AS t,
                (SELECT count(*)::int FROM information_schema.columns WHERE table_name = 'transactions' AND column_name = 'critical_path_cache') AS col`,
      );
      expect(left[0]).toEqual({ t: null, col: 0 });
    } finally {
      await c.end().catch(() => undefined);
      await own.drop();
    }
  });
});
