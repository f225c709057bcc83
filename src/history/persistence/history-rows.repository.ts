import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { setLocally } from '../../common/database/planner';
import { Queryable, selectOne, selectRows } from '../../common/database/sql';
import type { HistoryRecord } from '../dto/history-row.dto';
import { OPEN_TASK_SQL, type TaskStatus } from '../task-state';
import type { Key } from '../keyset';
import { Column, runsOf, unnestRows } from './columns';
import {
  DEFINITION_JOIN,
  definitionOf,
  definitionsOf,
  firstFailureSql,
  RowFilters,
  RowJson,
  rowJson,
  RowOrder,
  RowScope,
  runOrder,
  RunJsonShape,
  whereOf,
} from './history-rows.sql';

/** A listed row, with its sort key (microseconds since the epoch) and version. */
export type ListedRow = HistoryRecord & { sort_us: string; row_version: string };

export interface ListOptions {
  order: RowOrder;
  limit?: number;
  after?: Key;
  includeSummary: boolean;
  aboveVersion?: string;
  definitions?: boolean;
}

/** A run's first failed row (firstFailureSql), its times as PostgreSQL's JSON writes them. */
export interface FailureRow {
  node_id: string | null;
  task_name: string;
  time_start: string | null;
  time_end: string | null;
  error_message: string | null;
  closed_reason: string | null;
}

/** What one scan of a run's rows says for its summary (history-query.service.ts), and its highest row version then. */
export interface RowsScan {
  version: string | null;
  counts: Array<{ node_id: string | null; status: TaskStatus; n: number }>;
  failure: FailureRow | null;
  slowest: Array<{
    node_id: string | null;
    task_name: string;
    status: TaskStatus;
    time_start: string;
    time_end: string;
    ms: number;
  }> | null;
}

/** A run's rows per status and its first failed row (runCounts). */
export interface RunCountsRow {
  id: number;
  statuses: Record<string, number>;
  failure: FailureRow | null;
}

/** One row with its cluster and its node's own definition (a task's detail). */
export type DetailRow = HistoryRecord & {
  cluster_id: number;
  cluster_name: string;
  cluster_release: string;
  node_definition: Record<string, unknown> | null;
};

/** A row's (node, task, status): what two runs are compared by. */
export interface RowStatus {
  node_id: string | null;
  task_name: string;
  status: TaskStatus;
}

/** A row as the writer reads it to merge reports into it. */
export interface StoredRow {
  id: string;
  transaction_id: number;
  node_id: string | null;
  task_name: string;
  status: TaskStatus;
  time_start: Date | null;
  time_end: Date | null;
  error_message: string | null;
  closed_reason: string | null;
  summary: Record<string, unknown> | null;
  custom: Record<string, unknown>;
}

/** A row's key: its run, node (null: cluster-level) and task. */
export interface RowKey {
  txId: number;
  nodeId: string | null;
  taskName: string;
}

const STORED_COLUMNS = `h.id, h.transaction_id, h.node_id, h.task_name, h.status, h.time_start, h.time_end,
  h.error_message, h.closed_reason, h.summary, h.custom`;
const KEY_COLUMNS: ReadonlyArray<Column<RowKey>> = [
  { name: 'tx', type: 'int', value: (k) => k.txId },
  { name: 'node', type: 'varchar', value: (k) => k.nodeId },
  { name: 'task', type: 'varchar', value: (k) => k.taskName },
];

/**
 * The same reads on READ_DB (DATABASE_READ_URL's replica, else the primary), for the REST reads that may
 * lag (HistoryQueryService); the live stream and the writer use HistoryRowsRepository, on the primary.
 */
export const REPLICA_HISTORY_ROWS = Symbol('REPLICA_HISTORY_ROWS');

