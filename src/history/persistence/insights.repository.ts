import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Queryable, selectOne, selectRows } from '../../common/database/sql';
import { MASTER_NODE, nodeOrderSql } from '../../common/node-order';
import type { StatsRow } from '../task-stats';
import { FINAL_RUN_SQL, OPEN_TASK_SQL, TaskStatus } from '../task-state';
import { nodesCondition } from './history-rows.sql';

/*
 * The reads behind issue #15's insights (task_stats, regressions, flaky_tasks). The rules are those of
 * task-stats.ts; here is which rows they see:
 *  - runs: real (dry_run false) runs of the cluster whose status is final (FINAL_RUN_SQL); `epoch=current`
 *    keeps the runs of the cluster's current epoch (clusters.epoch = transactions.epoch);
 *  - rows: terminal (`ready`, `error`, `skipped`) and not closed out by the service (closed_reason IS NULL):
 *    a row closed out never reported, its end is the run's end, so it is neither a duration nor a failure.
 * Durations are computed in SQL as `time_end - time_start` of `ready`/`error` rows (rowDuration).
 */

/** Which runs and rows task_stats counts. */
export interface StatsScope {
  clusterId: number;
  /** `current`: the runs of the cluster's current epoch; `all`: across resets. */
  epoch: 'current' | 'all';
  /** Runs started at or after / before these ISO 8601 times. */
  since?: string;
  until?: string;
  nodes?: string[];
  tasks_names?: string[];
  /** Only rows of nodes with one of these roles (run_nodes; the master node has role `master`); by_role lists only these. */
  roles?: string[];
  trendRuns: number;
}

/**
 * One group of task_stats: a task over all its rows (`role` null), or a task on the nodes of one role.
 * The figures of task-stats.ts `DurationFigures`, as the SQL aggregates answer them.
 */
export interface StatsGroupRow {
  task_name: string;
  role: string | null;
  runs: number;
  timed_rows: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
  errors: number;
  terminal_rows: number;
  /** The latest failure: run, node, and its time in ms since the epoch (end, else start). */
  last_failure: { run_id: number; node_id: string | null; time: number | null } | null;
  recent_runs: number;
  previous_runs: number;
  recent_p50: number | null;
  previous_p50: number | null;
}

/** Run ids of the judged/considered runs, in run order. */
export interface RunRef {
  id: number;
  time_start: Date;
}

/** A row's duration in seconds (rowDuration in task-stats.ts): ready/error rows with both times. */
const DURATION_SQL = `CASE WHEN h.status IN ('ready', 'error') THEN extract(epoch FROM h.time_end - h.time_start)::float8 END`;
/** A row that counts: terminal (not open, task-state.ts) and not closed out by the service. */
const COUNTED_ROW = `h.status NOT IN ${OPEN_TASK_SQL} AND h.closed_reason IS NULL`;
/** A node's distinct roles (run_nodes `rn`), `master` among them for the master node (task-graph.ts). */
const NODE_ROLES = `ARRAY(SELECT DISTINCT x FROM unnest(rn.roles || CASE WHEN rn.node_id = '${MASTER_NODE}' THEN ARRAY['${MASTER_NODE}'] ELSE '{}'::text[] END) x
                          WHERE x IS NOT NULL)`;
/** A row `h`'s roles: its node's (NODE_ROLES as `n`); the master node's is `master` even when its run did not list it. */
const ROW_ROLES = `(CASE WHEN n.roles IS NOT NULL THEN n.roles WHEN h.node_id = '${MASTER_NODE}' THEN ARRAY['${MASTER_NODE}'] ELSE '{}'::text[] END)`;

