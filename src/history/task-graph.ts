import { compareNodes, MASTER_NODE } from '../common/node-order';

/**
 * A run's task dependency graph (issue #15 §1): from the run's `tasks_graph` (per node key, a list of
 * task definitions) the map of what each (node, task) requires. Pure: the graph and the nodes' roles
 * in, the map out; the store keeps both, so the answer never needs the wire again.
 *
 * Two forms are read, per dependency entry, so a graph may even mix them:
 *  - Astute's: `requires` / `required_for` are `{"name", "node_id"}` already resolved across nodes
 *    (`node_id` a uid, `"master"` or null for the cluster-level tasks); `required_for` is the same edge
 *    seen from the other end.
 *  - fuel-library's (../shared/data/fuel-9.0): `requires` / `required_for` are task names on the same
 *    node, `cross_depends` / `cross_depended_by` are `{"name", "role"}` selectors (or plain names, as in
 *    the shared data) resolved against the roles of the run's nodes. This mirrors nailgun 9.0
 *    (orchestrator/task_based_deployment.py) so the map is the one Astute would have received:
 *    a same-node name is looked for on the node and then among the cluster-level tasks (the stages,
 *    sync points every node waits on); a name `/re/` is a regular expression matched at the start of the
 *    task name (Python's re.match), otherwise names match exactly; a selector's role is a role name, a
 *    list of them, `/re/`, `"*"` (every node), `"self"` (the task's own node) or absent (every node that
 *    has the task). The `policy: any` qualifier (one node of the role) is read as every node of the role.
 *
 * Rules where the issue is silent:
 *  - a task never depends on itself (nailgun skips it too): such an edge is not counted anywhere;
 *  - an edge to a (node, task) that is not in the graph is dropped and counted in `dropped`;
 *  - the same edge declared twice (e.g. `requires` on one end and `required_for` on the other) is one edge;
 *  - `hasDependencies` is true when at least one edge was kept: a graph whose every dependency points
 *    outside it says nothing usable, and the critical path then falls back to the same-node chain.
 */

/** Node id as the rows store it: a uid, `master`, or null for the cluster-level tasks (key `"null"` in the graph). */
export type NodeId = string | null;

/** One task on one node. */
export interface TaskRef {
  node: NodeId;
  task: string;
}

/** A dependency entry: Astute's resolved `{name, node_id}`, or a task name (fuel-library, same node). */
export type Dependency = string | { name: string; node_id?: string | number | null };
/** A cross-node selector (fuel-library): a task name, or `{name, role}`. */
export type CrossDependency = string | { name: string; role?: string | readonly string[] | null; policy?: string | null };

/** A task definition as a `tasks_graph` lists it (Astute names the task `id`; `name` is accepted too). */
export interface TaskDefinition {
  id?: string;
  name?: string;
  requires?: readonly Dependency[] | null;
  required_for?: readonly Dependency[] | null;
  cross_depends?: readonly CrossDependency[] | null;
  cross_depended_by?: readonly CrossDependency[] | null;
}

/** A run's `tasks_graph`: node key (`"1"`, `"master"`, `"null"`) → its tasks. */
export type TasksGraph = Readonly<Record<string, readonly TaskDefinition[] | null | undefined>>;

export interface TaskGraph {
  /** Every (node, task) of the graph, in node order, then in the graph's order on the node. */
  tasks: readonly TaskRef[];
  /**
   * Node → task → what it requires, in node order then task name; a task requiring nothing has no entry.
   * Nested rather than keyed by one string, so a lookup allocates nothing (the critical path does 30,000 of them).
   */
  requires: ReadonlyMap<NodeId, ReadonlyMap<string, readonly TaskRef[]>>;
  /** Number of distinct edges kept (sum of the `requires` lists' lengths). */
  edges: number;
  /** Dependency entries naming a (node, task) absent from the graph, or no task at all. */
  dropped: number;
  /** At least one edge was kept. */
  hasDependencies: boolean;
}

