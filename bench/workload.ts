import { join, resolve } from 'node:path';
import { encodeCast, finishCast, reportCast, startCast, TasksGraph, taskEntry } from '../src/receiver/cast-builder';

/** The benchmark's options (see bench/README.md) and the casts of its runs, made ahead of the clock. */

export interface Options {
  transactions: number;
  clusters: number;
  nodes: number;
  tasks: number;
  bigNodes: number;
  bigTasks: number;
  batch: number;
  readSamples: number;
  duplicates: number;
  outOfOrder: number;
  out: string;
  latest: boolean;
  databaseUrl: string;
  amqpUrl: string;
  port: number;
  window: number;
}

export function options(argv: string[]): Options {
  const get = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
  };
  const transactions = Number(get('transactions', '10000'));
  return {
    transactions,
    clusters: Number(get('clusters', '20')),
    nodes: Number(get('nodes', '10')),
    tasks: Number(get('tasks', '10')),
    bigNodes: Number(get('big-nodes', '200')),
    bigTasks: Number(get('big-tasks', '150')),
    batch: Number(get('batch', '1000')),
    readSamples: Number(get('read-samples', '100')),
    duplicates: Number(get('duplicates', '0.05')),
    outOfOrder: Number(get('out-of-order', '0.05')),
    out: resolve(get('out', join(__dirname, 'results'))),
    latest: argv.includes('--latest') || (transactions >= 10000 && !argv.includes('--no-latest')),
    databaseUrl: get('database-url', process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres'),
    amqpUrl: get('amqp-url', process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672'),
    port: Number(get('port', '8765')),
    window: Number(get('window', '20000')),
  };
}

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

/** One run, and its casts as Astute sends them: one nodes[] entry per cast, running then the outcome. */
export function makeRun(o: Options, index: number, uuid: string, cluster: number, nodes: number, tasks: number): Run {
  const rand = rng(index + 1);
  const graph: TasksGraph = {};
  for (let n = 1; n <= nodes; n++) graph[String(n)] = Array.from({ length: tasks }, (_, t) => ({ id: taskName(t), type: 'puppet' }));
  const finals: Final[] = [];
  const reports: Buffer[] = [];
  const base = Date.UTC(2026, 0, 1) + index * 60_000;
  let failed = false;
  for (let n = 1; n <= nodes; n++) {
    for (let t = 0; t < tasks; t++) {
      const r = rand();
      const final: Final = r < 0.03 ? 'error' : r < 0.08 ? 'skipped' : 'ready';
      if (final === 'error') failed = true;
      finals.push(final);
      const time = (k: number) => new Date(base + (t * 2 + k) * 1000).toISOString();
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
  const start = encodeCast(startCast(uuid, cl, graph, { time: new Date(base).toISOString() }));
  const finish = encodeCast(finishCast(uuid, failed ? 'error' : 'ready', { time: new Date(base + (tasks * 2 + 5) * 1000).toISOString() }));
  return { uuid, cluster, nodes, tasks, finals, casts: [start, ...withDuplicates, finish], updates: withDuplicates.length };
}
