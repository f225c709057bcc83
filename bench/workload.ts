import type { Options } from './options';
import { encodeCast, finishCast, reportCast, StartArgs, startCast, TasksGraph, taskEntry } from '../src/receiver/cast-builder';

/** The benchmark's runs and their casts, made ahead of the clock (its options: options.ts). */

/** When run `index` starts: one run a minute from 2026-01-01 (the cluster history's time range is read from it). */
export const runStartMs = (index: number) => Date.UTC(2026, 0, 1) + index * 60_000;

/** Deterministic random numbers (mulberry32). */
function rng(seed: number) {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export type Final = 'ready' | 'error' | 'skipped';
export interface Run {
  uuid: string;
  cluster: number;
  nodes: number;
  tasks: number;
  /** Final status of each (node, task), node-major. */
  finals: Final[];
  /** The casts, serialized ahead (an orchestrator's cost of making a message is not the service's), in order. */
  casts: Buffer[];
  /** How many of them are status updates (carry nodes[] entries). */
  updates: number;
  /** The task made slower on every node of this run (the regression the reads must find), if any. */
  slowTask?: string;
}

const TASK_NAMES = [
  'hiera',
  'globals',
  'netconfig',
  'tools',
  'hosts',
  'firewall',
  'ntp-client',
  'openstack-haproxy-mysqld',
  'rabbitmq',
  'keystone',
];
export const taskName = (i: number) => (i < TASK_NAMES.length ? TASK_NAMES[i] : `task-${i}`);

/** Each named task's usual duration, seconds (a task-N beyond them: 1 to 7 s); each run's varies by ±20 %. */
const BASE_SECONDS = [2, 1, 6, 3, 1, 2, 2, 4, 8, 10];
const baseSeconds = (t: number) => (t < BASE_SECONDS.length ? BASE_SECONDS[t] : 1 + (t % 7));

/** The first nodes are controllers, the others computes: the roles `transaction_start` gives (args.nodes). */
export const CONTROLLERS = 3;
const roleOf = (n: number) => (n <= CONTROLLERS ? 'controller' : 'compute');

/** Every 5th task (from the 3rd) waits, on every node, for the previous task on the controllers too. */
const syncsOnControllers = (t: number) => t % 5 === 2;

/** The task made slower in the slow run, ×SLOW_FACTOR on every node: the longest of the first tasks. */
export const SLOW_FACTOR = 3;
export const slowTaskOf = (tasks: number) => taskName(Math.min(tasks, BASE_SECONDS.length) - 1);

/**
 * The run whose task is slower: cluster 3's last run, which the reads ask the regressions of; none when
 * the cluster has fewer than 4 runs (no baseline to judge it against).
 */
export function slowRunIndex(o: Pick<Options, 'transactions' | 'clusters'>): number {
  const last = o.transactions - 1 - ((((o.transactions - 3) % o.clusters) + o.clusters) % o.clusters); // the last i ≡ 2 (mod clusters)
  return o.clusters >= 3 && last - 3 * o.clusters >= 0 ? last : -1;
}

/**
 * The run's graph in fuel-library's form: each task `requires` the previous one on its node, and every
 * 5th (from the 3rd) `cross_depends` on the previous one on the controllers (a role selector). Every node
 * shares each task's definition, as in a real Fuel graph.
 */
function graphOf(nodes: number, tasks: number): TasksGraph {
  const definitions = Array.from({ length: tasks }, (_, t) => ({
    id: taskName(t),
    type: 'puppet',
    ...(t > 0 ? { requires: [taskName(t - 1)] } : {}),
    ...(t > 0 && syncsOnControllers(t) ? { cross_depends: [{ name: taskName(t - 1), role: 'controller' }] } : {}),
  }));
  const graph: TasksGraph = {};
  for (let n = 1; n <= nodes; n++) graph[String(n)] = definitions;
  return graph;
}

/**
 * When each (node, task) starts and ends, ms after the run's start, node-major: as the graph says (a task
 * starts 0.1–0.5 s, the orchestrator's time, after what it requires has ended), each task taking its
 * usual time ±20 % (× SLOW_FACTOR for the slow task).
 */
function schedule(index: number, nodes: number, tasks: number, slowTask: string | undefined): Array<[number, number]> {
  const rand = rng(0x5eed0000 + index); // its own sequence: the statuses, duplicates and swaps stay as they were
  const times: Array<[number, number]> = new Array<[number, number]>(nodes * tasks);
  const at = (n: number, t: number) => (n - 1) * tasks + t;
  for (let t = 0; t < tasks; t++) {
    let controllersEnd = 0;
    if (t > 0 && syncsOnControllers(t))
      for (let c = 1; c <= Math.min(CONTROLLERS, nodes); c++) controllersEnd = Math.max(controllersEnd, times[at(c, t - 1)][1]);
    for (let n = 1; n <= nodes; n++) {
      const ready = t === 0 ? 0 : Math.max(times[at(n, t - 1)][1], controllersEnd);
      const start = ready + Math.round(100 + 400 * rand());
      const seconds = baseSeconds(t) * (0.8 + 0.4 * rand()) * (taskName(t) === slowTask ? SLOW_FACTOR : 1);
      times[at(n, t)] = [start, start + Math.round(seconds * 1000)];
    }
  }
  return times;
}

/** One run, and its casts as Astute sends them: one nodes[] entry per cast, running then the outcome. */
export function makeRun(o: Options, index: number, uuid: string, cluster: number, nodes: number, tasks: number, slowTask?: string): Run {
  const rand = rng(index + 1);
  const times = schedule(index, nodes, tasks, slowTask);
  const finals: Final[] = [];
  const reports: Buffer[] = [];
  const base = runStartMs(index);
  let failed = false;
  for (let n = 1; n <= nodes; n++) {
    for (let t = 0; t < tasks; t++) {
      const r = rand();
      const final: Final = r < 0.03 ? 'error' : r < 0.08 ? 'skipped' : 'ready';
      if (final === 'error') failed = true;
      finals.push(final);
      const time = (k: number) => new Date(base + times[(n - 1) * tasks + t][k]).toISOString();
      const entry = (status: 'running' | Final, k: number, extra: { error_msg?: string } = {}) =>
        encodeCast(reportCast(uuid, [taskEntry(String(n), taskName(t), status, { time: time(k), ...extra })]));
      reports.push(entry('running', 0));
      reports.push(entry(final, 1, final === 'error' ? { error_msg: `Task ${taskName(t)} failed on node node-${n}` } : {}));
    }
  }
  // Out-of-order deliveries (a swap with the next cast) and duplicates (the same cast again, later).
  for (let i = 0; i + 1 < reports.length; i++) if (rand() < o.outOfOrder) [reports[i], reports[i + 1]] = [reports[i + 1], reports[i]];
  const withDuplicates: Buffer[] = [];
  for (const c of reports) {
    withDuplicates.push(c);
    if (rand() < o.duplicates) withDuplicates.splice(Math.floor(rand() * withDuplicates.length), 0, c);
  }
  const cl = { id: cluster, name: `bench-${cluster}`, release: 'mitaka-9.0' };
  const who: NonNullable<StartArgs['nodes']> = {};
  for (let n = 1; n <= nodes; n++) who[String(n)] = { roles: [roleOf(n)], hostname: `node-${n}` };
  const start = encodeCast(startCast(uuid, cl, graphOf(nodes, tasks), { time: new Date(base).toISOString(), nodes: who }));
  const end = times.reduce((max, [, e]) => Math.max(max, e), 0);
  const finish = encodeCast(finishCast(uuid, failed ? 'error' : 'ready', { time: new Date(base + end + 5000).toISOString() }));
  return { uuid, cluster, nodes, tasks, finals, casts: [start, ...withDuplicates, finish], updates: withDuplicates.length, slowTask };
}