/** One string for a (node, task), for sets and maps of them (the edges are deduplicated with it). */
export function taskKey(node: NodeId, task: string): string {
  // \u0000 cannot occur in a node id or a task name that came through JSON text into PostgreSQL.
  return node === null ? `\u0000${task}` : `${node}\u0000${task}`;
}

/** What (node, task) requires in the graph: empty when the graph says nothing for it. */
export function requiresOf(graph: TaskGraph, node: NodeId, task: string): readonly TaskRef[] {
  return graph.requires.get(node)?.get(task) ?? [];
}

/** The node id of a graph key or of an Astute `node_id`. */
export function nodeIdOf(key: string | number | null | undefined): NodeId {
  return key === null || key === undefined || key === 'null' ? null : String(key);
}

export const compareTaskRefs = (a: TaskRef, b: TaskRef): number =>
  compareNodes(a.node, b.node) || (a.task < b.task ? -1 : a.task > b.task ? 1 : 0);

const MASTER_ROLE = 'master';

/**
 * A node's roles: those its run gives (`given`), and the role `master` for the master node whatever the
 * run says. The one home of that rule: the graph's role selectors and task_stats' by_role both use it.
 */
export function rolesOfNode(node: NodeId, given: readonly string[]): readonly string[] {
  return node === MASTER_NODE && !given.includes(MASTER_ROLE) ? [...given, MASTER_ROLE] : given;
}

/**
 * Builds the dependency map of a run's `tasks_graph`. `roles`: node key (as in the graph, or the node id)
 * → the node's roles; the `master` node has the role `master` whatever the map says.
 */
export function buildTaskGraph(graph: TasksGraph, roles: ReadonlyMap<string, readonly string[]> = new Map()): TaskGraph {
  const index = indexGraph(graph, roles);
  const edges = new Map<string, { from: TaskRef; to: Map<string, TaskRef> }>();
  let dropped = 0;
  const add = (from: TaskRef, to: TaskRef): void => {
    const fromKey = taskKey(from.node, from.task);
    const toKey = taskKey(to.node, to.task);
    if (fromKey === toKey) return;
    if (!edges.has(fromKey)) edges.set(fromKey, { from, to: new Map() });
    edges.get(fromKey)!.to.set(toKey, to);
  };
  for (const { ref, def } of index.entries) {
    for (const [list, forward] of [
      [def.requires, true],
      [def.required_for, false],
    ] as const) {
      for (const dep of list ?? []) {
        const targets = resolveDependency(index, ref, dep);
        if (targets.length === 0) dropped++;
        for (const t of targets) add(forward ? ref : t, forward ? t : ref);
      }
    }
    for (const [list, forward] of [
      [def.cross_depends, true],
      [def.cross_depended_by, false],
    ] as const) {
      for (const sel of list ?? []) {
        // Only a selector naming nothing counts as dropped: one naming just the task itself is a no-op.
        const targets = resolveSelector(index, ref, sel);
        if (targets.length === 0) dropped++;
        for (const t of targets) add(forward ? ref : t, forward ? t : ref);
      }
    }
  }
  const requires = new Map<NodeId, Map<string, TaskRef[]>>();
  let count = 0;
  for (const { from, to } of edges.values()) {
    const list = [...to.values()].sort(compareTaskRefs);
    if (!requires.has(from.node)) requires.set(from.node, new Map());
    requires.get(from.node)!.set(from.task, list);
    count += list.length;
  }
  return { tasks: index.entries.map((e) => e.ref), requires, edges: count, dropped, hasDependencies: count > 0 };
}

interface GraphIndex {
  entries: Array<{ ref: TaskRef; def: TaskDefinition }>;
  /** Node id → its task names, in the graph's order. */
  byNode: Map<NodeId, string[]>;
  /** taskKey of every task in the graph. */
  present: Set<string>;
  roles: (node: NodeId) => readonly string[];
}

