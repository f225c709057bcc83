import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource, EntityManager } from 'typeorm';
import { isConcurrencyFailure } from './db-errors';

export { RetryableWriteError } from './db-errors';

/** Tries of one transaction before its concurrency failure is the caller's (then a 503: retry later). */
export const TRANSACTION_ATTEMPTS = 4;

export interface RetryOptions {
  /** Where a retry is noted (debug: a lost race is routine, not a fault). */
  logger?: { debug(message: string): void };
  /** What the transaction does, for that note. */
  what?: string;
  attempts?: number;
}

/**
 * Runs `work` in one database transaction and, when PostgreSQL aborts it for a deadlock or a
 * serialization failure (or a writer lost a race: RetryableWriteError), runs it again from the start,
 * after a short random pause so that the two parties of a deadlock do not meet again at once. `work`
 * must be safe to run again: everything it did was rolled back, and it reads the winner's rows anew.
 * Every transaction that takes locks in the lock order (lock-order.ts) runs through here.
 */
export async function retryingTransaction<T>(db: DataSource, work: (m: EntityManager) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? TRANSACTION_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (e) {
      if (attempt >= attempts || !isConcurrencyFailure(e)) throw e;
      opts.logger?.debug(`${opts.what ?? 'transaction'}: attempt ${attempt} lost a race (${(e as Error).message}); retrying`);
      // Up to 5, 10, 20 ms: enough for the winner to commit, short next to a request.
      await sleep(Math.random() * 5 * 2 ** (attempt - 1));
    }
  }
}
