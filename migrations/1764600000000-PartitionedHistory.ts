import { MigrationInterface, QueryRunner } from 'typeorm';

/** Runs (transaction ids) per partition this migration creates; later ones follow HISTORY_PARTITION_RUNS. */
const RANGE = 1000;

/** The columns of a history row that are stored (sort_time is computed from them). */
const COLUMNS = `id, transaction_id, cluster_id, node_id, task_name, task_type, status, time_start, time_end,
  error_message, closed_reason, summary, custom, created_at, row_version`;

/**
 * deployment_history partitioned by range of run (transaction_id), issue #17.
 *
 * Why: retention deleted old runs' rows one by one and the space came back only with VACUUM FULL,
 * which rewrites the table and blocks every write meanwhile. Partitioned by run id, a range of old
 * runs is one table: detached and dropped, its space is back at once (src/history/persistence/partitions.ts).
 * By run id rather than by time because every read and write of rows names its run: the unique key
 * (transaction_id, task_name, node_id), a run's list, its summary, the writer's merge all stay inside one
 * partition (pruned when the run is known), and a run never straddles two partitions.
 *
 * What PostgreSQL asks of a partitioned table, and what changes with it:
 * - a unique index must contain the partition key: the primary key becomes (id, transaction_id). `id`
 *   leads, so every lookup by id alone (the writer's updates, cluster_state.history_id, keyset pages by
 *   (sort_time, id)) still finds its row by index, one probe per partition; ids stay unique (one sequence).
 * - storage parameters are per partition: fillfactor 80 (status-only updates stay HOT) is set on each.
 * - a DEFAULT partition takes the rows of any run whose range has no partition yet, so that an insert
 *   never fails for want of one; the service keeps partitions ahead of the runs' id sequence.
 *
 * The rows are moved over with their ids, versions and times; the id sequence (and the version
 * sequence) are kept. Partitions are created for every range up to one beyond the last run id given.
 * Indexes and constraints are built after the rows are in (faster than maintaining them row by row).
 */
