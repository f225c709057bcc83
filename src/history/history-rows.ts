import type { EntityManager } from 'typeorm';
import type { HistoryRecord } from './dto/history-row.dto';
import type { Key } from './keyset';

/**
 * The one SQL builder for lists of history rows (a run's, a cluster's, a node's), so that every list
 * filters the same way. Values always go as parameters.
 */
export interface RowScope {
  transactionId?: number;
  clusterId?: number;
  /** One node: an id, `master`, or null for cluster-level rows. */
  nodeId?: string | null;
}

export interface RowFilters {
  nodes?: string[];
  statuses?: string[];
  tasks_names?: string[];
  transaction_types?: string[];
  since?: string;
  until?: string;
  dry_run?: boolean;
  epoch?: 'all' | 'current';
}

export type RowOrder = 'run' | '-time_start' | 'time_start';

/** Runs of nodes: cluster-level first, then `master`, then node ids in numeric order. */
const NODE_ORDER = `(h.node_id IS NULL) DESC, (h.node_id = 'master') DESC NULLS LAST, length(h.node_id), h.node_id`;

/** The WHERE clause of a list, every value a parameter appended to `params`. */
function whereOf(scope: RowScope, f: RowFilters, params: unknown[]): string[] {
  const p = (v: unknown) => `$${params.push(v)}`;
  const where: string[] = [];
  if (scope.transactionId !== undefined) where.push(`h.transaction_id = ${p(scope.transactionId)}`);
  if (scope.clusterId !== undefined) where.push(`h.cluster_id = ${p(scope.clusterId)}`);
  if (scope.nodeId !== undefined) where.push(scope.nodeId === null ? 'h.node_id IS NULL' : `h.node_id = ${p(scope.nodeId)}`);
  if (f.nodes) {
    const ids = f.nodes.filter((n) => n !== 'null');
    const alts = [...(ids.length ? [`h.node_id = ANY(${p(ids)})`] : []), ...(ids.length < f.nodes.length ? ['h.node_id IS NULL'] : [])];
    where.push(`(${alts.join(' OR ')})`);
  }
  if (f.statuses) where.push(`h.status = ANY(${p(f.statuses)}::history_status[])`);
  if (f.tasks_names) where.push(`h.task_name = ANY(${p(f.tasks_names)})`);
  if (f.transaction_types) where.push(`t.name = ANY(${p(f.transaction_types)})`);
  if (f.since) where.push(`h.sort_time >= ${p(f.since)}::timestamptz`);
  if (f.until) where.push(`h.sort_time < ${p(f.until)}::timestamptz`);
  if (f.dry_run !== undefined) where.push(`t.dry_run = ${p(f.dry_run)}`);
  if (f.epoch === 'current') {
    // Uncorrelated when the cluster is known, so the planner takes the epoch as a constant.
    const cluster = scope.clusterId !== undefined ? p(scope.clusterId) : 't.cluster_id';
    where.push(`t.epoch = (SELECT c.epoch FROM clusters c WHERE c.id = ${cluster})`);
  }
  return where;
}

/**
 * The version of a row's JSON shape (rowJson, HistoryRowDto): a whole-run list kept in another shape
 * (transactions.list_cache_shape) is built afresh rather than served. Bump it when the shape changes.
 * 2: rows carry their task's definition.
 */
export const ROW_SHAPE = 2;

/**
 * A run's task definitions, each without `id` (the task's name, already the row's) and `summary` (a row's
 * summary shows only when asked): per task name, the one most of its nodes share (tasks_snapshot), and
 * where a node's own differs (node_task_definitions). The task's are expanded once per query and joined
 * by hash (DEFINITION_JOIN: a run's tasks_snapshot read once per row would be decompressed once per row).
 */
const definitionsOf = (run: string) => `defs AS MATERIALIZED (
         SELECT d.key AS task_name, d.value - 'id' - 'summary' AS def
         FROM transactions x, jsonb_each(x.tasks_snapshot) d WHERE x.id = ${run})`;
const DEFINITION_JOIN = 'LEFT JOIN defs ON defs.task_name = h.task_name';
/**
 * A row's definition (with DEFINITION_JOIN): its node's own, else its task's; null for a task the run did
 * not announce. A node's own is looked up in the index of node_task_definitions (~2 µs a row), only when
 * the run has any (checked once per query); joining a whole per-node graph (as large as the run: 15 MB at
 * 30,000 rows) sorted it on disk and cost 3 times as much.
 */
const definitionOf = (run: string) => `coalesce(CASE
         WHEN NOT (SELECT EXISTS (SELECT 1 FROM node_task_definitions e WHERE e.transaction_id = ${run})) THEN NULL
         WHEN h.node_id IS NULL THEN (SELECT n.definition FROM node_task_definitions n
                                      WHERE n.transaction_id = h.transaction_id AND n.task_name = h.task_name AND n.node_id IS NULL)
         ELSE (SELECT n.definition FROM node_task_definitions n
               WHERE n.transaction_id = h.transaction_id AND n.task_name = h.task_name AND n.node_id = h.node_id)
       END - 'id' - 'summary', defs.def)`;

