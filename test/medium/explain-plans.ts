import type { DataSource } from 'typeorm';
import type { Queryable } from '../../src/common/database/sql';

// pg's own text form of a parameter (arrays, dates, JSON), for a value written into EXECUTE's arguments.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (v: unknown) => string | Buffer | null };

/** A plan node of EXPLAIN (FORMAT JSON), as far as these tests look. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  /** Partitions an Append left out as it started (a generic plan pruned by its parameters' values). */
  'Subplans Removed'?: number;
  Plans?: PlanNode[];
}
/** How one statement read the history's partitions: per partition, the scan and the rows it gave. */
export interface PartitionRead {
  partition: string;
  scan: string;
  rows: number;
}

/** Which statements `explainingSource` explains, and how. */
export interface ExplainOptions {
  /** The statements explained (those that also name deployment_history). Default: SELECTs. */
  statements?: RegExp;
  /** EXPLAIN ANALYZE (the statement runs twice: for reads only) or the plan alone. Default: ANALYZE. */
  analyze?: boolean;
  /**
   * The plan of the statement prepared (PREPARE, then EXPLAIN EXECUTE with its values): the plan a named
   * statement gets under the transaction's `plan_cache_mode` (a generic one where it is forced), its
   * partitions those left once pruned by the values. The plan alone (no ANALYZE).
   */
  prepared?: boolean;
}

let explained = 0;

/**
 * A value as the SQL literal pg would send it as a parameter (its text form, quoted). A binary array
 * (arrayParam) is read by PostgreSQL itself, as the element type its header names, and given as its text.
 */
async function literal(m: Queryable, v: unknown): Promise<string> {
  let text = prepareValue(v);
  if (Buffer.isBuffer(text)) {
    const [{ type }] = await m.query<Array<{ type: string }>>(`SELECT format_type($1::oid, NULL) AS type`, [text.readUInt32BE(8)]);
    [{ text }] = await m.query<Array<{ text: string }>>(`SELECT ($1::${type}[])::text AS text`, [text]);
  }
  return text === null ? 'NULL' : `'${text.replace(/'/g, "''")}'`;
}

/**
 * `ds` for a repository, with every SELECT that reads deployment_history explained (EXPLAIN ANALYZE, same
 * parameters, same connection and transaction, hence the same planner settings) before it runs; with
 * `{ statements: /^\s*(SELECT|WITH)/i, analyze: false }`, a writer's statements too, planned only.
 */
export function explainingSource(
  ds: DataSource,
  seen: (sql: string, reads: PartitionRead[], plan: PlanNode) => void,
  { statements = /^\s*SELECT/i, analyze = true, prepared = false }: ExplainOptions = {},
): DataSource {
  type Explained = Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>;
  const planOf = async (m: Queryable, sql: string, params: unknown[] = []): Promise<Explained> => {
    if (!prepared) return m.query<Explained>(`EXPLAIN (${analyze ? 'ANALYZE, ' : ''}FORMAT JSON) ${sql}`, params);
    const name = `explained_${++explained}`;
    await m.query(`PREPARE ${name} AS ${sql}`);
    try {
      const literals: string[] = [];
      for (const p of params) literals.push(await literal(m, p));
      return await m.query<Explained>(`EXPLAIN (FORMAT JSON) EXECUTE ${name}${literals.length ? `(${literals.join(', ')})` : ''}`);
    } finally {
      await m.query(`DEALLOCATE ${name}`);
    }
  };
  const explain = async (m: Queryable, sql: string, params?: unknown[]) => {
    if (statements.test(sql) && /deployment_history/.test(sql)) {
      const [{ 'QUERY PLAN': plan }] = await planOf(m, sql, params);
      seen(sql, partitionReads(plan[0].Plan), plan[0].Plan);
    }
    return m.query(sql, params);
  };
  const wrap = (m: Queryable): Queryable => ({ query: (sql: string, params?: unknown[]) => explain(m, sql, params) });
  return new Proxy(ds, {
    get(target, prop, receiver) {
      if (prop === 'query') return (sql: string, params?: unknown[]) => explain(target, sql, params);
      if (prop === 'transaction') {
        return (run: (m: Queryable) => Promise<unknown>) => target.transaction((m) => run(wrap(m)));
      }
      return Reflect.get(target, prop, receiver);
    },
  });
}

/** The scans of the history's partitions in a plan: which partition, how, and the rows it gave. */
export function partitionReads(node: PlanNode, out: PartitionRead[] = []): PartitionRead[] {
  if (node['Relation Name']?.startsWith('deployment_history_')) {
    out.push({ partition: node['Relation Name'], scan: node['Node Type'], rows: (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) });
  }
  for (const child of node.Plans ?? []) partitionReads(child, out);
  return out;
}

/** Every node of a plan, the root first. */
export function planNodes(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(planNodes)];
}
