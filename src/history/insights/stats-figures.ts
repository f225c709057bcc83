import { compareNodes, MASTER_NODE } from '../../common/node-order';
import type { DurationFiguresDto, TaskStatsDto } from '../dto/insights.dto';
import type { NodeRoles, TaskNodeRows } from '../persistence/insights.repository';
import { byName, percentile, percentileOfSorted } from '../task-stats';

/*
 * task_stats' figures from the lists InsightsRepository.taskStatsRows reads: the rules of taskStats()
 * (task-stats.ts), which stays their specification (test/medium/insights.spec.ts holds the two equal on a
 * random history), computed over numbers rather than row objects: ~100,000 entries (50,000 rows, each once
 * for its task and once per role of its node) in a few tens of milliseconds.
 */

/** A failing row: its run (position in run order, id), node and time (ms, null when it has none). */
interface Failure {
  pos: number;
  run_id: number;
  node_id: string | null;
  time: number | null;
}

/** One group's rows: parallel lists of each row's run position and duration, and its failures. */
interface Group {
  pos: number[];
  durations: Array<number | null>;
  failures: Failure[];
}

export interface StatsInput {
  /** The runs in scope, in run order. */
  runs: readonly number[];
  nodes: readonly NodeRoles[];
  rows: readonly TaskNodeRows[];
  trendRuns: number;
  /** Only rows of nodes with one of these roles; by_role lists only these. */
  roles?: readonly string[];
}

/** The tasks (by name) with their figures and per-role figures, and how many runs had a counted row. */
export function statsFigures(input: StatsInput): { runs: number; tasks: TaskStatsDto[] } {
  const position = new Map(input.runs.map((id, i) => [id, i]));
  const rolesOf = nodeRoles(input.nodes);
  const wanted = input.roles ? new Set(input.roles) : null;
  const tasks = new Map<string, { all: Group; byRole: Map<string, Group> }>();
  const counted = new Set<number>();
  for (const row of input.rows) {
    let task = tasks.get(row.task_name);
    if (!task) tasks.set(row.task_name, (task = { all: group(), byRole: new Map() }));
    // The groups a row counts in, per distinct roles list (rolesOf gives one list object per distinct list).
    const memo = new Map<readonly string[], Group[] | null>();
    const groupsOf = (run: number): Group[] | null => {
      const roles = row.node_id === null ? NO_ROLES : rolesOf(run, row.node_id);
      let groups = memo.get(roles);
      if (groups === undefined) {
        const kept = wanted ? roles.filter((r) => wanted.has(r)) : roles;
        groups = wanted && kept.length === 0 ? null : [task.all, ...kept.map((r) => task.byRole.get(r) ?? setGroup(task.byRole, r))];
        memo.set(roles, groups);
      }
      return groups;
    };
    row.runs.forEach((run, i) => {
      const groups = groupsOf(run);
      if (!groups) return;
      const pos = position.get(run)!;
      counted.add(pos);
      for (const g of groups) {
        g.pos.push(pos);
        g.durations.push(row.durations[i]);
      }
    });
    row.failed_runs.forEach((run, i) => {
      const failure = { pos: position.get(run)!, run_id: run, node_id: row.node_id, time: row.failed_times[i] };
      for (const g of groupsOf(run) ?? []) g.failures.push(failure);
    });
  }
  const result: TaskStatsDto[] = [];
  for (const [task_name, t] of tasks) {
    // A (task, node) whose rows all fell outside the roles asked for leaves an empty group: not a task here.
    if (t.all.pos.length === 0) continue;
    const by_role = [...t.byRole.entries()]
      .sort(([a], [b]) => byName(a, b))
      .map(([role, g]) => ({ role, ...figures(g, input.runs.length, input.trendRuns) }));
    result.push({ task_name, ...figures(t.all, input.runs.length, input.trendRuns), by_role });
  }
  return { runs: counted.size, tasks: result.sort((a, b) => byName(a.task_name, b.task_name)) };
}

const NO_ROLES: readonly string[] = [];
const group = (): Group => ({ pos: [], durations: [], failures: [] });

