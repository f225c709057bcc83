import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Arbitrary, fixed key of the session-level advisory lock taken while migrating. */
export const MIGRATION_LOCK_KEY = 7_420_190_001;

/**
 * Runs pending migrations while holding a PostgreSQL advisory lock, so instances starting together
 * migrate one after the other: the second waits, then finds nothing left to do.
 */
export async function runMigrationsLocked(ds: DataSource, logger = new Logger('Migrations')): Promise<string[]> {
  const lock = ds.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    for (const m of applied) logger.log(`applied migration ${m.name}`);
    return applied.map((m) => m.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.release();
  }
}
