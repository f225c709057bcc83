import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a finished run's reads compute from all its rows, kept once computed: its summary (counts per
 * node and status, first failure, slowest tasks: ~35 ms at 30,000 rows) and, for a large run, its whole
 * list as served (~350 ms of JSON building at 30,000 rows). The summary as json, not jsonb: json keeps
 * the key order, which is the order the summary shows nodes and statuses in. The writer clears both
 * whenever it writes the run's rows; they are only stored for a run that ended, under its row lock.
 */
export class RunCaches1764100000000 implements MigrationInterface {
  name = 'RunCaches1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions ADD COLUMN summary_cache json, ADD COLUMN list_cache text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions DROP COLUMN summary_cache, DROP COLUMN list_cache`);
  }
}
