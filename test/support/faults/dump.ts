import { Client } from 'pg';
import { DATABASE_URL } from '../services';
import type { ExpectedRow, ExpectedRun, Workload } from './workload';
import { canonical } from '../../../src/history/task-state';

/**
 * Full dumps of what the service stored, without ids (runs by uuid, rows by (uuid, node, task)), and
 * comparisons that list what differs instead of one unreadable diff.
 */
export interface Dump {
  clusters: Record<string, Record<string, unknown>>;
  transactions: Record<string, Record<string, unknown>>;
  rows: Record<string, Record<string, unknown>>;
}

// canonical: key-order-free JSON, the same function the state machine compares payloads with.
const value = (v: unknown): unknown => (v instanceof Date ? v.toISOString() : v !== null && typeof v === 'object' ? canonical(v) : v);

function plain(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, value(v)]));
}

export async function dump(sql: Client): Promise<Dump> {
  const clusters = await sql.query(`SELECT id, name, release, epoch FROM clusters ORDER BY id`);
  const txs = await sql.query(
    `SELECT t.uuid, t.cluster_id, t.name, t.graph_type, t.dry_run, t.status, t.progress, t.message, p.uuid AS parent_uuid,
            t.history_recorded, t.release, t.epoch, t.tasks_snapshot, t.status_time, t.time_start, t.time_end
     FROM transactions t LEFT JOIN transactions p ON p.id = t.parent_id`,
  );
  const rows = await sql.query(
    `SELECT t.uuid, h.cluster_id, h.node_id, h.task_name, h.task_type, h.status, h.time_start, h.time_end,
            h.error_message, h.closed_reason, h.summary, h.custom
     FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id`,
  );
  const d: Dump = { clusters: {}, transactions: {}, rows: {} };
  for (const c of clusters.rows) d.clusters[String(c.id)] = plain(c);
  for (const t of txs.rows) {
    if (d.transactions[t.uuid]) throw new Error(`transaction ${t.uuid} stored twice`);
    d.transactions[t.uuid] = plain(t);
  }
  for (const r of rows.rows) {
    const k = `${r.uuid}|${r.node_id ?? 'null'}|${r.task_name}`;
    if (d.rows[k]) throw new Error(`row ${k} stored twice`);
    d.rows[k] = plain(r);
  }
  return d;
}

/** Up to `max` differences between two dumps (or two maps), each naming the key and the field. */
export function differences(a: Dump, b: Dump, max = 30): string[] {
  const out: string[] = [];
  for (const table of ['clusters', 'transactions', 'rows'] as const) diffMaps(table, a[table], b[table], out);
  return out.length > max ? [...out.slice(0, max), `... and ${out.length - max} more`] : out;
}

function diffMaps(
  table: string,
  a: Record<string, Record<string, unknown>>,
  b: Record<string, Record<string, unknown>>,
  out: string[],
): void {
  for (const k of Object.keys(a)) {
    if (!(k in b)) {
      out.push(`${table} ${k}: only in the first`);
      continue;
    }
    for (const f of Object.keys(a[k])) {
      if (a[k][f] !== b[k][f]) out.push(`${table} ${k}.${f}: ${JSON.stringify(a[k][f])} != ${JSON.stringify(b[k][f])}`);
    }
  }
  for (const k of Object.keys(b)) if (!(k in a)) out.push(`${table} ${k}: only in the second`);
}

// Every field a workload expects of a run and of a row (a Record, so that a field added there must be added here).
const RUN_FIELDS: Record<keyof ExpectedRun, true> = { status: true, progress: true, message: true, time_start: true, time_end: true };
const ROW_FIELDS: Record<keyof ExpectedRow, true> = {
  status: true,
  time_start: true,
  time_end: true,
  error_message: true,
  closed_reason: true,
};

/** Of each stored record, only the fields a workload expects. */
function expectedFields(
  stored: Record<string, Record<string, unknown>>,
  fields: Record<string, true>,
): Record<string, Record<string, unknown>> {
  const keep = Object.keys(fields);
  return Object.fromEntries(Object.entries(stored).map(([k, r]) => [k, Object.fromEntries(keep.map((f) => [f, r[f]]))]));
}

/**
 * What differs between the stored state and a workload's expected state (`expected != actual`):
 * missing, extra or doubled runs and rows, and every field that differs.
 */
export function checkWorkload(d: Dump, w: Workload, max = 30): string[] {
  const out: string[] = [];
  diffMaps('transactions', w.runs as unknown as Record<string, Record<string, unknown>>, expectedFields(d.transactions, RUN_FIELDS), out);
  diffMaps('rows', w.rows as unknown as Record<string, Record<string, unknown>>, expectedFields(d.rows, ROW_FIELDS), out);
  return out.length > max ? [...out.slice(0, max), `... and ${out.length - max} more`] : out;
}

/** Counts of rows per status, for a quick look at a workload's coverage. */
export function statusCounts(d: Dump): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of Object.values(d.rows)) c[String(r.status)] = (c[String(r.status)] ?? 0) + 1;
  return c;
}

/**
 * Ends the database backends of the service (application_name `deployment-history`) on a database;
 * with `listener`, its listening connection (`deployment-history-listen`) too.
 */
export async function terminateServiceBackends(database: string, o: { listener?: boolean } = {}): Promise<number> {
  const admin = new Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    const r = await admin.query(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
       WHERE datname = $1 AND application_name = ANY($2) AND pid <> pg_backend_pid()`,
      [database, o.listener ? ['deployment-history', 'deployment-history-listen'] : ['deployment-history']],
    );
    return r.rows[0].n;
  } finally {
    await admin.end();
  }
}

/** pg_stat_database.deadlocks of a database (flushed by backends when they go idle or exit). */
export async function deadlocks(database: string): Promise<number> {
  const admin = new Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    const r = await admin.query(`SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = $1`, [database]);
    return r.rows[0]?.n ?? 0;
  } finally {
    await admin.end();
  }
}
