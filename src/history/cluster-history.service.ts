import { Injectable } from '@nestjs/common';
import { ClusterRegistry } from '../clusters/cluster-registry';
import { compareNodes } from '../common/node-order';
import { DeleteHistoryResultDto, StateQueryDto, StateRowDto } from './dto/cluster-views.dto';
import { ClusterStateRepository } from './persistence/cluster-state.repository';
import { RunsRepository } from './persistence/runs.repository';
import { RunDeletion } from './run-deletion.service';

/** A cluster's current state, and the explicit deletion of its old runs. */
@Injectable()
export class ClusterHistoryService {
  constructor(
    private readonly clusters: ClusterRegistry,
    private readonly deletion: RunDeletion,
    private readonly clusterState: ClusterStateRepository,
    private readonly runs: RunsRepository,
  ) {}

  /**
   * For each (node, task): its last `ready` result from a real (not dry-run) run of the current epoch,
   * i.e. since the last reset. What Fuel consulted to decide what to skip on a redeploy.
   */
  async state(clusterId: number, q: StateQueryDto): Promise<StateRowDto[]> {
    // cluster_state is kept by the writer (history-writer.service.ts): a lookup, not a scan of history.
    const rows = await this.clusterState.current(clusterId, q);
    // An entry proves that the cluster exists: only an empty state asks (404 for an unknown cluster).
    if (!rows.length) await this.clusters.get(clusterId);
    return rows
      .map((r) => ({ ...r, time_start: r.time_start?.toISOString() ?? null, time_end: r.time_end?.toISOString() ?? null }))
      .sort((a, b) => compareNodes(a.node_id, b.node_id) || a.task_name.localeCompare(b.task_name));
  }

  /** Removes whole runs of the cluster that ended before `before`; runs in progress are never touched. */
  async deleteBefore(clusterId: number, before: string): Promise<DeleteHistoryResultDto> {
    // The one deletion path (run-deletion.service.ts): the cluster held exclusively, then the runs to delete.
    return this.deletion.inCluster(clusterId, 'history_deletion', `history deletion (before ${before})`, async (m, remove) => {
      const doomed = await this.runs.lockFinishedBefore(m, clusterId, before);
      const removed = await remove(doomed.map((d) => d.id));
      const kept = await this.runs.inProgressBefore(m, clusterId, before);
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
        kept_in_progress: kept,
      };
    });
  }
}
