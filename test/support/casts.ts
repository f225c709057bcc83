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

export const start = (uuid: string, cluster: WireCluster, graph: Graph, extra: Extra = {}) => startCast(uuid, cluster, graph, extra);

export const task = (uid: string | number | null, name: string, status: string, extra: Extra = {}) => taskEntry(uid, name, status, extra);

export const resp = (uuid: string, nodes: unknown[], extra: Extra = {}, method: ReportMethod = 'transaction_resp') =>
  reportCast(uuid, nodes as NodeEntry[], extra, method);

export const finish = (uuid: string, status: 'ready' | 'error' | 'stopped', extra: Extra = {}) => finishCast(uuid, status, extra);

export const runStatus = runStatusCast;
