import * as pg from 'pg';

/**
 * Getting a connection failed without a SQLSTATE: the pool timed out, the server closed the socket
 * during the handshake, the client could not be made queryable. pg and its pool raise these as plain
 * `Error`s, indistinguishable from any other bare Error; the pool given to TypeORM re-raises them as
 * this class, so that whose fault a failure is (db-errors.ts) is decided by class.
 */
export class DatabaseConnectionError extends Error {
  override readonly name = 'DatabaseConnectionError';
}

const hasSqlState = (e: unknown) => typeof (e as { code?: unknown })?.code === 'string';

function classified(e: unknown): unknown {
  // A SQLSTATE (55000, 3D000, 28000, 53300...) or a socket's system error already says what it is.
  if (!(e instanceof Error) || hasSqlState(e)) return e;
  return new DatabaseConnectionError(e.message, { cause: e });
}

type Done = (release?: unknown) => void;
type Callback = (err: Error | undefined, client: pg.PoolClient | undefined, done: Done) => void;

/** pg's Pool, whose connection failures without a SQLSTATE are DatabaseConnectionErrors. */
class ClassifyingPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: Callback): void;
  override connect(callback?: Callback): Promise<pg.PoolClient> | void {
    if (!callback) {
      return super.connect().catch((e: unknown) => {
        throw classified(e);
      });
    }
    super.connect((err, client, done) => callback(err ? (classified(err) as Error) : undefined, client, done as Done));
  }
}

/** The pg module TypeORM is given (its `driver` option): pg itself, with the classifying pool. */
export const pgDriver = { ...pg, Pool: ClassifyingPool };
export { ClassifyingPool };
