import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { readThroughIndexes } from '../../common/database/planner';
import { Queryable, selectOne, selectRows } from '../../common/database/sql';
import type { FlakyCounts } from '../flaky-tasks';
import type { StatsRow } from '../task-stats';
import { FINAL_RUN_SQL, OPEN_TASK_SQL } from '../task-state';
import { nodesCondition } from './history-rows.sql';
import { RunStatsCache } from './run-stats-cache';

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
}

/**
 * The counted rows of one (task, node) of task_stats, as parallel lists (one entry per row): the runs and
 * durations of its rows, and its failures' runs and times. Aggregated by the database, so that ~50,000 rows
 * travel as a few hundred lists; the figures are made from them by stats-figures.ts.
 */
export interface TaskNodeRows {
  task_name: string;
  node_id: string | null;
  runs: number[];
  /** Seconds; null for a row without a duration. */
  durations: Array<number | null>;
  failed_runs: number[];
  /** The failures' times (end, else start) in ms since the epoch, null when a failure has neither. */
  failed_times: Array<number | null>;
}

/** TaskNodeRows as the statement answers them: each list comma-separated, an empty item for null. */
interface TaskNodeText {
  task_name: string;
  node_id: string | null;
  runs: string;
  durations_ms: string;
  failed_runs: string;
  failed_times: string;
}

/** A comma-separated list of numbers (an empty item: null). */
const numbers = (list: string): Array<number | null> => (list === '' ? [] : list.split(',').map((x) => (x === '' ? null : Number(x))));

/** A node of a run with its roles, as run_nodes holds them. */
export interface NodeRoles {
  transaction_id: number;
  node_id: string;
  roles: string[];
}

/** Run ids of the judged/considered runs, in run order. */
export interface RunRef {
  id: number;
  time_start: Date;
}

/**
 * A row's duration in whole milliseconds (rowDuration in task-stats.ts: ready/error rows with both times),
 * divided by 1000 in JavaScript as rowDuration does with the times' milliseconds, so the seconds are the same
 * number. Integers: writing ~50,000 doubles as text cost more than the rest of the statement's output.
 */
