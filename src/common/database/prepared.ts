import { createHash } from 'node:crypto';
import { EntityManager, QueryFailedError, QueryRunnerAlreadyReleasedError } from 'typeorm';
import { RetryableWriteError } from './db-errors';
import { DriverResult, managerAnswer, Queryable } from './sql';

/** Named statements one connection keeps at most; past it, statements go unnamed (each parsed and planned). */
export const PREPARED_PER_CONNECTION = 100;

/** What a pg client is to this file: a query by name, text and values. */
interface NamedQueryClient {
  query(q: { name?: string; text: string; values: unknown[] }): Promise<DriverResult>;
}

/** The names each connection has been sent (as they are prepared in its server process), at most PREPARED_PER_CONNECTION. */
const namedOn = new WeakMap<object, Set<string>>();

/** Connections whose prepared statements were found not to be what they were sent: statements go unnamed there. */
const unnamedOn = new WeakSet<object>();

/**
 * Whether PostgreSQL's answer to a named statement says its connection does not hold it as it was sent: 26000
 * (no such statement: a `DEALLOCATE`, a pooler that does not keep them between transactions), 42P05 (one of
 * that name exists: a pooler mixing clients on one server connection), or 0A000 raised where a kept plan is
 * checked again (its `routine` field: "cached plan must not change result type", a migration changed what the
 * statement returns while this instance ran; other 0A000s are what they are). The store's state, not a fault
 * of what is written. By the error's fields, not its text.
 */
function isStaleStatement(e: unknown): boolean {
  const { code, routine } = e as { code?: unknown; routine?: unknown };
  return code === '26000' || code === '42P05' || (code === '0A000' && routine === 'RevalidateCachedQuery');
}

/** A statement's name: its text's digest, the same on every connection and every instance. */
export const statementName = (text: string): string => `dh_${createHash('sha1').update(text).digest('base64url')}`;

/**
 * The caller's transaction as a Queryable whose statements are sent as named (prepared) statements of its
 * connection: each text is parsed and analyzed by PostgreSQL once per connection, and planned as the
 * transaction's `plan_cache_mode` says (issue #17: the writer's small batches, see HistoryWriter.apply).
 * A named statement's cached plan is reused whatever the planner settings of a later transaction are: use
 * this only where every transaction that sends these texts sets the same settings first.
 *
 * Bounded: a connection is sent at most PREPARED_PER_CONNECTION names (its server process keeps each with
 * its plan until the connection closes); past that, statements go unnamed (under the transaction's
 * settings, each then planned at every execution). The writer's texts are few (runsOf pads its list).
 * Answers as the manager's own `query` does (rows; `[rows, count]` for UPDATE and DELETE) and fails as it
 * does (QueryFailedError around the driver's error, logged by the data source's logger), so that callers
 * and whose fault a failure is (db-errors.ts) cannot tell the difference; except when the connection no
 * longer holds a named statement as it was sent (isStaleStatement): the store's side, a RetryableWriteError,
 * and that connection's statements unnamed from then on. Without a transaction's
 * connection (a manager that is not TypeORM's), the manager itself.
 */
export function preparedStatements(m: EntityManager): Queryable {
  const runner = m.queryRunner as { databaseConnection?: NamedQueryClient; isReleased?: boolean } | undefined;
  const client = runner?.databaseConnection;
  if (!runner || !client || typeof client.query !== 'function') return m;
  const query = async (text: string, params: unknown[] = []): Promise<unknown> => {
    // As TypeORM's own query: never on a connection given back to the pool (another transaction's now).
    if (runner.isReleased) throw new QueryRunnerAlreadyReleasedError();
    const name = unnamedOn.has(client) ? undefined : nameFor(client, text);
    try {
      return managerAnswer(await client.query({ ...(name ? { name } : {}), text, values: params }));
    } catch (e) {
      m.connection.logger.logQueryError(e as Error, text, params);
      // A named statement gone stale on this connection: the transaction is aborted; run again (retryingTransaction),
      // its statements then unnamed on this connection for as long as it lives (the pool closes a connection only
      // once idle: under steady load, until the process ends), which is slower, never wrong. Not prepared again
      // there: behind a pooler that drops them, they would go stale again at every batch.
      if (name && isStaleStatement(e)) {
        unnamedOn.add(client);
        throw new RetryableWriteError(`a prepared statement of this connection is stale (${(e as Error).message}): run again unnamed`);
      }
      throw new QueryFailedError(text, params, e as Error);
    }
  };
  return { query } as Queryable;
}

/** The name `text` goes by on `client`, or undefined once the client holds its share of names. */
function nameFor(client: object, text: string): string | undefined {
  let names = namedOn.get(client);
  if (!names) namedOn.set(client, (names = new Set()));
  const name = statementName(text);
  if (names.has(name)) return name;
  if (names.size >= PREPARED_PER_CONNECTION) return undefined;
  names.add(name);
  return name;
}
