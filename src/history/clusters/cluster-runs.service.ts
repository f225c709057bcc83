import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ClusterRegistry } from '../../clusters/cluster-registry';
import type { Cluster } from '../../clusters/cluster.entity';
import { ClusterDto, ResetResultDto } from '../../clusters/dto/cluster.dto';
import { PutClusterDto } from '../../clusters/dto/put-cluster.dto';
import { nextRelease } from '../../clusters/release';
import { lockClusters } from '../../common/database/lock-order';
import { retryingTransaction } from '../../common/database/retrying-transaction';
import { ConflictError } from '../../common/errors/domain-errors';
import { HistoryWriter } from '../history-writer.service';
import { RunsRepository } from '../persistence/runs.repository';

/** The clusters API: list, show, register or re-release, reset (which stops runs): what needs the cluster's runs. */
@Injectable()
export class ClusterRunsService {
  private readonly logger = new Logger('Clusters');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly registry: ClusterRegistry,
    private readonly runs: RunsRepository,
    private readonly writer: HistoryWriter,
  ) {}

  async list(): Promise<ClusterDto[]> {
    return this.answers(await this.registry.list());
  }

  async get(id: number): Promise<ClusterDto> {
    const [answer] = await this.answers([await this.registry.get(id)]);
    return answer;
  }

  /** The clusters as answered: each with its run counts and its release's id. */
  private async answers(clusters: Cluster[]): Promise<ClusterDto[]> {
    const [counts, releaseIds] = await Promise.all([
      this.runs.countsByCluster(clusters.map((c) => c.id)),
      this.registry.releaseIds(clusters.map((c) => c.release)),
    ]);
    return clusters.map((c) => ClusterDto.from(c, counts.get(c.id), releaseIds.get(c.release)));
  }

  /** Registers the cluster or changes its name/release (never to an older version: 409); returns it and whether it was created. */
  async put(id: number, body: PutClusterDto): Promise<{ created: boolean; cluster: ClusterDto }> {
    const created = await retryingTransaction(
      this.db,
      async (m) => {
        const [existing] = await lockClusters(m, 'exclusive', { clusters: [id] });
        // Fuel cannot downgrade an environment: an older release (or an unreadable one, which the body's
        // validation already refuses) is refused, never applied, so that it cannot switch history off.
        const change = nextRelease(existing?.release ?? null, body.release);
        if (change.kept) {
          throw new ConflictError(`Cluster ${id} ('${existing.name}'): ${change.reason}; its release stays '${change.release}'`);
        }
        const name = body.name ?? existing?.name ?? `cluster-${id}`;
        await this.registry.register(m, { id, name, release: body.release }, existing ? [existing] : []);
        return !existing;
      },
      { logger: this.logger, what: `PUT cluster ${id}` },
    );
    return { created, cluster: await this.get(id) };
  }

  /**
   * Starts a new epoch: the cluster's current state becomes empty, its history stays. Refused while a
   * run is in progress unless forced; forced, those runs end `stopped` with their open tasks closed out.
   */
  async reset(id: number, force: boolean): Promise<ResetResultDto> {
    // In the lock order (lock-order.ts): the cluster, exclusively (its writers wait), then its runs in progress.
    return retryingTransaction(
      this.db,
      async (m) => {
        const cluster = await this.registry.lock(m, id);
        const running = await this.runs.lockInProgress(m, id);
        if (running.length && !force) {
          throw new ConflictError(
            `Cluster ${id} has ${running.length} run(s) in progress (transaction ${running.map((r) => r.id).join(', ')}); ` +
              `wait for them to end, or reset with force=true to stop them`,
          );
        }
        if (running.length)
          await this.writer.stop(
            m,
            running.map((r) => r.uuid),
            'stopped by a forced reset of the cluster',
            new Date(),
          );
        const epoch = await this.registry.nextEpoch(m, id);
        return { cluster_id: id, previous_epoch: cluster.epoch, epoch, stopped_transactions: running.map((r) => r.id) };
      },
      { logger: this.logger, what: `reset of cluster ${id}` },
    );
  }
}
