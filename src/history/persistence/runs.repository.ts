import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, EntityManager, Repository } from 'typeorm';
import type { ClusterInfo } from '../../clusters/cluster-registry';
import type { ClusterRunCounts } from '../../clusters/cluster-run-counts';
import { lockRuns } from '../../common/database/lock-order';
import { Queryable, selectOne, selectRows } from '../../common/database/sql';
import { Transaction } from '../entities/transaction.entity';
import { RunStatus, FINAL_RUN_SQL, OPEN_RUN_SQL } from '../task-state';
import { unnestRows } from './columns';
import { lastPlanSql } from './run-plans';

/** A run as the writer reads it (locked) before merging reports into it. */
export interface RunRow {
  id: number;
  uuid: string;
  cluster_id: number;
  status: RunStatus;
  progress: number;
  message: string | null;
  status_time: Date | null;
  time_end: Date | null;
  history_recorded: boolean;
  dry_run: boolean;
  epoch: number;
}

/** A run as the upgrade guard finds it, and the last plan of its cluster (RunsRepository.located). */
export interface LocatedRun extends Pick<Transaction, 'id' | 'clusterId' | 'historyRecorded' | 'release'> {
  lastPlan: number | null;
}

/** A run that retention may remove, with its number of rows. */
export interface RetentionCandidate {
  id: number;
  cluster_id: number;
  rows: number;
}

/** The tables a run's removal frees space in (its snapshots and per-node definitions go with it). */
export const HISTORY_TABLES = ['deployment_history', 'transactions', 'run_snapshots', 'node_task_definitions'] as const;

/**
 * The runs (transactions): what is read and locked of them, in the lock order (lock-order.ts, step 2:
 * after their cluster). Their creation and deletion, and every change of their rows, are run-changes.ts's.
 */
