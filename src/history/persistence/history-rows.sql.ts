import { nodeOrderSql } from '../../common/node-order';
import { ROW_FIELDS } from '../dto/history-row.dto';

/**
 * The SQL pieces of the lists of history rows (a run's, a cluster's, a node's), so that every list
 * filters the same way; HistoryRowsRepository puts them together. Values always go as parameters.
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

/** A run's rows in Fuel's order: by node (common/node-order.ts), then start time, then task name. */
export const runOrder = (alias: string): string =>
  `${nodeOrderSql(`${alias}.node_id`)}, ${alias}.time_start NULLS LAST, ${alias}.task_name`;

/** `column` among `nodes` (ids, `null` for cluster-level rows), as a condition, the ids a parameter appended to `params`. */
export function nodesCondition(column: string, nodes: string[], params: unknown[]): string {
  const ids = nodes.filter((n) => n !== 'null');
  const alts = [
    ...(ids.length ? [`${column} = ANY($${params.push(ids)})`] : []),
    ...(ids.length < nodes.length ? [`${column} IS NULL`] : []),
  ];
  return `(${alts.join(' OR ')})`;
}

/** The WHERE clause of a list, every value a parameter appended to `params`. */
export function whereOf(scope: RowScope, f: RowFilters, params: unknown[]): string[] {
  const p = (v: unknown) => `$${params.push(v)}`;
  const where: string[] = [];
  if (scope.transactionId !== undefined) where.push(`h.transaction_id = ${p(scope.transactionId)}`);
  if (scope.clusterId !== undefined) where.push(`h.cluster_id = ${p(scope.clusterId)}`);
  if (scope.nodeId !== undefined) where.push(scope.nodeId === null ? 'h.node_id IS NULL' : `h.node_id = ${p(scope.nodeId)}`);
  if (f.nodes) where.push(nodesCondition('h.node_id', f.nodes, params));
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
 * THE rule of a run's first failure (its summary's `first_failure`, the runs list's `first_failure`): among
 * the rows of `rows` (a FROM item holding one run's rows) in status error, a reported failure before one
 * the service closed out, then the earliest by end (else start) time, then the first stored. The reader
 * maps the row it selects with `firstFailureOf` (dto/run-views.dto.ts).
 */
export const firstFailureSql = (rows: string): string =>
  `SELECT node_id, task_name, time_start, time_end, error_message, closed_reason FROM ${rows} WHERE status = 'error'
   ORDER BY (closed_reason IS NOT NULL), COALESCE(time_end, time_start) NULLS LAST, id LIMIT 1`;

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
export const definitionsOf = (run: string): string => `defs AS MATERIALIZED (
         SELECT d.key AS task_name, d.value - 'id' - 'summary' AS def
         FROM transactions x, jsonb_each(x.tasks_snapshot) d WHERE x.id = ${run})`;
export const DEFINITION_JOIN = 'LEFT JOIN defs ON defs.task_name = h.task_name';
/**
 * A row's definition (with DEFINITION_JOIN): its node's own, else its task's; null for a task the run did
 * not announce. A node's own is looked up in the index of node_task_definitions (~2 µs a row), only when
 * the run has any (checked once per query); joining a whole per-node graph (as large as the run: 15 MB at
 * 30,000 rows) sorted it on disk and cost 3 times as much.
 */
export const definitionOf = (run: string): string => `coalesce(CASE
         WHEN NOT (SELECT EXISTS (SELECT 1 FROM node_task_definitions e WHERE e.transaction_id = ${run})) THEN NULL
         WHEN h.node_id IS NULL THEN (SELECT n.definition FROM node_task_definitions n
                                      WHERE n.transaction_id = h.transaction_id AND n.task_name = h.task_name AND n.node_id IS NULL)
         ELSE (SELECT n.definition FROM node_task_definitions n
               WHERE n.transaction_id = h.transaction_id AND n.task_name = h.task_name AND n.node_id = h.node_id)
       END - 'id' - 'summary', defs.def)`;

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** What a whole run's list holds besides the rows' own fields. */
export interface RunJsonShape {
  /** Each row's `summary`. */
  includeSummary: boolean;
  /** Each row's task definition, merged at the row's root (the per-run list's default). */
  definitions: boolean;
}

/** The row's own fields (ROW_FIELDS, the list HistoryRowDto.from builds from) as jsonb_build_object's arguments. */
const OWN_FIELDS = ROW_FIELDS.map(
  (f) => `'${f.field}', ${'time' in f ? `to_char(h.${f.column} AT TIME ZONE 'UTC', ${ISO})` : `h.${f.column}`}`,
).join(', ');

/**
 * One row `h` as the JSON of HistoryRowDto.from: its definition (with definitionsOf and DEFINITION_JOIN on
 * `run`), its custom keys over it, the row's fields over both; summary when asked.
 */
export const rowJson = (
  shape: RunJsonShape,
  run?: string,
): string => `${shape.definitions ? `coalesce(${definitionOf(run!)}, '{}'::jsonb) || ` : ''}
                  (coalesce(h.custom, '{}'::jsonb) - 'summary')
                  || jsonb_build_object(${OWN_FIELDS})
                  ${shape.includeSummary ? `|| jsonb_build_object('summary', h.summary)` : ''}`;

/** A row of a run as its JSON text (summary included), with its id and version: what the live view keeps and sends. */
export interface RowJson {
  id: string;
  version: string;
  json: string;
}