function indexGraph(graph: TasksGraph, roles: ReadonlyMap<string, readonly string[]>): GraphIndex {
  const entries: GraphIndex['entries'] = [];
  const byNode = new Map<NodeId, string[]>();
  const present = new Set<string>();
  const nodes = Object.keys(graph)
    .map((k) => ({ key: k, node: nodeIdOf(k) }))
    .sort((a, b) => compareNodes(a.node, b.node));
  for (const { key, node } of nodes) {
    const names: string[] = byNode.get(node) ?? [];
    byNode.set(node, names);
    for (const def of graph[key] ?? []) {
      const task = typeof def === 'object' && def !== null ? (def.id ?? def.name) : undefined;
      if (typeof task !== 'string' || present.has(taskKey(node, task))) continue;
      present.add(taskKey(node, task));
      names.push(task);
      entries.push({ ref: { node, task }, def });
    }
  }
  const rolesOf = (node: NodeId): readonly string[] => rolesOfNode(node, roles.get(node ?? 'null') ?? []);
  return { entries, byNode, present, roles: rolesOf };
}

/** The (node, task) pairs a `requires` / `required_for` entry names, present in the graph. */
function resolveDependency(index: GraphIndex, from: TaskRef, dep: Dependency): TaskRef[] {
  if (typeof dep === 'string') return resolveName(index, dep, from.node === null ? [null] : [from.node, null]);
  if (typeof dep !== 'object' || dep === null || typeof dep.name !== 'string') return [];
  if (!('node_id' in dep)) return resolveName(index, dep.name, from.node === null ? [null] : [from.node, null]);
  const to = { node: nodeIdOf(dep.node_id), task: dep.name };
  return index.present.has(taskKey(to.node, to.task)) ? [to] : [];
}

/** The (node, task) pairs a `cross_depends` / `cross_depended_by` selector names, present in the graph. */
function resolveSelector(index: GraphIndex, from: TaskRef, sel: CrossDependency): TaskRef[] {
  if (typeof sel === 'string') return resolveName(index, sel, [...index.byNode.keys()]);
  if (typeof sel !== 'object' || sel === null || typeof sel.name !== 'string') return [];
  const role = sel.role ?? '*';
  if (role === 'self') return resolveName(index, sel.name, [from.node]);
  const wanted = (Array.isArray(role) ? role : [role]) as readonly string[];
  if (wanted.includes('*')) return resolveName(index, sel.name, [...index.byNode.keys()]);
  const matchers = wanted.map(nameMatcher);
  const nodes = [...index.byNode.keys()].filter((n) => index.roles(n).some((r) => matchers.some((m) => m(r))));
  return resolveName(index, sel.name, nodes);
}

/** Tasks named `name` (exact, or `/re/`) on the given nodes, in that order. */
function resolveName(index: GraphIndex, name: string, nodes: readonly NodeId[]): TaskRef[] {
  const pattern = patternOf(name);
  const found: TaskRef[] = [];
  for (const node of new Set(nodes)) {
    const names = index.byNode.get(node) ?? [];
    if (pattern === null) {
      if (index.present.has(taskKey(node, name))) found.push({ node, task: name });
    } else for (const task of names) if (pattern.test(task)) found.push({ node, task });
  }
  return found;
}

/** nailgun's NameMatchingPolicy: `/re/` is re.match (anchored at the start only); null for anything else, an exact name. */
function patternOf(name: string): RegExp | null {
  if (name.length <= 2 || !name.startsWith('/') || !name.endsWith('/')) return null;
  try {
    return new RegExp(`^(?:${name.slice(1, -1)})`);
  } catch {
    // A pattern JavaScript cannot read matches nothing (its dependencies are dropped and counted).
    return /(?!)/;
  }
}

/** A role selector's test: `/re/` as for names, anything else the exact role. */
function nameMatcher(pattern: string): (name: string) => boolean {
  const re = patternOf(pattern);
  return re === null ? (name) => name === pattern : (name) => re.test(name);
}
