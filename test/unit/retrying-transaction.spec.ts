import type { DataSource, EntityManager } from 'typeorm';
import { QueryFailedError } from 'typeorm';
import { isConcurrencyFailure } from '../../src/common/database/db-errors';
import { retryingTransaction, TRANSACTION_ATTEMPTS } from '../../src/common/database/retrying-transaction';
import { RetryableWriteError } from '../../src/common/database/retrying-transaction';

const pgError = (code: string, message: string) => new QueryFailedError('SELECT 1', [], Object.assign(new Error(message), { code }));

/** A DataSource whose transactions fail with the given errors, in turn, then succeed. */
function failingDb(failures: Error[]) {
  let calls = 0;
  const db = {
    transaction: async <T>(work: (m: EntityManager) => Promise<T>): Promise<T> => {
      calls++;
      const e = failures.shift();
      if (e) throw e;
      return work({} as EntityManager);
    },
  };
  return { db: db as unknown as DataSource, calls: () => calls };
}

describe('isConcurrencyFailure', () => {
  it.each([
    ['a deadlock', pgError('40P01', 'deadlock detected'), true],
    ['a serialization failure', pgError('40001', 'could not serialize access'), true],
    ['a bare driver error with the code', Object.assign(new Error('deadlock detected'), { code: '40P01' }), true],
    ["a writer's lost race", new RetryableWriteError('a transaction was created concurrently'), true],
    ['a connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' }), false],
    ['a unique violation', pgError('23505', 'duplicate key'), false],
    [
      'a partition attached under an insert (23514, a table, no constraint)',
      Object.assign(pgError('23514', 'violates partition constraint'), {
        driverError: Object.assign(new Error('x'), { code: '23514', table: 'h_default' }),
      }),
      true,
    ],
    [
      'a CHECK constraint (23514, named)',
      Object.assign(pgError('23514', 'violates check constraint'), {
        driverError: Object.assign(new Error('x'), { code: '23514', table: 'h', constraint: 'h_v_check' }),
      }),
      false,
    ],
    ['a data error', pgError('22003', 'out of range'), false],
    ['not an object', '40P01', false],
  ])('%s: %s', (_what, e, expected) => {
    expect(isConcurrencyFailure(e)).toBe(expected);
  });
});

describe('retryingTransaction', () => {
  it('runs the work again after a deadlock or a serialization failure, and returns its result', async () => {
    const { db, calls } = failingDb([pgError('40P01', 'deadlock detected'), pgError('40001', 'could not serialize access')]);
    const debug = jest.fn();
    await expect(retryingTransaction(db, () => Promise.resolve('done'), { logger: { debug }, what: 'reset' })).resolves.toBe('done');
    expect(calls()).toBe(3);
    expect(debug).toHaveBeenCalledTimes(2);
    expect(debug.mock.calls[0][0]).toMatch(/^reset: attempt 1 lost a race \(deadlock detected\); retrying$/);
  });

  it(`gives up after ${TRANSACTION_ATTEMPTS} attempts with the last failure`, async () => {
    const failures = Array.from({ length: TRANSACTION_ATTEMPTS }, (_, i) => pgError('40P01', `deadlock ${i + 1}`));
    const { db, calls } = failingDb(failures);
    await expect(retryingTransaction(db, () => Promise.resolve('done'))).rejects.toThrow(`deadlock ${TRANSACTION_ATTEMPTS}`);
    expect(calls()).toBe(TRANSACTION_ATTEMPTS);
  });

  it('does not retry any other failure', async () => {
    const { db, calls } = failingDb([pgError('23505', 'duplicate key')]);
    await expect(retryingTransaction(db, () => Promise.resolve('done'))).rejects.toThrow('duplicate key');
    expect(calls()).toBe(1);
  });
});
