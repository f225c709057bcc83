import type { DataSource, EntityManager } from 'typeorm';

/** What a repository runs its statements on: the data source, or a transaction's manager. */
export type Queryable = Pick<DataSource | EntityManager, 'query'>;

/** A pg result, as far as a Queryable's answer needs it. */
export interface DriverResult {
  command?: string;
  rows: unknown[];
  rowCount?: number | null;
}

/**
 * A pg result answered as TypeORM's PostgreSQL driver answers a query (what `execute` below reads):
 * `[rows, affectedCount]` for UPDATE and DELETE, `rows` for every other statement. For a Queryable made
 * over a pg client of our own.
 */
export function managerAnswer(raw: DriverResult): unknown {
  return raw.command === 'UPDATE' || raw.command === 'DELETE' ? [raw.rows, raw.rowCount ?? 0] : raw.rows;
}

/**
 * A pg client (a connection taken from the pool directly, outside TypeORM) as a Queryable: it answers as
 * the data source answers a query.
 */
export function clientQueryable(client: { query(sql: string, params?: unknown[]): Promise<DriverResult> }): Queryable {
  return { query: async (sql: string, params?: unknown[]) => managerAnswer(await client.query(sql, params)) } as Queryable;
}

/**
 * The rows a statement returns (SELECT, or INSERT/UPDATE/DELETE … RETURNING), typed by the caller.
 * TypeORM's PostgreSQL driver answers UPDATE and DELETE with `[rows, affectedCount]` and every other
 * statement with `rows` (managerAnswer above makes the same of a pg result); this is the one place that reads
 * it, so that no repository handles it case by case.
 */
export async function selectRows<T>(db: Queryable, sql: string, params: readonly unknown[] = []): Promise<T[]> {
  return (await execute<T>(db, sql, params)).rows;
}

/** The first row a statement returns, or undefined. */
export async function selectOne<T>(db: Queryable, sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
  return (await execute<T>(db, sql, params)).rows[0];
}

/** Runs a statement; its rows (when it returns any) and how many rows it changed (UPDATE, DELETE) or returned (an INSERT without RETURNING says 0: TypeORM does not pass its count on). */
export async function execute<T = never>(
  db: Queryable,
  sql: string,
  params: readonly unknown[] = [],
): Promise<{ rows: T[]; count: number }> {
  const raw: unknown = await db.query(sql, [...params]);
  if (Array.isArray(raw) && raw.length === 2 && Array.isArray(raw[0]) && typeof raw[1] === 'number') {
    return { rows: raw[0] as T[], count: raw[1] };
  }
  const rows = Array.isArray(raw) ? (raw as T[]) : [];
  return { rows, count: rows.length };
}
