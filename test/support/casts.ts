import {
  finishCast,
  NodeEntry,
  reportCast,
  runStatusCast,
  startCast,
  taskEntry,
  TasksGraph,
  WireCluster,
} from '../../src/receiver/cast-builder';
import type { ReportMethod } from '../../src/receiver/cast-format';

/**
 * The tests' names for the cast builder (src/receiver/cast-builder.ts), which writes casts as the
 * orchestrator sends them. Their extras take any value: a test may pass one the parser must refuse or
 * skip (hostile input) through them; the cast itself is still the builder's. A test that sends a cast
 * malformed in its shape writes it out by hand instead.
 */
export type Graph = TasksGraph;
export type { Cast, NodeEntry } from '../../src/receiver/cast-builder';
export { encodeCast } from '../../src/receiver/cast-builder';

type Extra = Record<string, unknown>;

/**
 * A small run of every kind of row: two tasks on node 1, one on node 2, one on the master and a
 * cluster-level (null node) stage.
 */
export const SMALL_GRAPH: Graph = {
  '1': [
    { id: 'netconfig', type: 'puppet' },
    { id: 'hiera', type: 'puppet' },
  ],
  '2': [{ id: 'netconfig', type: 'puppet' }],
  master: [{ id: 'upload_configuration', type: 'upload_file' }],
  null: [{ id: 'post_deployment_start', type: 'stage' }],
};

export const start = (uuid: string, cluster: WireCluster, graph: Graph, extra: Extra = {}) => startCast(uuid, cluster, graph, extra);

export const task = (uid: string | number | null, name: string, status: string, extra: Extra = {}) => taskEntry(uid, name, status, extra);

export const resp = (uuid: string, nodes: unknown[], extra: Extra = {}, method: ReportMethod = 'transaction_resp') =>
  reportCast(uuid, nodes as NodeEntry[], extra, method);

export const finish = (uuid: string, status: 'ready' | 'error' | 'stopped', extra: Extra = {}) => finishCast(uuid, status, extra);

export const runStatus = runStatusCast;

/** A whole run of one task: started on `cluster`, node 1's netconfig ready, the run ended ready. */
export const oneTaskRun = (uuid: string, cluster: WireCluster) => [
  start(uuid, cluster, { '1': [{ id: 'netconfig', type: 'puppet' }] }),
  resp(uuid, [task('1', 'netconfig', 'ready')]),
  finish(uuid, 'ready'),
];

/** The time `s` seconds after `base` (ms since the epoch), as a cast writes it. */
export const at = (base: number, s: number) => new Date(base + s * 1000).toISOString();
/** A task that ran on a node from `from` to `to` seconds after `base`: its `running` report, then its final one. */
export const ran = (node: string | null, name: string, base: number, from: number, to: number, status = 'ready', extra: Extra = {}) => [
  task(node, name, 'running', { time: at(base, from) }),
  task(node, name, status, { time: at(base, to), ...extra }),
];
