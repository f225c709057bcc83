import { Queryable, selectRows } from './sql';

/**
 * THE LOCK ORDER. Every database transaction that locks, writes or deletes clusters or runs takes its
 * locks in this order, so that no two of them can wait for each other in a cycle (a deadlock):
 *
 *   1. clusters (rows of `clusters`), in ascending id, with `lockClusters`:
 *      - `shared` (FOR KEY SHARE) by the writer (HistoryWriter), for the clusters of every run of a batch,
 *        and by the store of runs' plans before a read (PlanMaterializer), for the clusters of their runs.
 *        Writers do not wait for each other there; it is the lock PostgreSQL's foreign key checks take
 *        anyway, taken first and in order instead of in the middle of a batch.
 *      - `exclusive` (FOR UPDATE) by reset, re-release (PUT), deletion and retention: none of the
 *        cluster's writers runs while they hold it, so they see and change its runs and state alone,
 *        and a run started meanwhile waits, then reads the epoch the reset left.
 *   2. runs (rows of `transactions`) of those clusters, in ascending id, FOR UPDATE, with `lockRuns`
 *      (or `lockedRunsSql` inside a statement), before they are written or deleted.
 *   3. rows of the runs held (deployment_history, cluster_state): in key order where several are
 *      written at once.
 *
 * A step may be skipped (a transaction that needs no run lock takes none; HistoryQueryService keeping a
 * finished run's summary locks that one run and nothing after it), never taken backwards: no cluster
 * lock once a run is held, no run lock once its rows are written. Taking again a lock already held
 * (reset's stop goes through the writer, which asks for its cluster again) does not wait.
 *
 * One known exception, left to the retry (retrying-transaction.ts): a foreign key check locks the run
 * a new row points at, FOR KEY SHARE, late: the writer's hand-back of a cluster state entry to another
 * run of the same cluster, and a new run's parent. Only another writer can hold those runs at that
 * moment (the exclusive holders of step 1 cannot: they hold the cluster), so the rare cycle is between
 * two writers, which PostgreSQL breaks and the writer retries.
 *
 * Rows of `releases` (a release string's id) are written only by the triggers on `clusters` (migration
 * Releases1764306000000), at the end of the statement that inserts or updates clusters, new names in name
 * order: a second transaction bringing the same new name waits for the first to end, never in a cycle among
 * themselves.
 *
 * Every transaction that follows this order runs through `retryingTransaction`: PostgreSQL's deadlock
 * detector remains the judge of the exception above, and a retried transaction reads the winner's rows.
 */
export type ClusterLock = 'shared' | 'exclusive';

const CLUSTER_LOCK: Record<ClusterLock, string> = { shared: 'FOR KEY SHARE', exclusive: 'FOR UPDATE' };

export interface LockedCluster {
  id: number;
  name: string;
  release: string;
  epoch: number;
}

/**
 * Step 1: locks, in ascending id, the clusters given and the clusters of the runs given (by uuid);
 * returns those that exist. Inside the caller's transaction, before any run lock.
 */
export async function lockClusters(
  m: Queryable,
  mode: ClusterLock,
  of: { clusters?: number[]; runUuids?: string[] },
): Promise<LockedCluster[]> {
  const ids = of.clusters ?? [];
  const uuids = of.runUuids ?? [];
  if (!ids.length && !uuids.length) return [];
  // ORDER BY is applied before the rows are locked: they are locked in id order.
  return selectRows<LockedCluster>(
    m,
    `SELECT id, name, release, epoch FROM clusters
     WHERE id = ANY($1::int[]) OR id IN (SELECT cluster_id FROM transactions WHERE uuid = ANY($2::varchar[]))
     ORDER BY id ${CLUSTER_LOCK[mode]}`,
    [ids, uuids],
  );
}

/**
 * Step 2 as SQL: the runs matching `where` (a condition on `transactions`), locked in ascending id.
 * For a caller that must lock runs inside a larger statement; otherwise `lockRuns`.
 */
export function lockedRunsSql(columns: string, where: string): string {
  return `SELECT ${columns} FROM transactions WHERE ${where} ORDER BY id FOR UPDATE`;
}

/** Step 2: locks the runs matching `where`, in ascending id, and returns their `columns`. After step 1. */
export function lockRuns<T>(m: Queryable, columns: string, where: string, params: unknown[]): Promise<T[]> {
  return selectRows<T>(m, lockedRunsSql(columns, where), params);
}
