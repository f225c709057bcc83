import type { DataSource } from 'typeorm';
import type { Queryable } from './sql';

/**
 * Runs `read` in a transaction of its own in which the planner reads tables through their
 * indexes (no sequential scan while an index can serve the statement) and compiles nothing (no JIT).
 *
 * For a read of a small share of a large partitioned table picked by a key list, e.g. the rows of a
 * cluster's last 500 runs (`transaction_id = ANY($1)`) in a history partitioned by ranges of run ids
 * (issue #17). The planner costs the whole list against every partition: a partition of 1,000 runs is
 * taken to hold half the 500 runs' rows when it holds its ~25 (5 %), so it reads every partition whole
 * (Seq Scan) where one index scan per partition reads what is asked. Even when its estimate is right, it
 * prices the index's heap reads as random disk reads (random_page_cost 4), while a run's rows lie together
 * in fewer pages than it assumes, mostly cached. Measured on a copy of a 10,000-run benchmark's history (1.05M rows, 11
 * partitions): flaky tasks over a cluster's ~500 runs took 141–260 ms by sequential scans, 34–66 ms through
 * the indexes (48 ms on the unpartitioned table); the benchmark's p95 of that read went from 376 ms to 130 ms.
 * A cost estimate that large also sets off JIT compilation (past jit_above_cost): 80–120 ms of compiling
 * for a read of ~50 ms, hence no JIT either.
 *
 * Only for statements whose every table has an index for the keys they are read by: where a table has
 * none, the planner still scans it (the setting makes a sequential scan a last resort, not impossible).
 */
export async function readThroughIndexes<T>(db: DataSource, read: (m: Queryable) => Promise<T>): Promise<T> {
  return db.transaction(async (m) => {
    await setLocally(m, { enable_seqscan: 'off', jit: 'off' });
    return read(m);
  });
}

/**
 * Sets these settings for the rest of the caller's transaction only (set_config(..., true), as SET LOCAL),
 * all in one round trip. Names and values are the code's own constants, written into the statement as they are.
 */
export async function setLocally(m: Queryable, settings: Readonly<Record<string, string>>): Promise<void> {
  const calls = Object.entries(settings).map(([name, value]) => `set_config('${name}', '${value}', true)`);
  await m.query(`SELECT ${calls.join(', ')}`);
}
