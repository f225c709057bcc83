/**
 * Database failures that retrying can fix: a lost connection, a deadlock or serialization failure, a
 * server shutting down or out of resources. Anything else is a fault of the data or of the code, and
 * retrying it would only loop.
 */
export function isTransientDbError(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown; name?: unknown };
  if (err?.name === 'RetryableWriteError') return true;
  const code = typeof err?.code === 'string' ? err.code : '';
  if (/^(08|53|57P|58)/.test(code) || code === '40001' || code === '40P01') return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  const message = typeof err?.message === 'string' ? err.message : '';
  // TypeORM's own words when the connection under a query runner went away mid-transaction.
  if (err?.name === 'QueryRunnerAlreadyReleasedError' || /query runner (was )?already released/i.test(message)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down)/i.test(message);
}

/** PostgreSQL rejected a value (class 22: data exception), e.g. out of range or not storable. */
export function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('22');
}
