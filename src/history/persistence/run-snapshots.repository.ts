import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { selectOne } from '../../common/database/sql';
import { nodeOrderSql } from '../../common/node-order';

/** What a run was deployed with, as its start sent it (run_snapshots). */
export const SNAPSHOT_KINDS = ['deployment_info', 'settings', 'network_configuration'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

/** A run's snapshots (run_snapshots), read as JSON text put together by PostgreSQL from the texts as stored. */
@Injectable()
export class RunSnapshotsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * In one statement, whether the run exists (undefined when not), and its snapshot (body NULL when it
   * recorded none): the deployment info as `{"common": {...}, "nodes": {uid: {...}}}` (nodes in node
   * order), the others as stored.
   */
  json(transactionId: number, kind: SnapshotKind): Promise<{ body: string | null } | undefined> {
    return selectOne(
      this.db,
      kind === 'deployment_info'
        ? `SELECT (SELECT '{"common":' || c.data::text || ',"nodes":{'
                          || coalesce((SELECT string_agg(to_json(n.node_uid)::text || ':' || n.data::text, ','
                                                         ORDER BY ${nodeOrderSql('n.node_uid')})
                                       FROM run_snapshots n
                                       WHERE n.transaction_id = t.id AND n.kind = 'deployment_info' AND n.node_uid IS NOT NULL), '')
                          || '}}'
                   FROM run_snapshots c WHERE c.transaction_id = t.id AND c.kind = 'deployment_info' AND c.node_uid IS NULL) AS body
           FROM transactions t WHERE t.id = $1`
        : `SELECT (SELECT s.data::text FROM run_snapshots s WHERE s.transaction_id = t.id AND s.kind = $2 AND s.node_uid IS NULL) AS body
           FROM transactions t WHERE t.id = $1`,
      kind === 'deployment_info' ? [transactionId] : [transactionId, kind],
    );
  }
}