const DURATION_MS_SQL = `CASE WHEN h.status IN ('ready', 'error') THEN round(date_part('epoch', h.time_end - h.time_start) * 1000)::bigint END`;
/** A failure's time (its end, else its start) in ms since the epoch. */
const FAILED_TIME_MS_SQL = `(extract(epoch FROM coalesce(h.time_end, h.time_start)) * 1000)::bigint`;
/** A row that counts: terminal (not open, task-state.ts) and not closed out by the service. */
const COUNTED_ROW = `h.status NOT IN ${OPEN_TASK_SQL} AND h.closed_reason IS NULL`;
@Injectable()
export class InsightsRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly kept: RunStatsCache,
  ) {}

  /**
   * What task_stats is made of: the runs in scope in run order (start, then id), their nodes' roles, and
   * per (task, node) the counted rows of those runs (filtered by nodes and task names). The statistics are
   * made in JavaScript from these lists (stats-figures.ts): percentiles and trend windows in SQL needed a
   * sort and a window over every row once per role: 570 ms at 500 runs × 100 rows, against 260 ms for this
   * and the figures (before two later savings), measured on the same quiet machine.
   */
  async taskStatsRows(s: StatsScope): Promise<{ runs: number[]; nodes: NodeRoles[]; rows: TaskNodeRows[] }> {
    const runParams: unknown[] = [];
    const runsWhere = this.runsWhere(s, (v) => `$${runParams.push(v)}`).join(' AND ');
    // The nodes' roles are read while the rows are (they are only needed once both are in).
    const nodesRead = selectRows<NodeRoles>(
      this.db,
      // The runs' ids as an array of a subquery: joined to the runs, or given their ids as a parameter, the planner scanned all of run_nodes.
      `SELECT rn.transaction_id, rn.node_id, rn.roles FROM run_nodes rn
       WHERE rn.transaction_id = ANY(ARRAY(SELECT t.id FROM transactions t WHERE ${runsWhere}))`,
      runParams,
    );
    // Awaited below; this keeps a failure of it from going unobserved should the runs' read fail first.
    nodesRead.catch(() => undefined);
    const runs = await selectRows<{ id: number }>(
      this.db,
      `SELECT t.id FROM transactions t WHERE ${runsWhere} ORDER BY t.time_start, t.id`,
      runParams,
    );
    if (runs.length === 0) return { runs: [], nodes: await nodesRead, rows: [] };
    if (!s.nodes && !s.tasks_names) {
      // The whole of each run (what the statistics ask by default): as kept in its own row, built once.
      const counted = { condition: COUNTED_ROW, durationMs: DURATION_MS_SQL, failedTimeMs: FAILED_TIME_MS_SQL };
      const [nodes, rows] = await Promise.all([
        nodesRead,
        this.kept.rowsOf(
          runs.map((r) => r.id),
          counted,
        ),
      ]);
      return { runs: runs.map((r) => r.id), nodes, rows };
    }
    const params: unknown[] = [runs.map((r) => r.id)];
    const rowsWhere = ['h.transaction_id = ANY($1::int[])', COUNTED_ROW];
    if (s.nodes) rowsWhere.push(nodesCondition('h.node_id', s.nodes, params));
    if (s.tasks_names) rowsWhere.push(`h.task_name = ANY($${params.push(s.tasks_names)}::text[])`);
    const failed = `FILTER (WHERE h.status = 'error')`;
    // Through the partitions' indexes (planner.ts: the run ids are a small share of each partition's).
    const rowsRead = readThroughIndexes(this.db, async (m) => {
      // Room to group in memory (hashing ~50,000 rows' lists): with the default, the database sorted them on disk first.
      await m.query(`SET LOCAL work_mem = '32MB'`);
      return selectRows<TaskNodeText>(
        m,
        // Lists as comma-separated text: splitting a string is several times faster than parsing a PostgreSQL array.
        `SELECT h.task_name, h.node_id, string_agg(h.transaction_id::text, ',') AS runs,
                string_agg(coalesce((${DURATION_MS_SQL})::text, ''), ',') AS durations_ms,
                coalesce(string_agg(h.transaction_id::text, ',') ${failed}, '') AS failed_runs,
                coalesce(string_agg(coalesce((${FAILED_TIME_MS_SQL})::text, ''), ',') ${failed}, '') AS failed_times
         FROM deployment_history h WHERE ${rowsWhere.join(' AND ')}
         GROUP BY h.task_name, h.node_id`,
        params,
      );
    });
    const [nodes, rows] = await Promise.all([nodesRead, rowsRead]);
    return {
      runs: runs.map((r) => r.id),
      nodes,
      rows: rows.map((r) => ({
        task_name: r.task_name,
        node_id: r.node_id,
        runs: numbers(r.runs),
        durations: numbers(r.durations_ms).map((ms) => (ms === null ? null : ms / 1000)),
        failed_runs: numbers(r.failed_runs),
        failed_times: numbers(r.failed_times),
      })) as TaskNodeRows[],
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
   * What flaky_tasks judges (flakyOf in flaky-tasks.ts): per (task, node), the number of counted `ready`
   * rows of `runs` and their counted `error` rows (run, message). Only the pairs with both are answered, as
   * only those can be flaky: at 500 runs × 100 rows a few hundred errors travel instead of 50,000 rows.
   */
  async flakyCounts(runs: readonly RunRef[]): Promise<FlakyCounts[]> {
    if (runs.length === 0) return [];
    const ready = `count(*) FILTER (WHERE h.status = 'ready')`;
    const failed = `FILTER (WHERE h.status = 'error')`;
    // Through the partitions' indexes (planner.ts: the runs are a small share of each partition's).
    return readThroughIndexes(this.db, (m) =>
      selectRows<FlakyCounts>(
        m,
        // count(*) is a bigint, which pg answers as a string: an int (a run has one row per task and node).
        `SELECT h.task_name, h.node_id, (${ready})::int AS succeeded,
              json_agg(json_build_object('run_id', h.transaction_id, 'message', h.error_message)) ${failed} AS failures
       FROM deployment_history h
       WHERE h.transaction_id = ANY($1::int[]) AND ${COUNTED_ROW} AND h.status IN ('ready', 'error')
       GROUP BY h.task_name, h.node_id
       HAVING ${ready} > 0 AND count(*) ${failed} > 0`,
        [runs.map((r) => r.id)],
      ),
    );
  }

  /**
   * The counted rows of `runs` (terminal, not closed out) as task-stats.ts reads them, optionally only of
   * the tasks `names`; role null (regressions are per node).
   */
  async rowsOf(runs: readonly RunRef[], filter: { names?: readonly string[] } = {}): Promise<StatsRow[]> {
    if (runs.length === 0) return [];
    const times = new Map(runs.map((r) => [r.id, r.time_start]));
    // Through the partitions' indexes (planner.ts: the baseline's runs are a small share of each partition's).
    const rows = await readThroughIndexes(this.db, (m) =>
      selectRows<Omit<StatsRow, 'run_time' | 'role'>>(
        m,
        `SELECT h.transaction_id AS run_id, h.node_id, h.task_name, h.status, h.time_start, h.time_end, h.error_message
       FROM deployment_history h
       WHERE h.transaction_id = ANY($1::int[]) AND ${COUNTED_ROW}
         AND ($2::text[] IS NULL OR h.task_name = ANY($2::text[]))`,
        [runs.map((r) => r.id), filter.names ?? null],
      ),
    );
    return rows.map((r) => ({ ...r, run_time: times.get(r.run_id)!, role: null }));
  }
}
