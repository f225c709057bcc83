import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A finished large run's kept whole list also as brotli (`transactions.list_cache_br`), beside its gzip
 * (GzipListCache, the migration before), issue #17.
 *
 * Why: the list is sent as kept, and a client that accepts brotli (every browser, for the web page) is
 * sent brotli, as the compression middleware does for every other answer (issue #16: ~25 % smaller than
 * gzip for the benchmark's 30,000-row run, 459 KB against 608 KB). Clients that take gzip only (fuel2, Node's
 * fetch, the CLI) keep getting the gzip. Both together are about what the JSON text took compressed by
 * pglz (885 KB), and both are made once, when the list is kept.
 */
export class BrotliListCache1765000000000 implements MigrationInterface {
  name = 'BrotliListCache1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions ADD COLUMN list_cache_br bytea`);
    await q.query(`ALTER TABLE transactions ALTER COLUMN list_cache_br SET STORAGE EXTERNAL`);
    // A gzip kept without its brotli is built again at the next read, with both.
    await q.query(`UPDATE transactions SET list_cache = NULL WHERE list_cache IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions DROP COLUMN list_cache_br`);
  }
}
