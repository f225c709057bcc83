import type { DataSource } from 'typeorm';
import type { Queryable } from '../../src/common/database/sql';

/** A plan node of EXPLAIN (FORMAT JSON), as far as these tests look. */
export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}
/** How one statement read the history's partitions: per partition, the scan and the rows it gave. */
export interface PartitionRead {
  partition: string;
  scan: string;
  rows: number;
}

/**
 * `ds` for a repository, with every SELECT that reads deployment_history explained (EXPLAIN ANALYZE, same
 * parameters, same connection and transaction, hence the same planner settings) before it runs.
 */
export function explainingSource(ds: DataSource, seen: (sql: string, reads: PartitionRead[], plan: PlanNode) => void): DataSource {
  const explain = async (m: Queryable, sql: string, params?: unknown[]) => {
    if (/^\s*SELECT/i.test(sql) && /deployment_history/.test(sql)) {
      const [{ 'QUERY PLAN': plan }] = await m.query<Array<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`,
        params,
      );
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
