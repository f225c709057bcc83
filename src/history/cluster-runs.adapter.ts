import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ClusterRunCounts, ClusterRuns } from '../clusters/cluster-runs.port';
import { lockRuns } from '../common/database/lock-order';
import { HistoryWriter } from './history-writer.service';

/** The history module's side of the ClusterRuns port: what the clusters module may know and do about runs. */
@Injectable()
export class ClusterRunsAdapter extends ClusterRuns {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly writer: HistoryWriter,
  ) {
    super();
  }

  async counts(clusterIds: number[]): Promise<Map<number, ClusterRunCounts>> {
    if (!clusterIds.length) return new Map();
    const rows: Array<{ cluster_id: number } & ClusterRunCounts> = await this.db.query(
      `SELECT c.id AS cluster_id,
              (SELECT count(*)::int FROM transactions t WHERE t.cluster_id = c.id) AS transactions,
              (SELECT count(*)::int FROM transactions t WHERE t.cluster_id = c.id AND t.status IN ('pending', 'running')) AS running,
              (SELECT max(t.id) FROM transactions t WHERE t.cluster_id = c.id) AS last_transaction_id,
              (SELECT t.status FROM transactions t WHERE t.cluster_id = c.id AND t.epoch = c.epoch AND NOT t.dry_run
               ORDER BY t.status IN ('pending', 'running') DESC, t.id DESC LIMIT 1) AS deployment_status,
              (SELECT count(*)::int FROM deployment_history h WHERE h.cluster_id = c.id) AS history_rows
       FROM clusters c WHERE c.id = ANY($1)`,
      [clusterIds],
    );
    return new Map(rows.map(({ cluster_id, ...c }) => [cluster_id, c]));
  }

  async inProgress(m: EntityManager, clusterId: number): Promise<Array<{ id: number; uuid: string }>> {
    return lockRuns(m, 'id, uuid', `cluster_id = $1 AND status IN ('pending', 'running')`, [clusterId]);
  }

  async stop(m: EntityManager, uuids: string[], reason: string, time: Date): Promise<void> {
    await this.writer.applyIn(
      m,
      uuids.map((uuid) => ({ kind: 'report' as const, uuid, run: { status: 'stopped' as const, message: reason, time }, tasks: [] })),
    );
  }
}
