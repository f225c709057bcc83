import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ClusterRegistry } from '../clusters/cluster-registry';
import { LockedCluster } from '../common/database/lock-order';
import { retryingTransaction } from '../common/database/retrying-transaction';
import { Metrics } from '../common/metrics/metrics.service';
import { handBackState, StateKey } from './cluster-state';
import { RunStatus } from './entities/transaction.entity';
import { HISTORY_CHANNEL, notifyPayloads } from './history-writer.service';

/** Why runs were deleted (a bounded metric label): DELETE /transactions/:id, the history deletion, retention. */
export type DeletionCause = Parameters<Metrics['runsDeletedBy']>[0];

/** A run as it was deleted. */
export interface RemovedRun {
  id: number;
  uuid: string;
  cluster_id: number;
  name: string;
  status: RunStatus;
  time_end: Date | null;
  /** Its task rows, deleted with it. */
  rows: number;
}

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
 * nothing behind whichever way it went: its rows (by cascade), its cluster state entries (handed back
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
    let removed: RemovedRun[] = [];
    let notes: string[] = [];
    const result = await retryingTransaction(
      this.db,
      async (m) => {
        removed = [];
        notes = [];
        const cluster = await this.clusters.lock(m, clusterId);
        const remove: RemoveRuns = async (ids, note) => {
          const gone = await removeRuns(m, ids);
          removed.push(...gone);
          if (note && gone.length) notes.push(note);
          return gone;
        };
        return work(m, remove, cluster);
      },
      { logger: this.logger, what: `${why} in cluster ${clusterId}` },
    );
    if (removed.length) this.report(clusterId, cause, why, removed, notes);
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

/**
 * Deletes the runs (held by the caller) with their rows, hands their cluster state entries back, and
 * announces them, and the runs that named them as parent (their parent_id goes), as changed.
 */
async function removeRuns(m: EntityManager, ids: number[]): Promise<RemovedRun[]> {
  if (!ids.length) return [];
  // The entries these runs hold, emptied first so that they can be filled again from the rows that remain.
  const [keys]: [StateKey[], number] = await m.query(
    `DELETE FROM cluster_state WHERE transaction_id = ANY($1::int[]) RETURNING cluster_id, epoch, node_id, task_name`,
    [ids],
  );
  // A child's parent_id is set to NULL by the foreign key; a parent is always older (it existed when the
  // child started), so these are runs of later ids, of the same cluster in practice (held exclusively).
  const children: Array<{ id: number }> = await m.query(
    `SELECT id FROM transactions WHERE parent_id = ANY($1::int[]) AND NOT id = ANY($1::int[])`,
    [ids],
  );
  const removed: RemovedRun[] = await m.query(
    `WITH counted AS (
       SELECT d.id, (SELECT count(*)::int FROM deployment_history h WHERE h.transaction_id = d.id) AS rows
       FROM unnest($1::int[]) AS d(id)),
     gone AS (
       DELETE FROM transactions t USING counted c WHERE t.id = c.id
       RETURNING t.id, t.uuid, t.cluster_id, t.name, t.status, t.time_end, c.rows)
     SELECT * FROM gone ORDER BY id`,
    [ids],
  );
  // The rows went with their runs (ON DELETE CASCADE, done by the end of the statement above).
  await handBackState(m, keys);
  const changed = [...removed.map((r) => r.id), ...children.map((c) => c.id)];
  if (changed.length) await m.query(`SELECT pg_notify('${HISTORY_CHANNEL}', c) FROM unnest($1::text[]) AS c`, [notifyPayloads(changed)]);
  return removed;
}
