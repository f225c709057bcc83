import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { InvalidInputError } from '../common/errors/domain-errors';
import { errorMessage } from '../common/errors/error-message';
import { RetentionResultDto } from './dto/retention.dto';
import { HistoryPartitions, isLockTimeout, WholeRange } from './persistence/partitions';
import { RunsRepository } from './persistence/runs.repository';
import { RunDeletion } from './run-deletion.service';
import { isFinalRun } from './task-state';

export interface RetentionPolicy {
  olderThanDays?: number;
  keepRuns?: number;
}

const CHUNK = 500;
/** Tries to take a whole partition away (its detach waits for its lock a bounded time: partitions.ts) before its runs go row by row. */
const WHOLE_ATTEMPTS = 2;

/**
 * Retention: deletes whole finished runs (never one in progress) that ended more than D days ago
 * and/or beyond the last N runs of their cluster. Runs on demand (POST /retention) and, when
 * configured, on a timer.
 *
 * A range of runs whose partition holds only runs that go (persistence/partitions.ts) goes whole: its
 * partition is detached in the transaction that deletes its runs, then dropped (the space is back at
 * once, no VACUUM FULL). The other runs (at the boundary of what goes) are deleted row by row in
 * chunks, then the partitions they were in vacuumed so the space is reused (or, with compact,
 * returned to the system). Both ways are the one deletion path's (run-deletion.service.ts).
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
    private readonly partitions: HistoryPartitions,
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
    const doomedIds = new Set(doomed.map((d) => d.id));
    let removed = doomed;
    const dropped: string[] = [];
    if (opts.dryRun) {
      dropped.push(...(await this.partitions.wholeRanges(doomedIds)).map((r) => r.name));
    } else {
      await this.partitions
        .dropLeftovers()
        .catch((e) => this.logger.warn(`partitions left detached not dropped yet (the next pass tries again): ${errorMessage(e)}`));
      const gone = new Set<number>();
      for (const range of await this.partitions.wholeRanges(doomedIds)) {
        const ids = await this.removeWhole(range, doomedIds);
        // The table busy (its locks never free): the other ranges would wait the same; their runs go row by row.
        if (ids === 'busy') break;
        if (!ids) continue;
        dropped.push(range.name);
        for (const id of ids) gone.add(id);
      }
      const rest = doomed.filter((d) => !gone.has(d.id)).map((d) => d.id);
      const touched = await this.partitions.holding(rest);
      const oneByOne = await this.remove(doomed.filter((d) => !gone.has(d.id)));
      for (const id of oneByOne) gone.add(id);
      removed = doomed.filter((d) => gone.has(d.id));
      if (oneByOne.size) await this.runs.vacuum(opts.compact, touched);
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
      partitions_dropped: dropped,
      disk_before_bytes: diskBefore,
      disk_after_bytes: await this.diskBytes(),
      seconds: Math.round(performance.now() - started) / 1000,
    };
    if (!opts.dryRun && doomed.length) {
      this.logger.log(
        `removed ${result.transactions} runs (${result.rows} rows) in ${result.seconds} s` +
          (dropped.length ? `, ${dropped.length} partition(s) dropped whole` : '') +
          `; history tables ${mb(result.disk_before_bytes)} → ${mb(result.disk_after_bytes)}`,
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

  /**
   * Removes the runs of a whole range with their partition, in one transaction of the deletion path:
   * their clusters held exclusively, the range's runs locked and checked (all still among those that go,
   * all finished: otherwise nothing is done and they go row by row), the partition detached (its rows
   * leave with the runs, at the same commit: no reader sees a run without its rows or rows without
   * their run; RunChanges.remove's delete of their rows then finds nothing), then dropped. Returns the ids
   * removed, null when the range is no longer whole, 'busy' when its locks never came free.
   */
  private async removeWhole(range: WholeRange, doomed: ReadonlySet<number>): Promise<number[] | null | 'busy'> {
    for (let attempt = 1; ; attempt++) {
      try {
        const removed = await this.deletion.inClusters(range.clusters, 'retention', 'retention', async (m, removeRuns) => {
          const held = await this.partitions.lockRange(m, range);
          if (held.some((r) => !doomed.has(r.id) || !isFinalRun(r.status))) return null;
          await this.partitions.detach(m, range);
          return removeRuns(
            held.map((r) => r.id),
            `their rows went with partition ${range.name}`,
          );
        });
        if (!removed) return null;
        await this.partitions
          .drop(range.name)
          .catch((e) => this.logger.warn(`partition ${range.name} detached, not dropped yet (the next pass drops it): ${errorMessage(e)}`));
        return removed.map((r) => r.id);
      } catch (e) {
        if (!isLockTimeout(e)) throw e;
        this.logger.warn(`partition ${range.name}: its lock was not available (attempt ${attempt} of ${WHOLE_ATTEMPTS})`);
        if (attempt >= WHOLE_ATTEMPTS) return 'busy';
        await sleep(500 * attempt);
      }
    }
  }

  private diskBytes(): Promise<number> {
    return this.runs.diskBytes();
  }
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
