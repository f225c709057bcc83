import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { CriticalPath, criticalPath, PathRow } from '../../src/history/critical-path';
import { buildTaskGraph, NodeId, requiresOf, TaskDefinition, TaskGraph, taskKey, TasksGraph } from '../../src/history/task-graph';
import { TaskStatus } from '../../src/history/task-state';
import { fuelEnvironmentGraph, fuelTasks } from '../support/fuel-data';

const T0 = Date.UTC(2026, 0, 1);
const at = (s: number): Date => new Date(T0 + s * 1000);
/** A row from seconds after T0 (null: no time). */
const row = (node: NodeId, task: string, start: number | null, end: number | null, status: TaskStatus = 'ready'): PathRow => ({
  node,
  task,
  status,
  timeStart: start === null ? null : at(start),
  timeEnd: end === null ? null : at(end),
});
/** The path as compact data: [node/task, start s, end s, wait s, via]. */
const view = (p: CriticalPath) =>
  p.steps.map((s) => [
    `${s.node ?? 'null'}/${s.task}`,
    (s.time_start.getTime() - T0) / 1000,
    (s.time_end.getTime() - T0) / 1000,
    s.wait_s,
    s.via,
  ]);
const totals = (p: CriticalPath) => ({
  duration_s: p.duration_s,
  tasks_s: p.tasks_s,
  waiting_s: p.waiting_s,
  fallback: p.fallback,
  running: p.running,
});
const NOW = at(1000);

/** Astute's form from "node/task" → ["node/task" it requires]. */
function astute(requires: Record<string, string[]>): TasksGraph {
  const graph: Record<string, TaskDefinition[]> = {};
  const split = (ref: string) => {
    const [node, task] = ref.split('/');
    return { node, task };
  };
  for (const [ref, deps] of Object.entries(requires)) {
    const { node, task } = split(ref);
    (graph[node] ??= []).push({
      id: task,
      requires: deps.map((d) => ({ name: split(d).task, node_id: split(d).node === 'null' ? null : split(d).node })),
    });
  }
  return graph;
}

