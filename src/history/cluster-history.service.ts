import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ClusterRegistry } from '../clusters/cluster-registry';
import { lockRuns } from '../common/database/lock-order';
import { DeleteHistoryResultDto, StateQueryDto, StateRowDto } from './dto/cluster-views.dto';
import { compareNodes, nodeRank } from './history-query.service';
import { RunDeletion } from './run-deletion.service';

/** A cluster's current state, and the explicit deletion of its old runs. */
@Injectable()
export class ClusterHistoryService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clusters: ClusterRegistry,
    private readonly deletion: RunDeletion,
  ) {}

  /**
   * For each (node, task): its last `ready` result from a real (not dry-run) run of the current epoch,
   * i.e. since the last reset. What Fuel consulted to decide what to skip on a redeploy.
   */
  async state(clusterId: number, q: StateQueryDto): Promise<StateRowDto[]> {
    await this.clusters.get(clusterId);
    const params: unknown[] = [clusterId];
    const where = [`s.cluster_id = $1`, `s.epoch = (SELECT epoch FROM clusters WHERE id = $1)`];
    if (q.nodes) {
      const ids = q.nodes.filter((n) => n !== 'null');
      const alts = [
        ...(ids.length ? [`s.node_id = ANY($${params.push(ids)})`] : []),
        ...(ids.length < q.nodes.length ? ['s.node_id IS NULL'] : []),
      ];
      where.push(`(${alts.join(' OR ')})`);
    }
    if (q.tasks_names) where.push(`s.task_name = ANY($${params.push(q.tasks_names)})`);
    // cluster_state is kept by the writer (history-writer.service.ts): a lookup, not a scan of history.
    const rows: Array<Omit<StateRowDto, 'time_start' | 'time_end'> & { time_start: Date | null; time_end: Date | null }> =
      await this.db.query(
        `SELECT s.node_id, s.task_name, h.task_type AS type, h.status, h.time_start, h.time_end,
              s.transaction_id, t.uuid AS transaction_uuid, t.name AS transaction_name
       FROM cluster_state s JOIN deployment_history h ON h.id = s.history_id JOIN transactions t ON t.id = s.transaction_id
       WHERE ${where.join(' AND ')}`,
        params,
      );
    return rows
      .map((r) => ({ ...r, time_start: r.time_start?.toISOString() ?? null, time_end: r.time_end?.toISOString() ?? null }))
      .sort(
        (a, b) => nodeRank(a.node_id) - nodeRank(b.node_id) || compareNodes(a.node_id, b.node_id) || a.task_name.localeCompare(b.task_name),
      );
  }

  /** Removes whole runs of the cluster that ended before `before`; runs in progress are never touched. */
  async deleteBefore(clusterId: number, before: string): Promise<DeleteHistoryResultDto> {
    // The one deletion path (run-deletion.service.ts): the cluster held exclusively, then the runs to delete.
    return this.deletion.inCluster(clusterId, 'history_deletion', `history deletion (before ${before})`, async (m, remove) => {
      const doomed = await lockRuns<{ id: number }>(
        m,
        'id',
        `cluster_id = $1 AND status IN ('ready', 'error', 'stopped') AND time_end < $2::timestamptz`,
        [clusterId, before],
      );
      const removed = await remove(doomed.map((d) => d.id));
      const kept: Array<{ id: number }> = await m.query(
        `SELECT id FROM transactions
         WHERE cluster_id = $1 AND status IN ('pending', 'running') AND time_start < $2::timestamptz ORDER BY id`,
        [clusterId, before],
      );
      return {
        cluster_id: clusterId,
        before: new Date(before).toISOString(),
        // A finished run has an end time.
        removed: removed.map(({ id, uuid, name, status, time_end, rows }) => ({
          id,
          uuid,
          name,
          status,
          time_end: time_end!.toISOString(),
          rows,
        })),
        removed_rows: removed.reduce((n, r) => n + r.rows, 0),
        kept_in_progress: kept.map((k) => k.id),
      };
    });
  }
}
