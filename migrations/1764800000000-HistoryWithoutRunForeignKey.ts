import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * deployment_history without its foreign key to transactions, issue #17.
 *
 * Why: the key was checked at every row inserted (a trigger running a `SELECT ... FOR KEY SHARE` of the
 * run per row): 7.5 µs per row against 4.7 µs for the insert itself with its unique key (measured on
 * this machine, 100,000 rows, EXPLAIN ANALYZE's trigger time), about a tenth of PostgreSQL's CPU in the
 * ingest (a perf profile of the 2,000-run benchmark: the constraint triggers 8 % of PostgreSQL's samples).
 * What the key guarded is kept by the one home of every write of history rows, RunChanges
 * (src/history/persistence/run-changes.ts; test/medium/writer-statements.spec.ts checks that no other
 * file writes them): rows are only inserted joined to their run (with the run in the same statement, or
 * joined to transactions), under the run's row lock (lock-order.ts), which a deletion of the run holds
 * too; and RunChanges.remove deletes a run's rows in the statement that deletes the run (what the key's
 * ON DELETE CASCADE did). Retention's whole partitions leave with their rows (DETACH, then DROP).
 */
export class HistoryWithoutRunForeignKey1764800000000 implements MigrationInterface {
  name = 'HistoryWithoutRunForeignKey1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deployment_history DROP CONSTRAINT deployment_history_transaction_id_fkey`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Rows of a run that no longer exists cannot be left by RunChanges; should there be any, the key
    // could not be added over them.
    await q.query(`DELETE FROM deployment_history h WHERE NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = h.transaction_id)`);
    await q.query(
      `ALTER TABLE deployment_history ADD CONSTRAINT deployment_history_transaction_id_fkey
       FOREIGN KEY (transaction_id) REFERENCES transactions (id) ON DELETE CASCADE`,
    );
  }
}