export class PartitionedHistory1764600000000 implements MigrationInterface {
  name = 'PartitionedHistory1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deployment_history RENAME TO deployment_history_unpartitioned`);
    for (const [from, to] of RENAMES) await q.query(`ALTER INDEX ${from} RENAME TO ${to}`);
    await q.query(
      `ALTER TABLE deployment_history_unpartitioned RENAME CONSTRAINT deployment_history_transaction_id_fkey TO deployment_history_unpartitioned_fkey`,
    );
    await q.query(`
      CREATE TABLE deployment_history (
        id              bigint NOT NULL DEFAULT nextval('deployment_history_id_seq'),
        transaction_id  integer NOT NULL,
        ${OTHER_COLUMNS}
      ) PARTITION BY RANGE (transaction_id)`);
    // The sequence goes with the new table (dropping the old one must not drop it).
    await q.query(`ALTER SEQUENCE deployment_history_id_seq OWNED BY deployment_history.id`);
    const [{ last }] = (await q.query(
      `SELECT GREATEST((SELECT last_value FROM transactions_id_seq), (SELECT COALESCE(max(id), 0) FROM transactions))::int AS last`,
    )) as Array<{ last: number }>;
    for (let lo = 0; lo <= last + RANGE; lo += RANGE) {
      await q.query(
        `CREATE TABLE deployment_history_p${lo} PARTITION OF deployment_history FOR VALUES FROM (${lo}) TO (${lo + RANGE}) WITH (fillfactor = 80)`,
      );
    }
    await q.query(`CREATE TABLE deployment_history_default PARTITION OF deployment_history DEFAULT WITH (fillfactor = 80)`);
    await q.query(
      `INSERT INTO deployment_history (${COLUMNS}) SELECT ${COLUMNS} FROM deployment_history_unpartitioned ORDER BY transaction_id, id`,
    );
    await q.query(`DROP TABLE deployment_history_unpartitioned`);
    await q.query(`ALTER TABLE deployment_history ADD CONSTRAINT deployment_history_pkey PRIMARY KEY (id, transaction_id)`);
    await secondaryKeys(q);
    await q.query(
      `ALTER TABLE deployment_history ADD CONSTRAINT deployment_history_transaction_id_fkey
       FOREIGN KEY (transaction_id) REFERENCES transactions (id) ON DELETE CASCADE`,
    );
    await q.query(`ANALYZE deployment_history`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE deployment_history_unpartitioned (
        id              bigint NOT NULL DEFAULT nextval('deployment_history_id_seq') PRIMARY KEY,
        transaction_id  integer NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        ${OTHER_COLUMNS}
      ) WITH (fillfactor = 80)`);
    await q.query(`ALTER SEQUENCE deployment_history_id_seq OWNED BY deployment_history_unpartitioned.id`);
    await q.query(
      `INSERT INTO deployment_history_unpartitioned (${COLUMNS}) SELECT ${COLUMNS} FROM deployment_history ORDER BY transaction_id, id`,
    );
    await q.query(`DROP TABLE deployment_history`);
    // Partitions retention detached but could not drop yet (partitions.ts) hold only removed runs' rows.
    const leftovers = (await q.query(
      `SELECT relname AS name FROM pg_class WHERE relkind = 'r' AND relname ~ '^deployment_history_p[0-9]+$'`,
    )) as Array<{ name: string }>;
    for (const { name } of leftovers) await q.query(`DROP TABLE ${name}`);
    await q.query(`ALTER TABLE deployment_history_unpartitioned RENAME TO deployment_history`);
    await q.query(`ALTER INDEX deployment_history_unpartitioned_pkey RENAME TO deployment_history_pkey`);
    await q.query(
      `ALTER TABLE deployment_history RENAME CONSTRAINT deployment_history_unpartitioned_transaction_id_fkey TO deployment_history_transaction_id_fkey`,
    );
    await secondaryKeys(q);
    await q.query(`ANALYZE deployment_history`);
  }
}

/** Both tables' columns after id and transaction_id (whose keys differ: see up and down), as InitialSchema made them. */
const OTHER_COLUMNS = `cluster_id      integer NOT NULL,
        node_id         varchar(255),
        task_name       varchar(255) NOT NULL,
        task_type       varchar(255),
        status          history_status NOT NULL DEFAULT 'pending',
        time_start      timestamptz,
        time_end        timestamptz,
        error_message   text,
        closed_reason   text,
        summary         jsonb,
        custom          jsonb NOT NULL DEFAULT '{}',
        created_at      timestamptz NOT NULL DEFAULT now(),
        row_version     bigint NOT NULL DEFAULT nextval('deployment_history_version_seq'),
        sort_time       timestamptz GENERATED ALWAYS AS (COALESCE(time_start, time_end, created_at)) STORED`;

/** The unique key and the cross-run indexes, the same on both tables (built once the rows are in). */
async function secondaryKeys(q: QueryRunner): Promise<void> {
  await q.query(
    `ALTER TABLE deployment_history ADD CONSTRAINT deployment_history_row_uq UNIQUE NULLS NOT DISTINCT (transaction_id, task_name, node_id)`,
  );
  await q.query(`CREATE INDEX deployment_history_cluster_time_idx ON deployment_history (cluster_id, sort_time DESC, id DESC)`);
  await q.query(`CREATE INDEX deployment_history_node_time_idx ON deployment_history (cluster_id, node_id, sort_time DESC, id DESC)`);
}

/** The unpartitioned table's indexes, renamed out of the way of the new table's (index names are per schema). */
const RENAMES: Array<[string, string]> = [
  ['deployment_history_pkey', 'deployment_history_unpartitioned_pkey'],
  ['deployment_history_row_uq', 'deployment_history_unpartitioned_row_uq'],
  ['deployment_history_cluster_time_idx', 'deployment_history_unpartitioned_cluster_time_idx'],
  ['deployment_history_node_time_idx', 'deployment_history_unpartitioned_node_time_idx'],
];
