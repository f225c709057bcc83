/**
 * Node order: the one home of the rule that says in which order a run's nodes are listed, as Fuel
 * lists them: cluster-level rows (node id null) first, then `master`, then the nodes by number (a
 * shorter id first, so node 2 comes before node 11), then by the id's characters. The API orders in
 * SQL with `nodeOrderSql`, the CLI, `--watch` and the web page in memory with `compareNodes`; both say
 * the same thing, and test/unit/node-order.spec.ts checks them against each other on PostgreSQL's answer.
 * Pure (no Node or Nest import): the web page bundles it too.
 */

/** The id of a run's master node, as the wire format names it. */
export const MASTER_NODE = 'master';

/** 0 for a cluster-level row, 1 for master, 2 for any other node. */
export function nodeRank(node: string | null): number {
  return node === null ? 0 : node === MASTER_NODE ? 1 : 2;
}

/** Sorts node ids (null = the cluster-level rows) in the order every view lists them. */
export function compareNodes(a: string | null, b: string | null): number {
  const byRank = nodeRank(a) - nodeRank(b);
  if (byRank || a === null || b === null) return byRank;
  // By length, then by UTF-16 code unit: as PostgreSQL orders `length(id), id COLLATE "C"` for ids of digits and ASCII.
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** The same order as an SQL ORDER BY list over `column` (a node id column, null for cluster-level rows). */
export function nodeOrderSql(column: string): string {
  return `(${column} IS NULL) DESC, (${column} = '${MASTER_NODE}') DESC NULLS LAST, length(${column}), ${column} COLLATE "C"`;
}

/** How a node is named to people: `cluster`, `master`, `node 4`. */
export function nodeLabel(node: string | null): string {
  return node === null ? 'cluster' : node === MASTER_NODE ? MASTER_NODE : `node ${node}`;
}