/** The reads of history rows (deployment_history): lists, a run's list as JSON, its summary scan, one task. */
@Injectable()
export class HistoryRowsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Rows of a scope, filtered, in the order asked, a page from `after` when given. */
  list(scope: RowScope, f: RowFilters, opts: ListOptions, db: Queryable = this.db): Promise<ListedRow[]> {
    const params: unknown[] = [];
    const p = (v: unknown) => `$${params.push(v)}`;
    // Definitions are a run's: only a run's lists carry them.
    const definitions = opts.definitions === true && scope.transactionId !== undefined;
    const run = definitions ? p(scope.transactionId) : '';
    const withDefinitions = definitions ? `WITH ${definitionsOf(run)}` : '';
    const where = whereOf(scope, f, params);
    if (opts.aboveVersion !== undefined) where.push(`h.row_version > ${p(opts.aboveVersion)}::bigint`);
    const desc = opts.order !== 'time_start';
    if (opts.after) {
      const key = `('epoch'::timestamptz + ${p(opts.after.us)}::bigint * interval '1 microsecond', ${p(opts.after.id)}::bigint)`;
      where.push(`(h.sort_time, h.id) ${desc ? '<' : '>'} ${key}`);
    }
    const order = opts.order === 'run' ? runOrder('h') : `h.sort_time ${desc ? 'DESC' : 'ASC'}, h.id ${desc ? 'DESC' : 'ASC'}`;
    return selectRows(
      db,
      `${withDefinitions}
     SELECT h.id, h.transaction_id, h.node_id, h.task_name, h.task_type, h.status, h.time_start, h.time_end,
            h.error_message, h.closed_reason, h.custom, ${opts.includeSummary ? 'h.summary,' : ''}
            ${definitions ? `${definitionOf(run)} AS definition,` : ''}
            t.uuid AS transaction_uuid, t.name AS transaction_name, t.epoch,
            (extract(epoch FROM h.sort_time) * 1000000)::bigint::text AS sort_us, h.row_version::text AS row_version
     FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
     ${definitions ? DEFINITION_JOIN : ''}
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY ${order}
     ${opts.limit !== undefined ? `LIMIT ${p(opts.limit)}` : ''}`,
      params,
    );
  }

  /**
   * A whole run's rows, as the JSON text of the API's list (HistoryRowDto's shape: the task's definition,
   * then custom keys at the root, the row's own fields over them, summary when asked), in Fuel's order —
   * built by PostgreSQL, which is several times faster than reading tens of thousands of rows into objects
   * and back. With `withVersion`, also the highest row version of the run as of the same snapshot (every
   * write of a row gives it a higher one): what a cache of the list compares to know that no row changed since.
   */
  async runJson(
    transactionId: number,
    f: RowFilters,
    shape: RunJsonShape,
    withVersion = false,
  ): Promise<{ body: string; version: string | null }> {
    const params: unknown[] = [];
    // The run as a parameter of its own where the definitions or the version use it (an unused one has no type).
    let param: string | undefined;
    const run = () => (param ??= `$${params.push(transactionId)}`);
    const where = whereOf({ transactionId }, f, params);
    const version = withVersion
      ? `, (SELECT max(v.row_version) FROM deployment_history v WHERE v.transaction_id = ${run()})::text AS version`
      : '';
    const row = await selectOne<{ body: string; version?: string | null }>(
      this.db,
      `${shape.definitions ? `WITH ${definitionsOf(run())}` : ''}
     SELECT coalesce(json_agg(x.j ORDER BY ${runOrder('x')}), '[]')::text AS body${version}
     FROM (SELECT h.node_id, h.time_start, h.task_name, ${rowJson(shape, shape.definitions ? run() : undefined)} AS j
           FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
           ${shape.definitions ? DEFINITION_JOIN : ''}
           WHERE ${where.join(' AND ')}) x`,
      params,
    );
    return { body: row!.body, version: row!.version ?? null };
  }

  /**
   * The rows of a run written after `aboveVersion` (every row: '0'), each as its JSON text, in Fuel's
   * order. Built by PostgreSQL as runJson's rows are, so the live view never builds objects. Without
   * their definitions: the live view keeps every row of the run in memory while it has clients, and sends
   * a row again at each change; its clients show statuses (a task's definition is in its detail).
   */
  rowJsonAbove(transactionId: number, aboveVersion: string): Promise<RowJson[]> {
    return selectRows(
      this.db,
      `SELECT h.id::text AS id, h.row_version::text AS version, (${rowJson({ includeSummary: true, definitions: false })})::text AS json
     FROM deployment_history h
     WHERE h.transaction_id = $1 AND h.row_version > $2::bigint
     ORDER BY ${runOrder('h')}`,
      [transactionId, aboveVersion],
    );
  }

  /** Counts per node and status, the first failure, the slowest tasks and the highest row version, from one scan of a run's rows. */
  async scan(transactionId: number): Promise<RowsScan> {
    // One scan of the run's rows answers all three questions (one round trip, one read of the rows).
    const row = await selectOne<RowsScan>(
      this.db,
      `WITH r AS MATERIALIZED (
         SELECT id, node_id, task_name, status, time_start, time_end, error_message, closed_reason, row_version
         FROM deployment_history WHERE transaction_id = $1)
       SELECT
         (SELECT max(row_version) FROM r)::text AS version,
         (SELECT coalesce(json_agg(c), '[]') FROM (SELECT node_id, status, count(*)::int AS n FROM r GROUP BY node_id, status) c) AS counts,
         (SELECT row_to_json(f) FROM (${firstFailureSql('r')}) f) AS failure,
         (SELECT json_agg(s) FROM (
            SELECT node_id, task_name, status, time_start, time_end, (extract(epoch FROM time_end - time_start) * 1000)::float8 AS ms
            FROM r WHERE time_start IS NOT NULL AND time_end IS NOT NULL AND closed_reason IS NULL
            ORDER BY time_end - time_start DESC, id LIMIT 10) s) AS slowest`,
      [transactionId],
    );
    return row!;
  }

  /**
   * Per run of `ids`: its rows per status and its first failed row (firstFailureSql), in one statement
   * (each run's rows read through the run's index). What a list of runs shows of runs that keep no summary.
   */
  runCounts(ids: readonly number[]): Promise<RunCountsRow[]> {
    if (!ids.length) return Promise.resolve([]);
    return selectRows(
      this.db,
      `SELECT t.id,
              (SELECT coalesce(json_object_agg(c.status, c.n), '{}') FROM (
                 SELECT status, count(*)::int AS n FROM deployment_history WHERE transaction_id = t.id GROUP BY status) c) AS statuses,
              (SELECT row_to_json(f) FROM (
                 ${firstFailureSql('(SELECT * FROM deployment_history WHERE transaction_id = t.id) r')}) f) AS failure
       FROM unnest($1::int[]) AS t(id)`,
      [ids],
    );
  }

  /** One row of a run, by node (null: cluster-level) and task, with its cluster and its node's own definition. */
  detail(transactionId: number, nodeId: string | null, taskName: string): Promise<DetailRow | undefined> {
    // The node's own definition where it differs from the one most of the task's nodes share (tasks_snapshot).
    return selectOne(
      this.db,
      `SELECT h.*, c.name AS cluster_name, c.release AS cluster_release,
              (SELECT d.definition FROM node_task_definitions d
               WHERE d.transaction_id = h.transaction_id AND d.task_name = h.task_name
                 AND d.node_id IS NOT DISTINCT FROM h.node_id) AS node_definition
       FROM deployment_history h JOIN clusters c ON c.id = h.cluster_id
       WHERE h.transaction_id = $1 AND h.task_name = $2 AND h.node_id IS NOT DISTINCT FROM $3`,
      [transactionId, taskName, nodeId],
    );
  }

  /** Every row of a run as (node, task, status). */
  statuses(transactionId: number): Promise<RowStatus[]> {
    return selectRows(this.db, 'SELECT node_id, task_name, status FROM deployment_history WHERE transaction_id = $1', [transactionId]);
  }

  /**
   * For the rest of the caller's transaction (the writer's batch), joins go through the indexes: a batch
   * reads and writes ~1,000 rows of the history by key, a small part of the table, but until the table is
   * large (~250,000 rows), or before autovacuum first analyzed it (a fresh database: the planner then takes
   * it for 10 times smaller than it is), the planner prefers to read the whole table and hash it at every
   * batch over ~1,000 index lookups, which it costs as uncached random reads. A 1,000-run benchmark spent
   * ~30 % of PostgreSQL's CPU in those scans (perf, issue #17).
   * The writer's statements are prepared (named) only in a small batch (`planOnce`, HistoryWriter.apply): tried
   * for every batch, parsing once per connection saved ~0.6 µs of PostgreSQL CPU per cast, but planned at each
   * execution (force_custom_plan) the cluster state's upsert cost 18 instead of 11 µs per row and the writer's
   * statements 34-41 instead of 25-26 µs per cast (1,000-run benchmarks); planned once (a generic plan) they kept
   * the plan of a fresh database's first batches (a run's rows read for each key: 2-19 s per batch). A small batch
   * (the HTTP path: ~8 casts per transaction) is another matter: planning and parsing were half of what its
   * statements cost PostgreSQL (pg_stat_statements, 2026-12-01), so there each statement is planned once per
   * connection (`plan_cache_mode`), and without sequential scans, so that a plan made when a partition was
   * small still reads it by key once it is large (every statement of the writer reads or writes by a key its
   * table has an index for). The settings are the same in every small batch: the plans cached are made and
   * used under them alone (prepared.ts).
   * Nor bitmap scans: a small batch's statements name their runs (`runsOf`, for the partitions), and on
   * statistics that do not know the new runs yet (each run estimated at one row) the planner read those
   * runs' rows through a bitmap of their ids and compared each with every key, at 10 times the cost.
   */
  async lookUpByIndexes(m: Queryable, { planOnce = false }: { planOnce?: boolean } = {}): Promise<void> {
    await setLocally(m, {
      enable_hashjoin: 'off',
      enable_mergejoin: 'off',
      enable_bitmapscan: 'off',
      // No JIT either: a plan kept by a statement keeps its decision to compile, and a generic plan's costs
      // (each unnest taken for 100 rows, every partition counted) may pass jit_above_cost on a large history.
      ...(planOnce ? { plan_cache_mode: 'force_generic_plan', enable_seqscan: 'off', jit: 'off' } : {}),
    });
  }

  /**
   * The rows of these keys, and the open rows (and rows closed out) of the runs `closing`, in one statement.
   * No row locks: every writer of a run's rows holds the run's row lock (taken before, in id order), which
   * serializes them. Node rows by equality on the whole unique key (so the index is used whole).
   * Only the parts that have something to look up are sent, and each names its runs (`runsOf`): planning
   * is most of a small batch's cost, and a part is planned for every partition it may touch (issue #17).
   */
  forReports(m: Queryable, keys: RowKey[], closing: number[]): Promise<StoredRow[]> {
    const params: unknown[] = [];
    const withNode = keys.filter((k) => k.nodeId !== null);
    const clusterLevel = keys.filter((k) => k.nodeId === null);
    // The rows of these keys (node or cluster level), by equality on each key's columns, in their runs' partitions.
    const byKey = (keyed: RowKey[], columns: ReadonlyArray<Column<RowKey>>, node: string) => {
      const k = unnestRows('k', columns, keyed, params);
      const runs = runsOf(
        'h',
        keyed.map((key) => key.txId),
        params,
      );
      return `SELECT ${STORED_COLUMNS} FROM deployment_history h
       JOIN ${k} ON h.transaction_id = k.tx AND h.task_name = k.task AND ${node}
       WHERE ${runs}`;
    };
    const parts: string[] = [];
    if (withNode.length) parts.push(byKey(withNode, KEY_COLUMNS, 'h.node_id = k.node'));
    if (clusterLevel.length) parts.push(byKey(clusterLevel, [KEY_COLUMNS[0], KEY_COLUMNS[2]], 'h.node_id IS NULL'));
    // The closing runs named twice: `= ANY` for the index, `runsOf` for the partitions (a generic plan, a small
    // batch's, prunes by equalities it is given values for, never by an array's elements).
    if (closing.length)
      parts.push(`SELECT ${STORED_COLUMNS} FROM deployment_history h
       WHERE h.transaction_id = ANY($${params.push(closing)}::int[]) AND ${runsOf('h', closing, params)}
         AND (h.status IN ${OPEN_TASK_SQL} OR h.closed_reason IS NOT NULL)`);
    if (!parts.length) return Promise.resolve([]);
    return selectRows(m, parts.join('\n       UNION ALL\n       '), params);
  }
}
