import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * clusters, transactions (runs) and deployment_history (one row per node and task of a run).
 * Uniqueness of (transaction, task, node) holds for cluster-level rows too (NULLS NOT DISTINCT, PG 15).
 * A cluster's epoch grows at each reset; each run keeps the epoch it started in.
 */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE clusters (
        id          integer PRIMARY KEY CHECK (id >= 0),
        name        text NOT NULL,
        release     text NOT NULL,
        epoch       integer NOT NULL DEFAULT 1,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE TYPE transaction_status AS ENUM ('pending', 'running', 'ready', 'error', 'stopped')`);
    await q.query(`
      CREATE TABLE transactions (
        id                serial PRIMARY KEY,
        uuid              varchar(255) NOT NULL,
        cluster_id        integer NOT NULL REFERENCES clusters (id),
        name              text NOT NULL,
        graph_type        text NOT NULL DEFAULT 'default',
        dry_run           boolean NOT NULL DEFAULT false,
        status            transaction_status NOT NULL DEFAULT 'pending',
        progress          smallint NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
        message           text,
        parent_id         integer REFERENCES transactions (id) ON DELETE SET NULL,
        history_recorded  boolean NOT NULL,
        release           text NOT NULL,
        epoch             integer NOT NULL DEFAULT 1,
        tasks_snapshot    jsonb NOT NULL DEFAULT '{}',
        status_time       timestamptz,
        time_start        timestamptz NOT NULL,
        time_end          timestamptz,
        created_at        timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT transactions_uuid_uq UNIQUE (uuid)
      )`);
    await q.query(`CREATE INDEX transactions_cluster_idx ON transactions (cluster_id, id)`);
    await q.query(`CREATE INDEX transactions_parent_idx ON transactions (parent_id) WHERE parent_id IS NOT NULL`);
    await q.query(`CREATE SEQUENCE deployment_history_version_seq`);
    await q.query(`CREATE TYPE history_status AS ENUM ('pending', 'running', 'ready', 'error', 'skipped')`);
    await q.query(`
      CREATE TABLE deployment_history (
        id              bigserial PRIMARY KEY,
        transaction_id  integer NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        cluster_id      integer NOT NULL,
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
        -- Bumped at every change; within a run it grows in commit order (writers hold the run's row lock),
        -- so a live view asks for the rows above the version it has seen.
        row_version     bigint NOT NULL DEFAULT nextval('deployment_history_version_seq'),
        -- Time a row is ordered and filtered by across runs: started, else ended, else announced.
        sort_time       timestamptz GENERATED ALWAYS AS (COALESCE(time_start, time_end, created_at)) STORED,
        CONSTRAINT deployment_history_row_uq UNIQUE NULLS NOT DISTINCT (transaction_id, task_name, node_id)
      ) WITH (fillfactor = 80)`); // room on each page, so status-only updates stay HOT (no index writes)
    // Cross-run lists: a cluster's rows, and one node's rows, newest first (keyset pagination).
    await q.query(`CREATE INDEX deployment_history_cluster_time_idx ON deployment_history (cluster_id, sort_time DESC, id DESC)`);
    await q.query(`CREATE INDEX deployment_history_node_time_idx ON deployment_history (cluster_id, node_id, sort_time DESC, id DESC)`);
    // The current state of each cluster, kept by the writer: per epoch and (node, task), the last
    // ready row of a real (not dry) run. Reading the state is then a lookup, not a scan of history.
    await q.query(`
      CREATE TABLE cluster_state (
        cluster_id      integer NOT NULL REFERENCES clusters (id),
        epoch           integer NOT NULL,
        node_id         varchar(255),
        task_name       varchar(255) NOT NULL,
        transaction_id  integer NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        history_id      bigint NOT NULL,
        time_end        timestamptz NOT NULL,
        CONSTRAINT cluster_state_key UNIQUE NULLS NOT DISTINCT (cluster_id, epoch, node_id, task_name)
      )`);
    await q.query(`CREATE INDEX cluster_state_history_idx ON cluster_state (history_id)`);
    await q.query(`CREATE INDEX cluster_state_transaction_idx ON cluster_state (transaction_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE cluster_state`);
    await q.query(`DROP TABLE deployment_history`);
    await q.query(`DROP TYPE history_status`);
    await q.query(`DROP SEQUENCE deployment_history_version_seq`);
    await q.query(`DROP TABLE transactions`);
    await q.query(`DROP TYPE transaction_status`);
    await q.query(`DROP TABLE clusters`);
  }
}