export async function selectRows(
  m: EntityManager,
  scope: RowScope,
  f: RowFilters,
  opts: { order: RowOrder; limit?: number; after?: Key; includeSummary: boolean; aboveVersion?: string; definitions?: boolean },
): Promise<Array<HistoryRecord & { sort_us: string; row_version: string }>> {
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
  const order =
    opts.order === 'run'
      ? `${NODE_ORDER}, h.time_start NULLS LAST, h.task_name`
      : `h.sort_time ${desc ? 'DESC' : 'ASC'}, h.id ${desc ? 'DESC' : 'ASC'}`;
  return m.query(
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

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** What a whole run's list holds besides the rows' own fields. */
export interface RunJsonShape {
  /** Each row's `summary`. */
  includeSummary: boolean;
  /** Each row's task definition, merged at the row's root (the per-run list's default). */
  definitions: boolean;
}

/**
 * A whole run's rows, as the JSON text of the API's list (HistoryRowDto's shape: the task's definition,
 * then custom keys at the root, the row's own fields over them, summary when asked), in Fuel's order —
 * built by PostgreSQL, which is several times faster than reading tens of thousands of rows into objects
 * and back.
 */
export async function selectRunJson(m: EntityManager, transactionId: number, f: RowFilters, shape: RunJsonShape): Promise<string> {
  return (await selectRunJsonAt(m, transactionId, f, shape, false)).body;
}

/**
 * The same, with the highest row version of the run as of the same snapshot (every write of a row
 * gives it a higher one): what a cache of the list compares to know that no row changed since.
 */
export function selectRunJsonVersioned(
  m: EntityManager,
  transactionId: number,
  f: RowFilters,
  shape: RunJsonShape,
): Promise<{ body: string; version: string | null }> {
  return selectRunJsonAt(m, transactionId, f, shape, true);
}

/**
 * One row `h` as the JSON of HistoryRowDto.from: its definition (with definitionsOf and DEFINITION_JOIN on
 * `run`), its custom keys over it, the row's fields over both; summary when asked.
 */
const rowJson = (shape: RunJsonShape, run?: string) => `${shape.definitions ? `coalesce(${definitionOf(run!)}, '{}'::jsonb) || ` : ''}
                  (coalesce(h.custom, '{}'::jsonb) - 'summary')
                  || jsonb_build_object(
                    'task_name', h.task_name, 'node_id', h.node_id, 'status', h.status, 'type', h.task_type,
                    'time_start', to_char(h.time_start AT TIME ZONE 'UTC', ${ISO}),
                    'time_end', to_char(h.time_end AT TIME ZONE 'UTC', ${ISO}),
                    'error_message', h.error_message, 'closed_reason', h.closed_reason)
                  ${shape.includeSummary ? `|| jsonb_build_object('summary', h.summary)` : ''}`;

async function selectRunJsonAt(m: EntityManager, transactionId: number, f: RowFilters, shape: RunJsonShape, withVersion: boolean) {
  const params: unknown[] = [];
  // The run as a parameter of its own where the definitions or the version use it (an unused one has no type).
  let param: string | undefined;
  const run = () => (param ??= `$${params.push(transactionId)}`);
  const where = whereOf({ transactionId }, f, params);
  const version = withVersion
    ? `, (SELECT max(v.row_version) FROM deployment_history v WHERE v.transaction_id = ${run()})::text AS version`
    : '';
  const [row]: Array<{ body: string; version?: string | null }> = await m.query(
    `${shape.definitions ? `WITH ${definitionsOf(run())}` : ''}
     SELECT coalesce(json_agg(x.j ORDER BY (x.node_id IS NULL) DESC, (x.node_id = 'master') DESC NULLS LAST, length(x.node_id), x.node_id,
                               x.time_start NULLS LAST, x.task_name), '[]')::text AS body${version}
     FROM (SELECT h.node_id, h.time_start, h.task_name, ${rowJson(shape, shape.definitions ? run() : undefined)} AS j
           FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
           ${shape.definitions ? DEFINITION_JOIN : ''}
           WHERE ${where.join(' AND ')}) x`,
    params,
  );
  return { body: row.body, version: row.version ?? null };
}

/** A row of a run as its JSON text (summary included), with its id and version: what the live view keeps and sends. */
export interface RowJson {
  id: string;
  version: string;
  json: string;
}

/**
 * The rows of a run written after `aboveVersion` (every row: '0'), each as its JSON text, in Fuel's
 * order. Built by PostgreSQL as selectRunJson's rows are, so the live view never builds objects. Without
 * their definitions: the live view keeps every row of the run in memory while it has clients, and sends
 * a row again at each change; its clients show statuses (a task's definition is in its detail).
 */
export function selectRowJsonAbove(m: EntityManager, transactionId: number, aboveVersion: string): Promise<RowJson[]> {
  return m.query(
    `SELECT h.id::text AS id, h.row_version::text AS version, (${rowJson({ includeSummary: true, definitions: false })})::text AS json
     FROM deployment_history h
     WHERE h.transaction_id = $1 AND h.row_version > $2::bigint
     ORDER BY ${NODE_ORDER}, h.time_start NULLS LAST, h.task_name`,
    [transactionId, aboveVersion],
  );
}
