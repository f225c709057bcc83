import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { runMigrationsLocked } from '../../src/common/database/migrate';
import { createTestDatabase } from '../support/database';

type Migration = (typeof MIGRATIONS)[number];

/** A logger that says nothing (the migrations' progress is not the test's). */
export const quiet = () => ({ log: () => undefined }) as never;

/** The names of `table`'s foreign keys, in name order. */
export async function foreignKeysOf(sql: Client, table: string): Promise<string[]> {
  const { rows } = await sql.query<{ conname: string }>(
    `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname`,
    [table],
  );
  return rows.map((r) => r.conname);
}

/** The migrations before `m`, and through it. */
const migrationsBefore = (m: Migration) => MIGRATIONS.slice(0, MIGRATIONS.indexOf(m));
export const migrationsThrough = (m: Migration) => MIGRATIONS.slice(0, MIGRATIONS.indexOf(m) + 1);

/**
 * A fresh database migrated up to just before migration `m`, for a test of `m` on data: a client on it
 * (`sql`), DataSources for a list of migrations (`source`), and `close` (which drops it).
 */
export async function databaseBefore(prefix: string, m: Migration) {
  const db = await createTestDatabase(prefix);
  const sql = new Client({ connectionString: db.url });
  await sql.connect();
  const source = (migrations: Migration[]) => new DataSource({ type: 'postgres', url: db.url, migrations, logging: false });
  const before = await source(migrationsBefore(m)).initialize();
  try {
    await runMigrationsLocked(before, quiet());
  } finally {
    await before.destroy();
  }
  return {
    sql,
    source,
    close: async () => {
      await sql.end();
      await db.drop();
    },
  };
}
