import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../common/errors/domain-errors';
import { RunSnapshotsRepository, SnapshotKind } from './persistence/run-snapshots.repository';

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
  constructor(private readonly snapshots: RunSnapshotsRepository) {}

  async json(transactionId: number, kind: SnapshotKind): Promise<string> {
    const row = await this.snapshots.json(transactionId, kind);
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
