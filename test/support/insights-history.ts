import { finish, resp, start, task } from './casts';
import type { Cast, Graph } from './casts';

/**
 * A history whose issue #15 answers are known (test/e2e/cli-insights.e2e-spec.ts works them out):
 * cluster 15, five real runs a day apart and a dry run after them; node 1 a controller, node 2 a compute.
 *  - netconfig takes 60 s on both nodes, except on node 1 in run 5: 200 s (a regression);
 *  - hiera on node 2 fails with `timeout` in runs 2 and 4, succeeds in 1, 3, 5 (flaky), 30 s each time;
 *  - keystone (node 1) first appears in run 4, ceph (node 2) in run 5 (not enough history; new);
 *  - the dry run fails hiera and netconfig takes 999 s there: none of it may count.
 * Run 5's graph (Astute's resolved form) makes keystone wait on node 1's netconfig and node 2's ceph; its
 * critical path is deploy_start → netconfig (node 1) → keystone (node 1).
 * Cluster 16 has one run whose graph has no dependency: its path falls back to node 1's own order.
 */

export const CLUSTER = { id: 15, name: 'insights', release: 'mitaka-9.0' };
export const FALLBACK_CLUSTER = { id: 16, name: 'insights-fallback', release: 'mitaka-9.0' };

/** [node, task, start (HH:MM:SS), end, status, error message]. */
type Row = [string | null, string, string, string, 'ready' | 'error', string?];

const dep = (name: string, node: string | null) => ({ name, node_id: node });
const at = (day: number, hms: string) => `2026-02-${String(day).padStart(2, '0')}T10:${hms}.000Z`;

function rowsOf(run: number): Row[] {
  const slow = run === 5;
  const hiera: Row =
    run === 2 || run === 4 ? ['2', 'hiera', '01:15', '01:45', 'error', 'timeout'] : ['2', 'hiera', '01:15', '01:45', 'ready'];
  return [
    [null, 'deploy_start', '00:00', '00:05', 'ready'],
    ['1', 'netconfig', '00:10', slow ? '03:30' : '01:10', 'ready'],
    ['2', 'netconfig', '00:10', '01:10', 'ready'],
    hiera,
    ...(run === 4 ? [['1', 'keystone', '01:20', '02:20', 'ready'] as Row] : []),
    ...(run === 5 ? [['2', 'ceph', '01:50', '02:00', 'ready'] as Row, ['1', 'keystone', '03:40', '04:40', 'ready'] as Row] : []),
  ];
}

function graphOf(rows: Row[]) {
  const requires: Record<string, Array<{ name: string; node_id: string | null }>> = {
    '1|netconfig': [dep('deploy_start', null)],
    '2|netconfig': [dep('deploy_start', null)],
    '2|hiera': [dep('netconfig', '2')],
    '2|ceph': [dep('hiera', '2')],
    '1|keystone': [dep('netconfig', '1'), ...(rows.some((r) => r[1] === 'ceph') ? [dep('ceph', '2')] : [])],
  };
  const graph: Graph = {};
  for (const [node, name] of rows) {
    const k = node ?? 'null';
    (graph[k] ??= []).push({ id: name, type: node === null ? 'stage' : 'puppet', requires: requires[`${k}|${name}`] ?? [] });
  }
  return graph;
}

function runCasts(uuid: string, cluster: typeof CLUSTER, day: number, rows: Row[], extra: Record<string, unknown> = {}): Cast[] {
  const failed = rows.some((r) => r[4] === 'error');
  return [
    start(uuid, cluster, graphOf(rows), {
      time: at(day, '00:00'),
      nodes: { '1': { roles: ['controller'], hostname: 'node-1' }, '2': { roles: ['compute'], hostname: 'node-2' } },
      ...extra,
    }),
    ...rows.flatMap(([node, name, s, e, status, error]) => [
      resp(uuid, [task(node, name, 'running', { time: at(day, s) })]),
      resp(uuid, [task(node, name, status, { time: at(day, e), ...(error ? { error_msg: error } : {}) })]),
    ]),
    finish(uuid, failed ? 'error' : 'ready', { time: at(day, '05:00') }),
  ];
}

/** Run uuids, in order: insights-1 ... insights-5, then the dry run, then the fallback run. */
export const REAL_RUNS = [1, 2, 3, 4, 5].map((n) => `insights-${n}`);
export const DRY_RUN = 'insights-dry';
export const FALLBACK_RUN = 'insights-fallback';

export function insightsHistory(): Cast[][] {
  const dry: Row[] = [
    ['1', 'netconfig', '00:10', '16:49', 'ready'],
    ['2', 'hiera', '01:15', '01:45', 'error', 'dry'],
  ];
  const fallback: Row[] = [
    ['1', 'a', '00:00', '01:00', 'ready'],
    ['1', 'b', '01:30', '03:00', 'ready'],
    ['2', 'c', '00:00', '02:00', 'ready'],
  ];
  const noRequires = (casts: Cast[]) => {
    const graph = (casts[0].args as { tasks_graph: Graph }).tasks_graph;
    for (const list of Object.values(graph)) for (const t of list) delete t.requires;
    return casts;
  };
  return [
    ...REAL_RUNS.map((uuid, i) => runCasts(uuid, CLUSTER, i + 1, rowsOf(i + 1))),
    runCasts(DRY_RUN, CLUSTER, 6, dry, { dry_run: true }),
    noRequires(runCasts(FALLBACK_RUN, FALLBACK_CLUSTER, 7, fallback)),
  ];
}
