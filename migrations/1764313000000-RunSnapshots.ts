import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a run was deployed with, and its tasks' definitions per node (issue #13).
 *
 * run_snapshots: the deployment info (per node, and the part every node shares), the cluster settings
 * and the network configuration a run's start sent, as Nailgun 10 kept them per transaction and served
 * them to `fuel2 task ... download`. One row per (run, kind, node); node NULL for what is not per node.
 * `json`, not `jsonb`: they are stored and served whole, never queried inside, so the text is kept as
 * sent (its key order too) and costs no conversion either way; a large environment's deployment info
 * is tens of MB. A table of its own rather than columns of `transactions`, whose rows every read of a
 * run loads.
 *
 * node_task_definitions: a task's definition on the nodes where it differs from the one most of its
 * nodes share, which stays in transactions.tasks_snapshot (Astute's graph is per node: its relations
 * name nodes). Only the differing ones: a graph whose nodes share their definitions (most runs) adds
 * nothing here, and history rows stay as narrow as the write path needs them. No foreign key from the
 * rows: a run's rows and its definitions are written by one statement and deleted with the run.
 *
 * Both go with their run (ON DELETE CASCADE): retention and history deletion remove runs only.
 *
 * transactions.list_cache_shape: the version of the row shape a kept whole-run list was built in (rows
 * now carry their task's definition); a list kept in another shape is built afresh rather than served.
 * Lists kept until now were built without definitions: dropped here (they would never be served again).
 */
export class RunSnapshots1764313000000 implements MigrationInterface {
  name = 'RunSnapshots1764313000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE run_snapshots (
        transaction_id  integer NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        kind            text NOT NULL CHECK (kind IN ('deployment_info', 'settings', 'network_configuration')),
        node_uid        varchar(255),
        data            json NOT NULL,
        CONSTRAINT run_snapshots_key UNIQUE NULLS NOT DISTINCT (transaction_id, kind, node_uid)
      )`);
    await q.query(`
      CREATE TABLE node_task_definitions (
        transaction_id  integer NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        node_id         varchar(255),
        task_name       varchar(255) NOT NULL,
        definition      jsonb NOT NULL,
        CONSTRAINT node_task_definitions_key UNIQUE NULLS NOT DISTINCT (transaction_id, task_name, node_id)
      )`);
    await q.query(`ALTER TABLE transactions ADD COLUMN list_cache_shape smallint`);
    await q.query(`UPDATE transactions SET list_cache = NULL WHERE list_cache IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions DROP COLUMN list_cache_shape`);
    await q.query(`DROP TABLE node_task_definitions`);
    await q.query(`DROP TABLE run_snapshots`);
  }
}
