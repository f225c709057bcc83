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

export async function selectRows(
  m: EntityManager,
  scope: RowScope,
  f: RowFilters,
  opts: { order: RowOrder; limit?: number; after?: Key; includeSummary: boolean; aboveVersion?: string },
): Promise<Array<HistoryRecord & { sort_us: string; row_version: string }>> {
  const params: unknown[] = [];
  const p = (v: unknown) => `$${params.push(v)}`;
  const where = whereOf(scope, f, params);
  if (opts.aboveVersion !== undefined) where.push(`h.row_version > ${p(opts.aboveVersion)}::bigint`);
  const desc = opts.order !== 'time_start';
  if (opts.after) {
    const key = `('epoch'::timestamptz + ${p(opts.after.us)}::bigint * interval '1 microsecond', ${p(opts.after.id)}::bigint)`;
    where.push(`(h.sort_time, h.id) ${desc ? '<' : '>'} ${key}`);
  }
  const order = opts.order === 'run' ? `${NODE_ORDER}, h.time_start NULLS LAST, h.task_name` : `h.sort_time ${desc ? 'DESC' : 'ASC'}, h.id ${desc ? 'DESC' : 'ASC'}`;
  return m.query(
    `SELECT h.id, h.transaction_id, h.node_id, h.task_name, h.task_type, h.status, h.time_start, h.time_end,
            h.error_message, h.closed_reason, h.custom, ${opts.includeSummary ? 'h.summary,' : ''}
            t.uuid AS transaction_uuid, t.name AS transaction_name, t.epoch,
            (extract(epoch FROM h.sort_time) * 1000000)::bigint::text AS sort_us, h.row_version::text AS row_version
     FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
     ORDER BY ${order}
     ${opts.limit !== undefined ? `LIMIT ${p(opts.limit)}` : ''}`,
    params,
  );
}

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/**
 * A whole run's rows, as the JSON text of the API's list (HistoryRowDto's shape: custom keys at the
 * root, the row's own fields over them, summary when asked), in Fuel's order — built by PostgreSQL,
 * which is several times faster than reading tens of thousands of rows into objects and back.
 */
export async function selectRunJson(m: EntityManager, transactionId: number, f: RowFilters, includeSummary: boolean): Promise<string> {
  return (await selectRunJsonAt(m, transactionId, f, includeSummary, false)).body;
}

/**
 * The same, with the highest row version of the run as of the same snapshot (every write of a row
 * gives it a higher one): what a cache of the list compares to know that no row changed since.
 */
export function selectRunJsonVersioned(m: EntityManager, transactionId: number, f: RowFilters, includeSummary: boolean): Promise<{ body: string; version: string | null }> {
  return selectRunJsonAt(m, transactionId, f, includeSummary, true);
}

/** One row `h` as the JSON of HistoryRowDto.from (custom keys at the root, the row's fields over them). */
const rowJson = (includeSummary: boolean) => `(coalesce(h.custom, '{}'::jsonb) - 'summary') || jsonb_build_object(
                    'task_name', h.task_name, 'node_id', h.node_id, 'status', h.status, 'type', h.task_type,
                    'time_start', to_char(h.time_start AT TIME ZONE 'UTC', ${ISO}),
                    'time_end', to_char(h.time_end AT TIME ZONE 'UTC', ${ISO}),
                    'error_message', h.error_message, 'closed_reason', h.closed_reason)
                  ${includeSummary ? `|| jsonb_build_object('summary', h.summary)` : ''}`;

async function selectRunJsonAt(m: EntityManager, transactionId: number, f: RowFilters, includeSummary: boolean, withVersion: boolean) {
  const params: unknown[] = [];
  const where = whereOf({ transactionId }, f, params);
  const version = withVersion ? `, (SELECT max(v.row_version) FROM deployment_history v WHERE v.transaction_id = $${params.push(transactionId)})::text AS version` : '';
  const [row]: Array<{ body: string; version?: string | null }> = await m.query(
    `SELECT coalesce(json_agg(x.j ORDER BY (x.node_id IS NULL) DESC, (x.node_id = 'master') DESC NULLS LAST, length(x.node_id), x.node_id,
                               x.time_start NULLS LAST, x.task_name), '[]')::text AS body${version}
     FROM (SELECT h.node_id, h.time_start, h.task_name, ${rowJson(includeSummary)} AS j
           FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
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
 * order. Built by PostgreSQL as selectRunJson's rows are, so the live view never builds objects.
 */
export function selectRowJsonAbove(m: EntityManager, transactionId: number, aboveVersion: string): Promise<RowJson[]> {
  return m.query(
    `SELECT h.id::text AS id, h.row_version::text AS version, (${rowJson(true)})::text AS json
     FROM deployment_history h
     WHERE h.transaction_id = $1 AND h.row_version > $2::bigint
     ORDER BY ${NODE_ORDER}, h.time_start NULLS LAST, h.task_name`,
    [transactionId, aboveVersion],
  );
}