function setGroup(groups: Map<string, Group>, key: string): Group {
  const g = group();
  groups.set(key, g);
  return g;
}

/**
 * A node's distinct roles in a run (none when the run did not list it); the master node has role `master`
 * whatever its run said (the rule of task-graph.ts' roles).
 */
function nodeRoles(nodes: readonly NodeRoles[]): (run: number, node: string) => readonly string[] {
  // One list object per distinct list of roles, so that the caller can remember its groups per list.
  const lists = new Map<string, readonly string[]>();
  const byRun = new Map<number, Map<string, readonly string[]>>();
  for (const n of nodes) {
    let m = byRun.get(n.transaction_id);
    if (!m) byRun.set(n.transaction_id, (m = new Map<string, readonly string[]>()));
    const roles = [...new Set(n.node_id === MASTER_NODE ? [...n.roles, MASTER_NODE] : n.roles)].filter((r) => r !== null);
    const key = JSON.stringify(roles);
    if (!lists.has(key)) lists.set(key, roles);
    m.set(n.node_id, lists.get(key)!);
  }
  const master: readonly string[] = [MASTER_NODE];
  return (run, node) => byRun.get(run)?.get(node) ?? (node === MASTER_NODE ? master : NO_ROLES);
}

/** taskStats()' figures of one group (task-stats.ts `figures`). */
function figures(g: Group, runCount: number, trendRuns: number): DurationFiguresDto {
  // A typed array sorts numbers natively (no comparator calls): most of the time of this answer is these sorts.
  const sorted = Array.from(Float64Array.from(g.durations.filter((d): d is number => d !== null)).sort());
  // The group's runs in run order: positions are 0..runCount-1, so a mark per run rather than a sort.
  const seen = new Uint8Array(runCount);
  for (const pos of g.pos) seen[pos] = 1;
  const runs: number[] = [];
  seen.forEach((v, pos) => v && runs.push(pos));
  const errors = g.failures.length;
  return {
    runs: runs.length,
    timed_rows: sorted.length,
    p50: percentileOfSorted(sorted, 50),
    p95: percentileOfSorted(sorted, 95),
    max: sorted.length ? sorted[sorted.length - 1] : null,
    failure_rate: errors / g.pos.length,
    errors,
    terminal_rows: g.pos.length,
    last_failure: lastFailure(g.failures),
    trend: trend(g, runs, trendRuns),
  };
}

/** The latest failure: in the latest run, then the latest time, then the last node in node order. */
function lastFailure(failures: readonly Failure[]): DurationFiguresDto['last_failure'] {
  const order = (a: Failure, b: Failure): number =>
    a.pos - b.pos || (a.time ?? -Infinity) - (b.time ?? -Infinity) || compareNodes(a.node_id, b.node_id);
  let last: Failure | null = null;
  for (const f of failures) if (last === null || order(f, last) > 0) last = f;
  return (
    last && { transaction_id: last.run_id, node_id: last.node_id, time: last.time === null ? null : new Date(last.time).toISOString() }
  );
}

/** The p50 of the group's last `n` runs against the `n` before (null when either has no duration). */
function trend(g: Group, runs: readonly number[], n: number): DurationFiguresDto['trend'] {
  const recentFrom = Math.max(0, runs.length - n);
  const previousFrom = Math.max(0, runs.length - 2 * n);
  if (recentFrom === 0) return null;
  const recentStart = runs[recentFrom];
  const previousStart = runs[previousFrom];
  const recent: number[] = [];
  const previous: number[] = [];
  g.pos.forEach((pos, i) => {
    const d = g.durations[i];
    if (d === null || pos < previousStart) return;
    (pos >= recentStart ? recent : previous).push(d);
  });
  const recentP50 = percentile(recent, 50);
  const previousP50 = percentile(previous, 50);
  if (recentP50 === null || previousP50 === null) return null;
  return {
    runs: n,
    recent_runs: runs.length - recentFrom,
    previous_runs: recentFrom - previousFrom,
    recent_p50: recentP50,
    previous_p50: previousP50,
    ratio: previousP50 === 0 ? null : recentP50 / previousP50,
  };
}
