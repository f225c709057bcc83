import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { InvalidInputError } from '../common/errors/domain-errors';
import { RetentionResultDto } from './dto/retention.dto';
import { RunsRepository } from './persistence/runs.repository';
import { RunDeletion } from './run-deletion.service';

export interface RetentionPolicy {
  olderThanDays?: number;
  keepRuns?: number;
}

const CHUNK = 500;

/**
 * Retention: deletes whole finished runs (never one in progress) that ended more than D days ago
 * and/or beyond the last N runs of their cluster, in chunks, then vacuums so the space is reused (or,
 * with compact, returned to the system). Runs on demand (POST /retention) and, when configured, on a timer.
 */
@Injectable()
export class RetentionService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private timer?: NodeJS.Timeout;
  private running: Promise<RetentionResultDto> | null = null;

  constructor(
    private readonly runs: RunsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly deletion: RunDeletion,
  ) {}

  onModuleInit(): void {
    const { retentionDays, retentionKeepRuns, retentionIntervalMinutes } = this.config;
    if (retentionDays === undefined && retentionKeepRuns === undefined) return;
    this.logger.log(
      `retention policy: ${retentionDays !== undefined ? `runs ended over ${retentionDays} days ago` : ''}` +
        `${retentionDays !== undefined && retentionKeepRuns !== undefined ? ' and ' : ''}` +
        `${retentionKeepRuns !== undefined ? `runs beyond the last ${retentionKeepRuns} of each cluster` : ''}, every ${retentionIntervalMinutes} min`,
    );
    this.timer = setInterval(() => {
      this.apply({ olderThanDays: retentionDays, keepRuns: retentionKeepRuns }, { dryRun: false, compact: false }).catch((e) =>
        this.logger.error(`retention pass failed: ${e instanceof Error ? e.message : e}`),
      );
    }, retentionIntervalMinutes * 60_000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass at a time: a second caller waits for the pass in progress, then runs its own. */
  async apply(policy: RetentionPolicy, opts: { dryRun: boolean; compact: boolean }): Promise<RetentionResultDto> {
    if (policy.olderThanDays === undefined && policy.keepRuns === undefined) {
      throw new InvalidInputError(
        'say what to remove: older_than_days and/or keep_runs (or configure RETENTION_DAYS / RETENTION_KEEP_RUNS)',
      );
    }
    while (this.running) await this.running.catch(() => undefined);
    this.running = this.pass(policy, opts);
    try {
      return await this.running;
    } finally {
      this.running = null;
    }
  }

  private async pass(policy: RetentionPolicy, opts: { dryRun: boolean; compact: boolean }): Promise<RetentionResultDto> {
    const started = performance.now();
    const diskBefore = await this.diskBytes();
    const doomed = await this.runs.retentionCandidates(policy.olderThanDays ?? null, policy.keepRuns ?? null);
    let removed = doomed;
    if (!opts.dryRun) {
      const gone = await this.remove(doomed);
      removed = doomed.filter((d) => gone.has(d.id));
      if (removed.length) await this.runs.vacuum(opts.compact);
    }
    const byCluster = new Map<number, { cluster_id: number; transactions: number; rows: number }>();
    for (const d of removed) {
      const c = byCluster.get(d.cluster_id) ?? { cluster_id: d.cluster_id, transactions: 0, rows: 0 };
      c.transactions++;
      c.rows += d.rows;
      byCluster.set(d.cluster_id, c);
    }
    const result: RetentionResultDto = {
      dry_run: opts.dryRun,
      older_than_days: policy.olderThanDays ?? null,
      keep_runs: policy.keepRuns ?? null,
      transactions: removed.length,
      rows: removed.reduce((n, d) => n + d.rows, 0),
      clusters: [...byCluster.values()].sort((a, b) => a.cluster_id - b.cluster_id),
      disk_before_bytes: diskBefore,
      disk_after_bytes: await this.diskBytes(),
      seconds: Math.round(performance.now() - started) / 1000,
    };
    if (!opts.dryRun && doomed.length) {
      this.logger.log(
        `removed ${result.transactions} runs (${result.rows} rows) in ${result.seconds} s; history tables ${mb(result.disk_before_bytes)} → ${mb(result.disk_after_bytes)}`,
      );
    }
    return result;
  }

  /**
   * Deletes the runs, cluster by cluster in chunks, each chunk a transaction of the one deletion path
   * (run-deletion.service.ts): the cluster exclusively (its writers wait for the chunk), then the runs.
   * A run is only removed if it is still finished. Returns the ids removed.
   */
  private async remove(doomed: Array<{ id: number; cluster_id: number }>): Promise<Set<number>> {
    const byCluster = new Map<number, number[]>();
    for (const d of doomed) {
      const ids = byCluster.get(d.cluster_id);
      if (ids) ids.push(d.id);
      else byCluster.set(d.cluster_id, [d.id]);
    }
    const gone = new Set<number>();
    for (const clusterId of [...byCluster.keys()].sort((a, b) => a - b)) {
      const ids = byCluster.get(clusterId)!;
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        const removed = await this.deletion.inCluster(clusterId, 'retention', 'retention', async (m, removeRuns) => {
          const held = await this.runs.lockFinished(m, chunk);
          return removeRuns(held.map((r) => r.id));
        });
        for (const r of removed) gone.add(r.id);
      }
    }
    return gone;
  }

  private diskBytes(): Promise<number> {
    return this.runs.diskBytes();
  }
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
