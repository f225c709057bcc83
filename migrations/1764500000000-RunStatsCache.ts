import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * transactions.stats_cache (issue #15): a finished run's counted rows (task, node, duration, failure),
 * compacted into one text, kept like its summary (RunCache; forgotten by RunChanges.commit when a late
 * report changes its rows). A cluster's task statistics read its ~500 runs' texts instead of their
 * ~50,000 rows, which lie scattered over the whole history table (p95 279 ms at the benchmark's 10,000
 * runs against a 200 ms target). Text, not jsonb: it is read whole and parsed by the service, never
 * queried inside, and a text is what costs least to write and read. Existing runs fill it on first read.
 */
export class RunStatsCache1764500000000 implements MigrationInterface {
  name = 'RunStatsCache1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions ADD COLUMN stats_cache text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions DROP COLUMN stats_cache`);
  }
}
