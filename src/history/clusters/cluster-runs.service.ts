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
import { RunFailureDto, RunListItemDto, RunsPageDto, RunsPageQueryDto, DEFAULT_RUNS_PAGE } from '../dto/runs-page.dto';
import { firstFailureOf, type FirstFailureDto } from '../dto/run-views.dto';
import { TransactionDto } from '../dto/transaction.dto';
import { HistoryWriter } from '../history-writer.service';
import { HistoryRowsRepository } from '../persistence/history-rows.repository';
import { RunCache } from '../persistence/run-cache';
import { RunsRepository } from '../persistence/runs.repository';
import { RUN_STATUSES, TASK_STATUSES, type RunStatus } from '../task-state';

/** The clusters API: list, show, register or re-release, reset (which stops runs): what needs the cluster's runs. */
@Injectable()
export class ClusterRunsService {
  private readonly logger = new Logger('Clusters');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly registry: ClusterRegistry,
    private readonly runs: RunsRepository,
    private readonly writer: HistoryWriter,
    private readonly cache: RunCache,
    private readonly rows: HistoryRowsRepository,
  ) {}

  /**
   * A page of the cluster's runs, newest first, each with its task counts and first failure, and the
   * cluster's runs per status. A few statements whatever the page's size: the counts per status, the
   * page, the kept summaries of its finished runs, then the rows of the runs that keep none.
   */
  async runsPage(clusterId: number, q: RunsPageQueryDto): Promise<RunsPageDto> {
    await this.registry.get(clusterId); // 404 for an unknown cluster
    const limit = q.limit ?? DEFAULT_RUNS_PAGE;
    const page = q.page ?? 1;
    const counts = await this.runs.countByStatus(clusterId);
    const byStatus = perStatus(RUN_STATUSES, (s) => counts.get(s));
    const kept: readonly RunStatus[] = q.statuses ? [...new Set(q.statuses)] : RUN_STATUSES;
    const total = kept.reduce((n, s) => n + byStatus[s], 0);
    // A page past the last holds no run (its offset could pass 2^31): not asked of the database.
    const runs = (page - 1) * limit < total ? await this.runs.page(clusterId, q.statuses, limit, (page - 1) * limit) : [];
    const recorded = runs.filter((r) => r.historyRecorded).map((r) => r.id);
    const summaries = await this.cache.keptCounts(recorded);
    const counted = new Map((await this.rows.runCounts(recorded.filter((id) => !summaries.has(id)))).map((c) => [c.id, c]));
    return {
      total,
      page,
      limit,
      pages: Math.ceil(total / limit),
      by_status: byStatus,
      runs: runs.map((r): RunListItemDto => {
        const k = summaries.get(r.id);
        const c = counted.get(r.id);
        const statuses = k?.statuses ?? c?.statuses;
        const failure = k ? k.first_failure : c?.failure ? firstFailureOf(c.failure) : null;
        return {
          ...TransactionDto.from(r),
          tasks: statuses ? taskCounts(statuses) : null,
          first_failure: failure ? runFailure(failure) : null,
        };
      }),
    };
  }

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

/** A run's rows per status, every task status present, and their total. */
function taskCounts(statuses: Record<string, number>): NonNullable<RunListItemDto['tasks']> {
  const all = perStatus(TASK_STATUSES, (s) => statuses[s]);
  return { total: TASK_STATUSES.reduce((n, s) => n + all[s], 0), statuses: all };
}

/** What a list of runs shows of a run's first failure: where and why, not when. */
function runFailure(f: FirstFailureDto): RunFailureDto {
  return { node_id: f.node_id, task_name: f.task_name, error_message: f.error_message };
}

/** A count for each of `statuses` (0 for none), in their life order. */
function perStatus<S extends string>(statuses: readonly S[], count: (s: S) => number | undefined): Record<S, number> {
  const all = {} as Record<S, number>;
  for (const s of statuses) all[s] = count(s) ?? 0;
  return all;
}
