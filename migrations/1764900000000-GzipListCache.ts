import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A finished large run's kept whole list as gzip (`transactions.list_cache` bytea), issue #17.
 *
 * Why: the list was kept as JSON text, and every read of it paid for the whole text again: PostgreSQL
 * decompressing its TOAST (pglz, ~50 ms for the benchmark's 30,000-row run, 7.4 MB), sending it, `pg`
 * gathering and decoding 7.4 MB (~110 ms of the service's CPU), then Express hashing it for its ETag and
 * the compression middleware gzipping it again: ~190 ms of the service before the first byte, a read
 * whose target is 300 ms in all. Kept gzipped, the same read sends the 600 KB a client that accepts gzip
 * (fuel2, browsers, fetch) would have received anyway, as they are (history-query.service.ts); a client
 * that accepts no gzip gets it inflated by the service.
 *
 * STORAGE EXTERNAL: out of line without pglz, which cannot shrink gzip (it would try at every write).
 * Kept lists are dropped (no conversion of the text in SQL): a cache, built again at the next read.
 */
export class GzipListCache1764900000000 implements MigrationInterface {
  name = 'GzipListCache1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions ALTER COLUMN list_cache TYPE bytea USING NULL, ALTER COLUMN list_cache SET STORAGE EXTERNAL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE transactions ALTER COLUMN list_cache TYPE text USING NULL, ALTER COLUMN list_cache SET STORAGE EXTENDED`);
  }
}
