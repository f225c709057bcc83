import type { DurationFiguresDto, TaskStatsDto } from '../dto/insights.dto';
import type { NodeRoles, TaskNodeRows } from '../persistence/insights.repository';
import { rolesOfNode } from '../task-graph';
import { addEntry, addFailure, DurationFigures, RowGroup, TaskGroups } from '../task-stats';

/*
 * task_stats' figures from the lists InsightsRepository.taskStatsRows reads: each (task, node)'s runs,
 * durations and failures are put in the groups of task-stats.ts (the task's, one per role of the node in
 * that run) and measured by its rules; this file only maps the lists in and the DTO's names out.
 * ~100,000 entries (50,000 rows, each once for its task and once per role of its node) take a few tens of ms.
 */

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
  const tasks = new TaskGroups();
  const counted = new Set<number>();
  for (const row of input.rows) {
    // The groups a row counts in, per distinct roles list (rolesOf gives one list object per distinct list).
    const memo = new Map<readonly string[], RowGroup[] | null>();
    const groupsOf = (run: number): RowGroup[] | null => {
      const roles = row.node_id === null ? NO_ROLES : rolesOf(run, row.node_id);
      let groups = memo.get(roles);
      if (groups === undefined) {
        const kept = wanted ? roles.filter((r) => wanted.has(r)) : roles;
        groups = wanted && kept.length === 0 ? null : tasks.groupsOf(row.task_name, kept);
        memo.set(roles, groups);
      }
      return groups;
    };
    row.runs.forEach((run, i) => {
      const groups = groupsOf(run);
      if (!groups) return;
      const pos = position.get(run)!;
      counted.add(pos);
      addEntry(groups, pos, row.durations[i]);
    });
    row.failed_runs.forEach((run, i) => {
      const groups = groupsOf(run);
      if (groups) addFailure(groups, { pos: position.get(run)!, run_id: run, node_id: row.node_id, time: row.failed_times[i] });
    });
  }
  const stats = tasks.stats(input.runs.length, input.trendRuns);
  return {
    runs: counted.size,
    tasks: stats.map(({ task_name, by_role, ...f }) => ({
      task_name,
      ...dto(f),
      by_role: by_role.map(({ role, ...g }) => ({ role, ...dto(g) })),
    })),
  };
}

/** The figures under the DTO's names: the failing run is a `transaction_id`, its time an ISO string. */
function dto(f: DurationFigures): DurationFiguresDto {
  const l = f.last_failure;
  return { ...f, last_failure: l && { transaction_id: l.run_id, node_id: l.node_id, time: l.time === null ? null : l.time.toISOString() } };
}

const NO_ROLES: readonly string[] = [];

/** A node's distinct roles in a run: task-graph.ts' rolesOfNode of the roles the run listed for it (none when it did not list the node). */
function nodeRoles(nodes: readonly NodeRoles[]): (run: number, node: string) => readonly string[] {
  // One list object per distinct list of roles, so that the caller can remember its groups per list.
  const lists = new Map<string, readonly string[]>();
  const intern = (given: readonly string[], node: string): readonly string[] => {
    const roles = [...new Set(rolesOfNode(node, given))].filter((r) => r !== null);
    const key = JSON.stringify(roles);
    if (!lists.has(key)) lists.set(key, roles);
    return lists.get(key)!;
  };
  const byRun = new Map<number, Map<string, readonly string[]>>();
  for (const n of nodes) {
    let m = byRun.get(n.transaction_id);
    if (!m) byRun.set(n.transaction_id, (m = new Map<string, readonly string[]>()));
    m.set(n.node_id, intern(n.roles, n.node_id));
  }
  const unlisted = new Map<string, readonly string[]>();
  return (run, node) => {
    const listed = byRun.get(run)?.get(node);
    if (listed) return listed;
    let roles = unlisted.get(node);
    if (!roles) unlisted.set(node, (roles = intern(NO_ROLES, node)));
    return roles;
  };
}