describe('criticalPath: hand-made runs with known answers', () => {
  // deploy_start → b (node 2, the long one) → d (node 3) → e (node 1) → deploy_end; a, c, f run beside it.
  const graph = buildTaskGraph(
    astute({
      'null/deploy_start': [],
      '1/a': ['null/deploy_start'],
      '2/b': ['null/deploy_start'],
      '1/c': ['1/a'],
      '3/d': ['2/b', '1/a'],
      '1/e': ['3/d', '1/c'],
      '2/f': ['2/b'],
      'null/deploy_end': ['1/e', '2/f'],
    }),
  );
  const rows = [
    row(null, 'deploy_start', 0, 2),
    row('1', 'a', 3, 10),
    row('2', 'b', 2, 20),
    row('1', 'c', 12, 15),
    row('3', 'd', 22, 30),
    row('1', 'e', 31, 40, 'error'),
    row('2', 'f', 35, 38),
    row(null, 'deploy_end', 41, 41),
  ];

  it('walks back from the row that ended last through the dependency that finished last, with the waits', () => {
    const p = criticalPath(rows, graph, NOW);
    expect(view(p)).toEqual([
      ['null/deploy_start', 0, 2, 0, null],
      ['2/b', 2, 20, 0, 'requires'],
      ['3/d', 22, 30, 2, 'requires'],
      ['1/e', 31, 40, 1, 'requires'],
      ['null/deploy_end', 41, 41, 1, 'requires'],
    ]);
    expect(p.steps.map((s) => [s.duration_s, s.status])).toEqual([
      [2, 'ready'],
      [18, 'ready'],
      [8, 'ready'],
      [9, 'error'],
      [0, 'ready'],
    ]);
    expect(totals(p)).toEqual({ duration_s: 41, tasks_s: 37, waiting_s: 4, fallback: false, running: false });
    expect(p.time_start).toEqual(at(0));
    expect(p.time_end).toEqual(at(41));
  });

  it('the answer does not depend on the order of the rows', () => {
    expect(view(criticalPath([...rows].reverse(), graph, NOW))).toEqual(view(criticalPath(rows, graph, NOW)));
  });

  it('where the graph says nothing, or names nothing that ran before, goes to the previous task on the same node', () => {
    const g = buildTaskGraph(astute({ '1/r': [], '1/q': [], '1/p': ['1/q'], '2/y': [], '2/w': ['1/r'] }));
    const p = criticalPath(
      [
        row('1', 'r', 0, 4),
        row('1', 'q', null, null, 'pending'),
        // p's only requirement never ran: the previous task on node 1 that *ended* last (r, not s which started later).
        row('1', 's', 1, 3),
        row('1', 'p', 5, 8),
        // z is not in the graph at all: the previous task on node 2 (not y, ended too late; x).
        row('2', 'x', 2, 9),
        row('2', 'y', 8, 12),
        row('2', 'z', 10, 15),
      ],
      g,
      NOW,
    );
    expect(view(p)).toEqual([
      ['2/x', 2, 9, 2, null],
      ['2/z', 10, 15, 1, 'node'],
    ]);
    expect(totals(p)).toEqual({ duration_s: 15, tasks_s: 12, waiting_s: 3, fallback: false, running: false });
    const onNode1 = criticalPath([row('1', 'r', 0, 4), row('1', 's', 1, 3), row('1', 'p', 5, 8)], g, NOW);
    expect(view(onNode1)).toEqual([
      ['1/r', 0, 4, 0, null],
      ['1/p', 5, 8, 1, 'node'],
    ]);
  });

  it('falls back to the same-node chain when the graph has no dependency, and says so', () => {
    const none = buildTaskGraph({ '1': [{ id: 'a' }, { id: 'b' }], '2': [{ id: 'c' }, { id: 'd', requires: ['gone'] }] });
    const p = criticalPath(
      [row('1', 'a', 0, 5), row('1', 'b', 6, 10), row('2', 'c', 1, 12), row('2', 'd', 14, 20), row('1', 'late', 11, 13)],
      none,
      NOW,
    );
    expect(view(p)).toEqual([
      ['2/c', 1, 12, 1, null],
      ['2/d', 14, 20, 2, 'node'],
    ]);
    expect(totals(p)).toEqual({ duration_s: 20, tasks_s: 17, waiting_s: 3, fallback: true, running: false });
    // With the same rows, a graph that has dependencies is followed instead.
    const withDeps = criticalPath([row('1', 'a', 0, 5), row('2', 'd', 6, 20)], buildTaskGraph(astute({ '1/a': [], '2/d': ['1/a'] })), NOW);
    expect(view(withDeps)).toEqual([
      ['1/a', 0, 5, 0, null],
      ['2/d', 6, 20, 1, 'requires'],
    ]);
  });

  it('a running run: rows not ended count up to now, rows not started are left out, and it says running', () => {
    const g = buildTaskGraph(astute({ '1/a': [], '1/b': ['1/a'], '1/c': ['1/b'] }));
    const p = criticalPath([row('1', 'a', 0, 5), row('1', 'b', 6, null, 'running'), row('1', 'c', null, null, 'pending')], g, at(20));
    expect(view(p)).toEqual([
      ['1/a', 0, 5, 0, null],
      ['1/b', 6, 20, 1, 'requires'],
    ]);
    expect(p.steps[1].status).toBe('running');
    expect(totals(p)).toEqual({ duration_s: 20, tasks_s: 19, waiting_s: 1, fallback: false, running: true });
    // `now` before a row's start (clocks): the row ends where it started.
    expect(view(criticalPath([row('1', 'a', 0, null, 'running')], g, at(-5)))).toEqual([['1/a', 0, 0, 0, null]]);
  });

  it('nothing started: an empty path', () => {
    const p = criticalPath([row('1', 'a', null, null, 'pending')], graph, NOW);
    expect(p).toEqual({
      steps: [],
      time_start: null,
      time_end: null,
      duration_s: 0,
      tasks_s: 0,
      waiting_s: 0,
      fallback: false,
      running: false,
    });
  });

  it('ties go to the first node in node order, then the first task name; equal-time rows cannot loop', () => {
    const g = buildTaskGraph(
      astute({ 'null/s': [], '2/s': [], '10/s': [], '2/t': ['10/s', '2/s', 'null/s'], '9/t': [], '2/a': [], '2/b': [] }),
    );
    // Last end 9 on nodes 2 and 9: node 2 first. Its requires all ended at 5: the cluster-level one first.
    const p = criticalPath(
      [row('10', 's', 0, 5), row('2', 's', 1, 5), row(null, 's', 2, 5), row('9', 't', 3, 9), row('2', 't', 6, 9)],
      g,
      NOW,
    );
    expect(view(p)).toEqual([
      ['null/s', 2, 5, 2, null],
      ['2/t', 6, 9, 1, 'requires'],
    ]);
    // Zero-length rows at the same instant on one node: a (first name) ended last, then b; then nothing left.
    const zero = criticalPath([row('2', 'b', 5, 5), row('2', 'a', 5, 5)], buildTaskGraph({}), NOW);
    expect(view(zero)).toEqual([
      ['2/b', 5, 5, 0, null],
      ['2/a', 5, 5, 0, 'node'],
    ]);
  });

  it('a 200-node × 150-task chain (30,000 rows) is walked whole', () => {
    const requires: Record<string, string[]> = {};
    const rows: PathRow[] = [];
    let previous: string | null = null;
    for (let n = 1; n <= 200; n++) {
      for (let t = 0; t < 150; t++) {
        const ref = `${n}/t${t}`;
        requires[ref] = previous === null ? [] : [previous];
        const k = rows.length;
        rows.push(row(String(n), `t${t}`, k, k + 1));
        previous = ref;
      }
    }
    const g = buildTaskGraph(astute(requires));
    expect(g.edges).toBe(29_999);
    const p = criticalPath(rows, g, NOW);
    expect(p.steps).toHaveLength(30_000);
    expect(p.steps[0]).toMatchObject({ node: '1', task: 't0', via: null });
    expect(p.steps[29_999]).toMatchObject({ node: '200', task: 't149', via: 'requires' });
    expect(totals(p)).toEqual({ duration_s: 30_000, tasks_s: 30_000, waiting_s: 0, fallback: false, running: false });
  });
});

