import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The summary of a finished run (counts per node and status, first failure, slowest tasks: a scan of
 * every row of the run, ~35 ms at 30,000 rows), kept once computed. As json, not jsonb: json keeps the
 * key order, which is the order the summary shows nodes and statuses in. The writer clears it whenever
 * it writes the run's rows; it is only stored for a run that ended, while holding the run's row lock.
 */
export class RunSummaryCache1764100000000 implements MigrationInterface {
  name = 'RunSummaryCache1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions ADD COLUMN summary_cache json`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions DROP COLUMN summary_cache`);
  }
}
