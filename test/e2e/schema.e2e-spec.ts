import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
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
      sql.query(`INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name) VALUES ($1, 1, $2, 'deploy_start')`, [rows[0].id, node]);
    await insert(null);
    await expect(insert(null)).rejects.toThrow(/deployment_history_row_uq/);
    await insert('1');
    await expect(insert('1')).rejects.toThrow(/deployment_history_row_uq/);
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
      ['a cluster, by status and time range', sql(`AND h.status = ANY('{error}'::history_status[]) AND h.sort_time >= now() - interval '1 day' AND h.sort_time < now()`), [cluster]],
      ['a cluster, by run type, current epoch', sql(`AND t.name = ANY('{deployment}') AND t.epoch = (SELECT c.epoch FROM clusters c WHERE c.id = $1)`), [cluster]],
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
      ['one row (the write path)', `SELECT * FROM deployment_history WHERE transaction_id = $1 AND task_name = 'task-7' AND node_id IS NOT DISTINCT FROM '3'`, [tx[0].id]],
      ['runs of a cluster', 'SELECT * FROM transactions WHERE cluster_id = $1 ORDER BY id', [tx[0].cluster_id]],
      ...crossRun(tx[0].cluster_id, pageKey[0]),
      ['a run by uuid', 'SELECT * FROM transactions WHERE uuid = ANY($1)', [['scale-7', 'scale-8']]],
    ];
    for (const [name, query, params] of queries) {
      const p = await plan(query, params);
      expect(/Seq Scan on (deployment_history|transactions)/.test(p) ? `${name}:\n${p}` : 'no sequential scan').toBe('no sequential scan');
    }
  }, 180000);
});