describe('criticalPath: properties on random runs', () => {
  const NODES = [null, 'master', '1', '2', '3'];
  const TASKS = ['a', 'b', 'c', 'd'];
  const arbRun = fc.record({
    deps: fc.array(fc.tuple(fc.nat(19), fc.nat(19)), { maxLength: 30 }),
    times: fc.array(fc.option(fc.tuple(fc.nat(50), fc.nat(20), fc.boolean()), { nil: null }), { minLength: 20, maxLength: 20 }),
    noGraph: fc.boolean(),
  });
  const refOf = (i: number) => ({ node: NODES[i % NODES.length], task: TASKS[Math.floor(i / NODES.length)] });

  it('the chain is consecutive, reached as it says, and its time adds up to the run duration', () => {
    fc.assert(
      fc.property(arbRun, ({ deps, times, noGraph }) => {
        const requires: Record<string, string[]> = {};
        const name = (i: number) => `${refOf(i).node ?? 'null'}/${refOf(i).task}`;
        for (let i = 0; i < 20; i++) requires[name(i)] = noGraph ? [] : deps.filter(([from]) => from === i).map(([, to]) => name(to));
        const g = buildTaskGraph(astute(requires));
        const rows = times.map((t, i) => row(refOf(i).node, refOf(i).task, t?.[0] ?? null, t === null ? null : t[2] ? t[0] + t[1] : null));
        const p = criticalPath(rows, g, at(60));
        const started = rows.filter((r) => r.timeStart !== null);
        expect(p.steps.length > 0).toBe(started.length > 0);
        expect(p.duration_s).toBe(p.tasks_s + p.waiting_s);
        expect(p.steps.reduce((sum, s) => sum + s.wait_s, 0)).toBe(p.waiting_s);
        expect(p.steps.reduce((sum, s) => sum + s.duration_s, 0)).toBe(p.tasks_s);
        expect(p.fallback).toBe(!g.hasDependencies);
        expect(p.running).toBe(started.some((r) => r.timeEnd === null));
        const keys = p.steps.map((s) => taskKey(s.node, s.task));
        expect(new Set(keys).size).toBe(keys.length);
        p.steps.forEach((s, i) => {
          expect(s.wait_s).toBeGreaterThanOrEqual(0);
          if (i === 0) return expect(s.via).toBeNull();
          const before = p.steps[i - 1];
          expect(s.wait_s).toBe((s.time_start.getTime() - before.time_end.getTime()) / 1000);
          if (s.via === 'node') expect(before.node).toBe(s.node);
          else expect(requiresOf(g, s.node, s.task)).toContainEqual({ node: before.node, task: before.task });
        });
        if (p.steps.length > 0) {
          const lastEnd = Math.max(...started.map((r) => (r.timeEnd ?? at(60)).getTime()));
          expect(p.steps[p.steps.length - 1].time_end.getTime()).toBe(lastEnd);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('criticalPath: the real Fuel 9.0 graph of the example environment', () => {
  const full = fuelTasks() as unknown as Map<string, TaskDefinition>;
  const env = JSON.parse(readFileSync(join(__dirname, '../../../shared/data/fuel-9.0/example-environment.json'), 'utf8')) as {
    nodes: Record<string, { roles: string[] }>;
  };
  const g: TaskGraph = buildTaskGraph(
    Object.fromEntries(
      Object.entries(fuelEnvironmentGraph()).map(([node, list]) => [node, list.map((t) => ({ ...full.get(t.id)!, id: t.id }))]),
    ),
    new Map(Object.entries(env.nodes).map(([node, { roles }]) => [node, roles])),
  );
  // The shared data dropped cross_depends' `role: self`, so cluster_health waits for itself on the other
  // controllers: the graph's only cycle. The synthetic schedule leaves those edges out (the walk may still use them).
  const scheduled = (from: { node: NodeId; task: string }, to: { node: NodeId; task: string }) =>
    !(from.task === 'cluster_health' && to.task === 'cluster_health');

  /** Longest path by the tasks' durations, by a plain DP over the map: each task ends at its duration plus the latest end of what it requires. */
  function longestPath(duration: (i: number) => number): { end: Map<string, number>; longest: number } {
    const index = new Map(g.tasks.map((t, i) => [taskKey(t.node, t.task), i]));
    const end = new Map<string, number>();
    const onStack = new Set<string>();
    const visit = (node: NodeId, task: string): number => {
      const key = taskKey(node, task);
      const known = end.get(key);
      if (known !== undefined) return known;
      if (onStack.has(key)) throw new Error(`cycle through ${key}`);
      onStack.add(key);
      const deps = requiresOf(g, node, task).filter((d) => scheduled({ node, task }, d));
      const e = Math.max(0, ...deps.map((d) => visit(d.node, d.task))) + duration(index.get(key)!);
      onStack.delete(key);
      end.set(key, e);
      return e;
    };
    const longest = Math.max(...g.tasks.map((t) => visit(t.node, t.task)));
    return { end, longest };
  }

  it('on synthetic times (each task starting when its last requirement ended) the path is a longest path of the graph', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 600 }), { minLength: g.tasks.length, maxLength: g.tasks.length }), (durations) => {
        const { end, longest } = longestPath((i) => durations[i]);
        const rows = g.tasks.map((t, i) => {
          const e = end.get(taskKey(t.node, t.task))!;
          return row(t.node, t.task, e - durations[i], e);
        });
        const p = criticalPath(rows, g, NOW);
        expect(totals(p)).toEqual({ duration_s: longest, tasks_s: longest, waiting_s: 0, fallback: false, running: false });
        expect(p.steps[0].time_start).toEqual(at(0));
        p.steps.slice(1).forEach((s, i) => {
          expect(s.via).toBe('requires');
          expect(requiresOf(g, s.node, s.task)).toContainEqual({ node: p.steps[i].node, task: p.steps[i].task });
        });
      }),
      { numRuns: 50 },
    );
  });

  it('with every task lasting 10 s, the path follows the deepest chain of the graph', () => {
    const { end, longest } = longestPath(() => 10);
    const rows = g.tasks.map((t) => {
      const e = end.get(taskKey(t.node, t.task))!;
      return row(t.node, t.task, e - 10, e);
    });
    const p = criticalPath(rows, g, NOW);
    expect(p.steps).toHaveLength(longest / 10);
    expect(p.steps[0]).toMatchObject({ node: null, task: 'pre_deployment_start' });
    expect(p.steps[p.steps.length - 1]).toMatchObject({ node: null, task: 'post_deployment_end' });
  });
});