@Injectable()
export class InsightsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * task_stats' figures, per task and per (task, role), computed by the database (the pure taskStats over
   * 200,000 rows took ~250 ms in JavaScript; reading a cluster's rows into it and expanding them per role,
   * 3 times as long as this statement): nearest-rank percentiles are percentile_disc, the trend
   * windows FILTER clauses over each group's runs numbered from the latest (dense_rank), the last failure
   * the last of the group's errors in (run order, end time, node order). test/medium/insights.spec.ts
   * checks the answer equals taskStats() over the same rows.
   */
  async taskStats(s: StatsScope): Promise<{ runs: number; groups: StatsGroupRow[] }> {
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    const n = p(s.trendRuns);
    const runsWhere = this.runsWhere(s, p);
    const rowsWhere = [COUNTED_ROW];
    if (s.nodes) rowsWhere.push(nodesCondition('h.node_id', s.nodes, params));
    if (s.tasks_names) rowsWhere.push(`h.task_name = ANY(${p(s.tasks_names)}::text[])`);
    const roles = s.roles ? p(s.roles) : null;
    if (roles) rowsWhere.push(`${ROW_ROLES} && ${roles}::text[]`);
    // One pass over the rows: each row once for its task (role null) and once per role of its node, read
    // once (not materialized). The groups are keyed by integers (task number << 16 | role number, 0 for the
    // task's own group) and the runs by their position: the window and the grouping sort ~100,000 rows at
    // 500 runs, and sorting integers rather than (task, role, run start, run id) halves that work.
    const rowsFrom = `deployment_history h LEFT JOIN nodes n ON n.transaction_id = h.transaction_id AND n.node_id = h.node_id`;
    const sql = `
      WITH runs AS MATERIALIZED (
        SELECT t.id, t.time_start, row_number() OVER (ORDER BY t.time_start, t.id)::int AS pos
        FROM transactions t WHERE ${runsWhere.join(' AND ')}
      ), nodes AS MATERIALIZED (
        SELECT rn.transaction_id, rn.node_id, ${NODE_ROLES} AS roles FROM run_nodes rn
        WHERE rn.transaction_id = ANY(ARRAY(SELECT id FROM runs))
      ), names AS MATERIALIZED (
        SELECT d.task_name, (row_number() OVER ())::bigint << 16 AS task_key
        FROM (SELECT DISTINCT h.task_name FROM deployment_history h WHERE h.transaction_id = ANY(ARRAY(SELECT id FROM runs))) d
      ), role_list AS MATERIALIZED (
        SELECT ARRAY(SELECT DISTINCT r FROM nodes, unnest(nodes.roles || ARRAY['${MASTER_NODE}']) r) AS roles
      ), grouped AS (
        SELECT h.transaction_id AS run_id, r.pos, h.node_id, nm.task_key + coalesce(array_position(rl.roles, x.role), 0) AS gid,
               h.status = 'error' AS failed, coalesce(h.time_end, h.time_start) AS row_time, ${DURATION_SQL} AS duration
        FROM runs r JOIN ${rowsFrom} ON h.transaction_id = r.id
        JOIN names nm ON nm.task_name = h.task_name CROSS JOIN role_list rl
        CROSS JOIN LATERAL unnest(ARRAY[NULL]::text[] || ${ROW_ROLES}) x(role)
        WHERE ${rowsWhere.join(' AND ')} ${roles ? `AND (x.role IS NULL OR x.role = ANY(${roles}::text[]))` : ''}
      ), ranked AS (
        SELECT g.*, dense_rank() OVER (PARTITION BY g.gid ORDER BY g.pos DESC) AS from_end FROM grouped g
      ), figures AS (
        SELECT gid,
               max(from_end)::int AS runs,
               count(duration)::int AS timed_rows,
               percentile_disc(ARRAY[0.5, 0.95, 1]) WITHIN GROUP (ORDER BY duration) AS pcts,
               count(*) FILTER (WHERE failed)::int AS errors,
               count(*)::int AS terminal_rows,
               (array_agg(json_build_object('run_id', run_id, 'node_id', node_id, 'time', extract(epoch FROM row_time) * 1000)
                          ORDER BY from_end DESC, row_time NULLS FIRST, ${nodeOrderSql('node_id')})
                 FILTER (WHERE failed))[count(*) FILTER (WHERE failed)] AS last_failure,
               least(max(from_end), ${n})::int AS recent_runs,
               least(greatest(max(from_end) - ${n}, 0), ${n})::int AS previous_runs,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY duration) FILTER (WHERE from_end <= ${n}) AS recent_p50,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY duration) FILTER (WHERE from_end > ${n} AND from_end <= 2 * ${n}) AS previous_p50
        FROM ranked GROUP BY gid
      )
      SELECT nm.task_name, rl.roles[(f.gid & 65535)::int] AS role, f.*,
             (SELECT count(*) FROM runs r WHERE EXISTS (
                SELECT 1 FROM ${rowsFrom} WHERE h.transaction_id = r.id AND ${rowsWhere.join(' AND ')}))::int AS all_runs
      FROM figures f JOIN names nm ON nm.task_key = (f.gid >> 16) << 16 CROSS JOIN role_list rl`;
    const groups = await this.db.transaction(async (m) => {
      // JIT compiling this statement cost more than running it (1.3 s of 2.3 s at 500 runs × 100 rows): the
      // planner's estimate of the role expansion is far above what it is.
      await m.query(`SET LOCAL jit = off`);
      await m.query(`SET LOCAL work_mem = '32MB'`);
      return selectRows<Omit<StatsGroupRow, 'p50' | 'p95' | 'max'> & { pcts: Array<number | null>; all_runs: number; gid: string }>(
        m,
        sql,
        params,
      );
    });
    return {
      // Every group row carries the same count: the runs with at least one counted row.
      runs: groups[0]?.all_runs ?? 0,
      groups: groups.map(({ pcts, all_runs: _, gid: __, ...g }) => ({ ...g, p50: pcts[0], p95: pcts[1], max: pcts[2] })),
    };
  }

  private runsWhere(s: Pick<StatsScope, 'clusterId' | 'epoch' | 'since' | 'until'>, p: (v: unknown) => string): string[] {
    const cluster = p(s.clusterId);
    const where = [`t.cluster_id = ${cluster}`, 'NOT t.dry_run', `t.status IN ${FINAL_RUN_SQL}`];
    // Uncorrelated: the planner takes the epoch as a constant.
    if (s.epoch === 'current') where.push(`t.epoch = (SELECT c.epoch FROM clusters c WHERE c.id = ${cluster})`);
    if (s.since) where.push(`t.time_start >= ${p(s.since)}::timestamptz`);
    if (s.until) where.push(`t.time_start < ${p(s.until)}::timestamptz`);
    return where;
  }

  /** The run judged by regressions: its cluster, epoch and start; undefined when there is no such run. */
  run(id: number, m: Queryable = this.db): Promise<{ id: number; cluster_id: number; epoch: number; time_start: Date } | undefined> {
    return selectOne(m, `SELECT id, cluster_id, epoch, time_start FROM transactions WHERE id = $1`, [id]);
  }

  /**
   * The `count` real finished runs of the cluster before `before` in run order (start, then id), oldest
   * first; only those of epoch `epoch` unless it is null.
   */
  runsBefore(clusterId: number, epoch: number | null, before: RunRef, count: number, m: Queryable = this.db): Promise<RunRef[]> {
    return selectRows<RunRef>(
      m,
      `SELECT id, time_start FROM (
         SELECT t.id, t.time_start FROM transactions t
         WHERE t.cluster_id = $1 AND NOT t.dry_run AND t.status IN ${FINAL_RUN_SQL} AND ($2::int IS NULL OR t.epoch = $2)
           AND (t.time_start, t.id) < ($3::timestamptz, $4::int)
         ORDER BY t.time_start DESC, t.id DESC LIMIT $5) last
       ORDER BY time_start, id`,
      [clusterId, epoch, before.time_start, before.id, count],
    );
  }

  /** The last `count` real finished runs of the cluster in run order, oldest first (epoch as in task_stats). */
  lastRuns(clusterId: number, epoch: 'current' | 'all', count: number, m: Queryable = this.db): Promise<RunRef[]> {
    const params: unknown[] = [];
    const where = this.runsWhere({ clusterId, epoch }, (v) => `$${params.push(v)}`);
    return selectRows<RunRef>(
      m,
      `SELECT id, time_start FROM (
         SELECT t.id, t.time_start FROM transactions t WHERE ${where.join(' AND ')}
         ORDER BY t.time_start DESC, t.id DESC LIMIT $${params.push(count)}) last
       ORDER BY time_start, id`,
      params,
    );
  }

  /**
   * The counted rows of `runs` (terminal, not closed out) as task-stats.ts reads them, optionally only of
   * the tasks `names` and of the statuses `statuses`; role null (regressions and flaky are per node).
   */
  async rowsOf(
    runs: readonly RunRef[],
    filter: { names?: readonly string[]; statuses?: readonly TaskStatus[] } = {},
    m: Queryable = this.db,
  ): Promise<StatsRow[]> {
    if (runs.length === 0) return [];
    const times = new Map(runs.map((r) => [r.id, r.time_start]));
    const rows = await selectRows<Omit<StatsRow, 'run_time' | 'role'>>(
      m,
      `SELECT h.transaction_id AS run_id, h.node_id, h.task_name, h.status, h.time_start, h.time_end, h.error_message
       FROM deployment_history h
       WHERE h.transaction_id = ANY($1::int[]) AND ${COUNTED_ROW}
         AND ($2::text[] IS NULL OR h.task_name = ANY($2::text[]))
         AND ($3::history_status[] IS NULL OR h.status = ANY($3::history_status[]))`,
      [runs.map((r) => r.id), filter.names ?? null, filter.statuses ?? null],
    );
    return rows.map((r) => ({ ...r, run_time: times.get(r.run_id)!, role: null }));
  }
}
