import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ClusterRegistry } from '../clusters/cluster-registry';
import { LockedCluster, lockClusters } from '../common/database/lock-order';
import { retryingTransaction } from '../common/database/retrying-transaction';
import { groupBy } from '../common/group-by';
import { Metrics } from '../common/metrics/metrics.service';
import { RemovedRun, RunChanges } from './persistence/run-changes';

/** Why runs were deleted (a bounded metric label): DELETE /transactions/:id, the history deletion, retention. */
export type DeletionCause = Parameters<Metrics['runsDeletedBy']>[0];

/**
 * Deletes runs the caller holds (locked with lockRuns), inside RunDeletion.inCluster's transaction;
 * `note` is added to the log line (e.g. that a run in progress was stopped first).
 */
export type RemoveRuns = (ids: number[], note?: string) => Promise<RemovedRun[]>;

/** Runs named one by one in a log line; beyond, only their number. */
const NAMED_IN_LOG = 20;

/**
 * THE way runs are deleted: DELETE /transactions/:id (fuel2 task delete), the history deletion
 * (DELETE /clusters/:id/deployment_history) and retention all come here, so that a deleted run leaves
 * nothing behind whichever way it went: its rows (RunChanges.remove), its cluster state entries (handed back
 * to the best remaining ready rows: the state is what the remaining history says), its kept summary
 * and list (in its own row), and its live streams (told at commit, they end with a `deleted` event).
 */
@Injectable()
export class RunDeletion {
  private readonly logger = new Logger('RunDeletion');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clusters: ClusterRegistry,
    private readonly metrics: Metrics,
    private readonly changes: RunChanges,
  ) {}

  /**
   * One database transaction in the lock order (lock-order.ts): the cluster exclusively (404 if it does
   * not exist; its writers wait), then `work`, which locks the runs it wants gone (lockRuns, with its
   * own conditions: finished, ended before...) and hands them to `remove`. Run again from the start on
   * a lost race (retryingTransaction). Once committed, what went is logged (`why` says who asked) and
   * counted by cause.
   */
  async inCluster<T>(
    clusterId: number,
    cause: DeletionCause,
    why: string,
    work: (m: EntityManager, remove: RemoveRuns, cluster: LockedCluster) => Promise<T>,
  ): Promise<T> {
    return this.deleting(
      (m) => this.clusters.lock(m, clusterId),
      cause,
      why,
      `${why} in cluster ${clusterId}`,
      (m, remove, cluster) => work(m, remove, cluster),
    );
  }

  /**
   * As inCluster, for runs of several clusters at once (retention's whole partitions: a range of runs
   * of any clusters): the clusters that exist among `clusterIds` are held exclusively, in id order.
   */
  async inClusters<T>(
    clusterIds: number[],
    cause: DeletionCause,
    why: string,
    work: (m: EntityManager, remove: RemoveRuns, clusters: LockedCluster[]) => Promise<T>,
  ): Promise<T> {
    return this.deleting(
      (m) => lockClusters(m, 'exclusive', { clusters: clusterIds }),
      cause,
      why,
      `${why} in clusters ${clusterIds.join(', ')}`,
      work,
    );
  }

  private async deleting<L, T>(
    lock: (m: EntityManager) => Promise<L>,
    cause: DeletionCause,
    why: string,
    what: string,
    work: (m: EntityManager, remove: RemoveRuns, locked: L) => Promise<T>,
  ): Promise<T> {
    let removed: RemovedRun[] = [];
    let notes: string[] = [];
    const result = await retryingTransaction(
      this.db,
      async (m) => {
        removed = [];
        notes = [];
        const locked = await lock(m);
        const remove: RemoveRuns = async (ids, note) => {
          const gone = await this.changes.remove(m, ids);
          removed.push(...gone);
          if (note && gone.length) notes.push(note);
          return gone;
        };
        return work(m, remove, locked);
      },
      { logger: this.logger, what },
    );
    for (const [clusterId, runs] of groupBy(removed, (r) => r.cluster_id)) this.report(clusterId, cause, why, runs, notes);
    return result;
  }

  private report(clusterId: number, cause: DeletionCause, why: string, removed: RemovedRun[], notes: string[]): void {
    const rows = removed.reduce((n, r) => n + r.rows, 0);
    this.metrics.runsDeletedBy(cause, removed.length, rows);
    const noted = notes.length ? ` (${notes.join('; ')})` : '';
    if (removed.length === 1) {
      const [r] = removed;
      const what = `transaction ${r.id} ('${r.uuid}', ${r.name}, ${r.status})`;
      this.logger.log(`${why}: deleted ${what} of cluster ${clusterId} with its ${r.rows} rows${noted}`);
      return;
    }
    const named = removed
      .slice(0, NAMED_IN_LOG)
      .map((r) => r.id)
      .join(', ');
    const more = removed.length > NAMED_IN_LOG ? ` and ${removed.length - NAMED_IN_LOG} more` : '';
    const what = `${removed.length} runs of cluster ${clusterId} (transactions ${named}${more})`;
    this.logger.log(`${why}: deleted ${what} with their ${rows} rows${noted}`);
  }
}
