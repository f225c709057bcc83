import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Who a run's nodes were, and a run's critical path kept (issue #15).
 *
 * run_nodes: each node's roles and host name as the run's start gave them. The roles resolve a
 * fuel-library graph's `cross_depends` role selectors (the critical path walks those edges) and group
 * task statistics per role; the host name names a node for a reader. Per run, not per cluster: nodes
 * change roles and are replaced between runs, and a run's answer must stay the one of its own nodes.
 * A table of its own (a few rows a run) rather than a column of `transactions`, whose rows every read
 * of a run loads; deleted with its run.
 *
 * Existing runs: their nodes are filled from the deployment info they kept (run_snapshots), read the
 * way the receiver reads it (src/receiver/cast-nodes.ts: `roles`, else `role`; `fqdn`, else `name`).
 * Runs that kept none have no rows here, and their answers say nothing of roles, as before.
 *
 * transactions.critical_path_cache: a finished run's critical path, kept like its summary (RunCache),
 * forgotten with the other kept answers whenever its rows change.
 */
export class RunNodes1764400000000 implements MigrationInterface {
  name = 'RunNodes1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE run_nodes (
        transaction_id  integer NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
        node_id         varchar(255) NOT NULL,
        roles           text[] NOT NULL DEFAULT '{}',
        hostname        text,
        PRIMARY KEY (transaction_id, node_id)
      )`);
    await q.query(`ALTER TABLE transactions ADD COLUMN critical_path_cache jsonb`);
    await q.query(`
      INSERT INTO run_nodes (transaction_id, node_id, roles, hostname)
      SELECT s.transaction_id, s.node_uid,
             CASE WHEN json_typeof(s.data -> 'roles') = 'array'
                    THEN ARRAY(SELECT DISTINCT r FROM json_array_elements_text(s.data -> 'roles') AS r WHERE btrim(r) <> '')
                  WHEN json_typeof(s.data -> 'role') = 'string' AND btrim(s.data ->> 'role') <> ''
                    THEN ARRAY[s.data ->> 'role']
                  ELSE '{}' END,
             COALESCE(CASE WHEN json_typeof(s.data -> 'fqdn') = 'string' THEN NULLIF(btrim(s.data ->> 'fqdn'), '') END,
                      CASE WHEN json_typeof(s.data -> 'name') = 'string' THEN NULLIF(btrim(s.data ->> 'name'), '') END)
      FROM run_snapshots s
      WHERE s.kind = 'deployment_info' AND s.node_uid IS NOT NULL AND json_typeof(s.data) = 'object'
      ON CONFLICT DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions DROP COLUMN critical_path_cache`);
    await q.query(`DROP TABLE run_nodes`);
  }
}
