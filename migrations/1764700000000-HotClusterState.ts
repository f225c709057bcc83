import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * cluster_state's entries updated in place (HOT), issue #17.
 *
 * Why: every task that turns ready moves its (cluster, epoch, node, task) entry to the new row: the
 * update changes transaction_id and history_id, and both had an index of their own. An update that
 * changes an indexed column is never HOT: each one wrote a new entry into all three indexes of the table,
 * and the foreign key to transactions checked (and key-share locked) the run's row again. That was at
 * every ready report, the half of all casts, and the entries it left behind bloated the indexes of a
 * table that never grows.
 * Now only the entry's key is indexed (cluster_state_key, whose columns an update never changes): with
 * room left on each page (fillfactor 50: the table is small, one entry per key), the update is HOT,
 * no index write at all.
 * What the two indexes and the foreign key served, and what does it now:
 * - emptying the entries of runs being deleted, or of rows no longer ready (ClusterStateRepository
 *   removeOfRuns / removeOfRows), found them by run or row id: they are found by their runs' cluster
 *   and epoch instead (a prefix of the key), then by run or row id among those entries.
 * - ON DELETE CASCADE from transactions: every deletion of runs (RunChanges.remove, the only one:
 *   test/medium/writer-statements.spec.ts) empties the runs' entries first and hands their keys back,
 *   so the cascade never had anything left to delete. Without the index, a cascade would have scanned the
 *   whole table once per deleted run.
 */
export class HotClusterState1764700000000 implements MigrationInterface {
  name = 'HotClusterState1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE cluster_state DROP CONSTRAINT cluster_state_transaction_id_fkey`);
    await q.query(`DROP INDEX cluster_state_history_idx`);
    await q.query(`DROP INDEX cluster_state_transaction_idx`);
    // Pages filled from now on keep half their room for new versions of their entries.
    await q.query(`ALTER TABLE cluster_state SET (fillfactor = 50)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE cluster_state RESET (fillfactor)`);
    await q.query(`CREATE INDEX cluster_state_history_idx ON cluster_state (history_id)`);
    await q.query(`CREATE INDEX cluster_state_transaction_idx ON cluster_state (transaction_id)`);
    // No deletion leaves an entry of a missing run behind (see above); should one have, the key cannot be
    // added back over it, and such an entry shows nothing (the state's read joins its run).
    await q.query(`DELETE FROM cluster_state s WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = s.transaction_id)`);
    await q.query(
      `ALTER TABLE cluster_state ADD CONSTRAINT cluster_state_transaction_id_fkey
       FOREIGN KEY (transaction_id) REFERENCES transactions (id) ON DELETE CASCADE`,
    );
  }
}