@Injectable()
export class RunsRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectRepository(Transaction) private readonly entities: Repository<Transaction>,
  ) {}

  /** The runs, by id, of a cluster, of statuses and of names when asked. */
  list(q: { cluster_id?: number; statuses?: RunStatus[]; transaction_types?: string[] }): Promise<Transaction[]> {
    const qb = this.entities.createQueryBuilder('t').orderBy('t.id', 'ASC');
    if (q.cluster_id !== undefined) qb.andWhere('t.cluster_id = :cluster', { cluster: q.cluster_id });
    if (q.statuses) qb.andWhere('t.status IN (:...statuses)', { statuses: q.statuses });
    if (q.transaction_types) qb.andWhere('t.name IN (:...names)', { names: q.transaction_types });
    return qb.getMany();
  }

  /** A page of a cluster's runs of `statuses` (all without), newest (highest id) first. */
  page(clusterId: number, statuses: readonly RunStatus[] | undefined, limit: number, offset: number): Promise<Transaction[]> {
    const qb = this.entities.createQueryBuilder('t').where('t.cluster_id = :clusterId', { clusterId }).orderBy('t.id', 'DESC');
    if (statuses) qb.andWhere('t.status IN (:...statuses)', { statuses });
    return qb.limit(limit).offset(offset).getMany();
  }

  /** A cluster's runs per run status (only the statuses it has runs in). */
  async countByStatus(clusterId: number): Promise<Map<RunStatus, number>> {
    const rows = await selectRows<{ status: RunStatus; n: number }>(
      this.db,
      `SELECT status, count(*)::int AS n FROM transactions WHERE cluster_id = $1 GROUP BY status`,
      [clusterId],
    );
    return new Map(rows.map((r) => [r.status, r.n]));
  }

  /** The run of that id or uuid, or null. */
  find(by: { id: number } | { uuid: string }): Promise<Transaction | null> {
    return this.entities.findOneBy(by);
  }

  /**
   * What the upgrade guard needs of a run: its cluster, whether its tasks were recorded, its release; null when
   * there is no such run. With them, from the same statement, the highest run id among its cluster's plans
   * (null: none), the first look PlanMaterializer takes before a read of the run, which it then need not take
   * again: one statement less per read of a run (issue #17: a run's read made 4, the code 3).
   */
  async located(id: number): Promise<LocatedRun | null> {
    const run = await selectOne<LocatedRun>(
      this.db,
      `SELECT t.id, t.cluster_id AS "clusterId", t.history_recorded AS "historyRecorded", t.release,
              ${lastPlanSql('p.cluster_id = t.cluster_id')} AS "lastPlan"
       FROM transactions t WHERE t.id = $1`,
      [id],
    );
    return run ?? null;
  }

  /**
   * What the upgrade guard needs of a cluster (its name and release; null when there is no such cluster) and,
   * from the same statement, the highest run id among its plans (as located's: one statement less per read).
   */
  async locatedCluster(clusterId: number): Promise<{ cluster: ClusterInfo | null; lastPlan: number | null }> {
    const row = await selectOne<ClusterInfo & { lastPlan: number | null }>(
      this.db,
      `SELECT c.id, c.name, c.release, ${lastPlanSql('p.cluster_id = c.id')} AS "lastPlan" FROM clusters c WHERE c.id = $1`,
      [clusterId],
    );
    if (!row) return { cluster: null, lastPlan: null };
    const { lastPlan, ...cluster } = row;
    return { cluster, lastPlan };
  }

  /** True when at least one run of the cluster had its tasks recorded. */
  hasRecordedHistory(clusterId: number): Promise<boolean> {
    return this.entities.exists({ where: { clusterId, historyRecorded: true } });
  }

  /** The ids of the runs of these uuids that exist. */
  async idsOf(m: Queryable, uuids: string[]): Promise<Map<string, number>> {
    const rows = await selectRows<{ id: number; uuid: string }>(m, `SELECT id, uuid FROM transactions WHERE uuid = ANY($1)`, [uuids]);
    return new Map(rows.map((r) => [r.uuid, r.id]));
  }

  /** The runs of these uuids, locked in id order, with what the writer merges reports into. */
  lockForReports(m: Queryable, uuids: string[]): Promise<RunRow[]> {
    return lockRuns<RunRow>(
      m,
      'id, uuid, cluster_id, status, progress, message, status_time, time_end, history_recorded, dry_run, epoch',
      'uuid = ANY($1)',
      [uuids],
    );
  }

  /** Sets each run's parent (by uuid) where the parent exists; returns the uuids of the runs linked. */
  async linkParents(m: Queryable, links: Array<{ uuid: string; parent: string }>): Promise<string[]> {
    const params: unknown[] = [];
    const linked = await selectRows<{ uuid: string }>(
      m,
      `UPDATE transactions c SET parent_id = p.id
       FROM ${unnestRows(
         'u',
         [
           { name: 'uuid', type: 'varchar', value: (l: { uuid: string }) => l.uuid },
           { name: 'parent', type: 'varchar', value: (l: { parent: string }) => l.parent },
         ],
         links,
         params,
       )} JOIN transactions p ON p.uuid = u.parent
       WHERE c.uuid = u.uuid RETURNING c.uuid`,
      params,
    );
    return linked.map((l) => l.uuid);
  }

  /** The cluster of a run (unlocked: a run never changes cluster), or undefined when there is no such run. */
  async clusterOf(id: number): Promise<number | undefined> {
    return (await selectOne<{ cluster_id: number }>(this.db, `SELECT cluster_id FROM transactions WHERE id = $1`, [id]))?.cluster_id;
  }

  /** The run, if it is still of that cluster, locked (its cluster held first). */
  async lockOne(m: EntityManager, id: number, clusterId: number): Promise<{ id: number; uuid: string; status: RunStatus } | undefined> {
    const [held] = await lockRuns<{ id: number; uuid: string; status: RunStatus }>(m, 'id, uuid, status', `id = $1 AND cluster_id = $2`, [
      id,
      clusterId,
    ]);
    return held;
  }

  /** The cluster's runs in progress (pending or running), locked until the caller's transaction ends (its cluster held first). */
  lockInProgress(m: EntityManager, clusterId: number): Promise<Array<{ id: number; uuid: string }>> {
    return lockRuns(m, 'id, uuid', `cluster_id = $1 AND status IN ${OPEN_RUN_SQL}`, [clusterId]);
  }

  /** The cluster's finished runs that ended before `before`, locked (its cluster held first). */
  lockFinishedBefore(m: EntityManager, clusterId: number, before: string): Promise<Array<{ id: number }>> {
    return lockRuns(m, 'id', `cluster_id = $1 AND status IN ${FINAL_RUN_SQL} AND time_end < $2::timestamptz`, [clusterId, before]);
  }

  /** Of these runs, those still finished, locked (their cluster held first). */
  lockFinished(m: EntityManager, ids: number[]): Promise<Array<{ id: number }>> {
    return lockRuns(m, 'id', `id = ANY($1) AND status IN ${FINAL_RUN_SQL}`, [ids]);
  }

  /** The ids of the cluster's runs in progress that started before `before`. */
  async inProgressBefore(m: Queryable, clusterId: number, before: string): Promise<number[]> {
    const rows = await selectRows<{ id: number }>(
      m,
      `SELECT id FROM transactions
         WHERE cluster_id = $1 AND status IN ${OPEN_RUN_SQL} AND time_start < $2::timestamptz ORDER BY id`,
      [clusterId, before],
    );
    return rows.map((r) => r.id);
  }

  /** Finished runs that ended more than `olderThanDays` ago and/or are beyond the last `keepRuns` of their cluster, by id. */
  retentionCandidates(olderThanDays: number | null, keepRuns: number | null): Promise<RetentionCandidate[]> {
    return selectRows(
      this.db,
      `SELECT t.id, t.cluster_id, (SELECT count(*)::int FROM deployment_history h WHERE h.transaction_id = t.id) AS rows
       FROM (SELECT id, cluster_id, status, time_end, row_number() OVER (PARTITION BY cluster_id ORDER BY id DESC) AS recent
             FROM transactions) t
       WHERE t.status IN ${FINAL_RUN_SQL}
         AND (($1::int IS NOT NULL AND t.time_end < now() - make_interval(days => $1::int))
              OR ($2::int IS NOT NULL AND t.recent > $2::int))
       ORDER BY t.id`,
      [olderThanDays, keepRuns],
    );
  }

  /** Per cluster: its runs, those in progress, its last run, its deployment status and its number of rows. */
  async countsByCluster(clusterIds: number[]): Promise<Map<number, ClusterRunCounts>> {
    if (!clusterIds.length) return new Map();
    const rows = await selectRows<{ cluster_id: number } & ClusterRunCounts>(
      this.db,
      `SELECT c.id AS cluster_id,
              (SELECT count(*)::int FROM transactions t WHERE t.cluster_id = c.id) AS transactions,
              (SELECT count(*)::int FROM transactions t WHERE t.cluster_id = c.id AND t.status IN ${OPEN_RUN_SQL}) AS running,
              (SELECT max(t.id) FROM transactions t WHERE t.cluster_id = c.id) AS last_transaction_id,
              (SELECT t.status FROM transactions t WHERE t.cluster_id = c.id ORDER BY t.id DESC LIMIT 1) AS last_transaction_status,
              (SELECT t.status FROM transactions t WHERE t.cluster_id = c.id AND t.epoch = c.epoch AND NOT t.dry_run
               ORDER BY t.status IN ${OPEN_RUN_SQL} DESC, t.id DESC LIMIT 1) AS deployment_status,
              (SELECT count(*)::int FROM deployment_history h WHERE h.cluster_id = c.id) AS history_rows
       FROM clusters c WHERE c.id = ANY($1)`,
      [clusterIds],
    );
    return new Map(rows.map(({ cluster_id, ...c }) => [cluster_id, c]));
  }

  /**
   * The bytes the history tables (HISTORY_TABLES) take on disk, indexes and TOAST included; a partitioned
   * table's are its partitions' (its own size is 0: it has no storage).
   */
  async diskBytes(): Promise<number> {
    const sizes = HISTORY_TABLES.map((t) => `(SELECT COALESCE(sum(pg_total_relation_size(relid)), 0) FROM pg_partition_tree('${t}'))`).join(
      ' + ',
    );
    const r = await selectOne<{ b: string }>(this.db, `SELECT (${sizes})::bigint::text AS b`);
    return Number(r!.b);
  }

  /**
   * Vacuums the history tables so the space of removed runs is reused, or with `full` returned to the
   * system; of deployment_history, only the partitions named (where rows were deleted one by one: a
   * partition dropped whole needs none, and the others have nothing to give back).
   */
  async vacuum(full: boolean, historyPartitions: readonly string[] = ['deployment_history']): Promise<void> {
    const tables = [...historyPartitions, ...HISTORY_TABLES.filter((t) => t !== 'deployment_history')];
    for (const table of tables) await this.db.query(full ? `VACUUM (FULL, ANALYZE) ${table}` : `VACUUM (ANALYZE) ${table}`);
  }
}
