import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { NotFoundError } from '../common/errors/domain-errors';

/** What a run was deployed with, as its start sent it (run_snapshots). */
export const SNAPSHOT_KINDS = ['deployment_info', 'settings', 'network_configuration'] as const;
export type SnapshotKind = (typeof SNAPSHOT_KINDS)[number];

const NAMED: Record<SnapshotKind, string> = {
  deployment_info: 'deployment info',
  settings: 'settings',
  network_configuration: 'network configuration',
};

/**
 * A run's snapshots, served as Nailgun 10 served them: the deployment info as `{"common": {...}, "nodes":
 * {uid: {...}}}`, settings and network configuration as the objects the start sent. Each is answered as
 * JSON text put together by PostgreSQL from the texts as stored (never parsed on the way: a large
 * environment's deployment info is tens of MB).
 */
@Injectable()
export class RunSnapshotsService {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async json(transactionId: number, kind: SnapshotKind): Promise<string> {
    // One statement: whether the run exists, and its snapshot (NULL when it recorded none).
    const [row]: Array<{ body: string | null } | undefined> = await this.db.query(
      kind === 'deployment_info'
        ? `SELECT (SELECT '{"common":' || c.data::text || ',"nodes":{'
                          || coalesce((SELECT string_agg(to_json(n.node_uid)::text || ':' || n.data::text, ','
                                                         ORDER BY (n.node_uid = 'master') DESC, length(n.node_uid), n.node_uid)
                                       FROM run_snapshots n
                                       WHERE n.transaction_id = t.id AND n.kind = 'deployment_info' AND n.node_uid IS NOT NULL), '')
                          || '}}'
                   FROM run_snapshots c WHERE c.transaction_id = t.id AND c.kind = 'deployment_info' AND c.node_uid IS NULL) AS body
           FROM transactions t WHERE t.id = $1`
        : `SELECT (SELECT s.data::text FROM run_snapshots s WHERE s.transaction_id = t.id AND s.kind = $2 AND s.node_uid IS NULL) AS body
           FROM transactions t WHERE t.id = $1`,
      kind === 'deployment_info' ? [transactionId] : [transactionId, kind],
    );
    if (!row) throw new NotFoundError('Transaction not found');
    if (row.body === null) {
      throw new NotFoundError(
        `Transaction ${transactionId} did not record its ${NAMED[kind]}: ` +
          'its start sent none (or one that was refused, as its answer and the log said)',
      );
    }
    return row.body;
  }
}
