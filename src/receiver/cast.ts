import { RUN_STATUSES, RunStatus } from '../history/task-state';
import type { NodeTaskReport, RunStart, StoreCommand } from '../history/store-commands';
import type { RunReport } from '../history/run-state';
import {
  CAST_METHODS,
  CastMethod,
  MAX_ERROR_MESSAGE,
  MAX_JSON_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_NAME,
  MAX_PROGRESS,
  START_DEFAULTS,
  START_METHOD,
  TASK_STATUS_ALIASES,
  WIRE_TASK_STATUSES,
} from './cast-format';
import { parseNodes } from './cast-nodes';
import { parseSnapshots } from './cast-snapshots';
import { parseTime } from './cast-time';
import { CastRejected, checkJson, describe, isObject, name, unstorable } from './cast-values';

/**
 * The wire format: Astute's casts, one JSON object per message, `{"method": ..., "args": {...}}`, with
 * the methods, statuses and limits of cast-format.ts (cast-builder.ts writes them), validated here and
 * turned into store commands. This is the only place that reads the wire format; the bus consumer and
 * `POST /casts` both go through `parseCast`.
 */
export { CastRejected } from './cast-values';
export { CAST_METHODS, MAX_ERROR_MESSAGE, MAX_JSON_BYTES, MAX_MESSAGE_BYTES, MAX_SNAPSHOT_BYTES } from './cast-format';
export type { CastMethod } from './cast-format';

export interface SkippedEntry {
  /** `nodes[3]`, `status`, `progress`... */
  entry: string;
  reason: string;
}

export interface ParsedCast {
  method: CastMethod;
  uuid: string;
  command: StoreCommand;
  /** Parts of the cast that could not be applied; the rest of the cast still is. */
  skipped: SkippedEntry[];
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Checks a message's raw bytes before anything else: its size, and that it is UTF-8 (as JSON must be). */
export function checkMessageBytes(content: Buffer): void {
  messageText(content);
}

/** A message's text: its size checked, and decoded as UTF-8 (as JSON must be), once. */
function messageText(content: Buffer): string {
  if (content.length > MAX_MESSAGE_BYTES) {
    throw new CastRejected(`message is too large: ${content.length} bytes, the limit is ${MAX_MESSAGE_BYTES}`);
  }
  try {
    return UTF8.decode(content);
  } catch {
    throw new CastRejected('message body is not valid UTF-8 (JSON must be UTF-8): nothing of it was applied');
  }
}

/**
 * A bus message's body, read once: its bytes checked (checkMessageBytes' rules; CastRejected), then its
 * JSON; a body that is not JSON comes back as its text (as Nest's own RabbitMQ transport parses), which
 * the deserializer then refuses as not a JSON object.
 */
export function readMessage(content: Buffer): unknown {
  const text = messageText(content);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function isCastMethod(m: unknown): m is CastMethod {
  return typeof m === 'string' && (CAST_METHODS as readonly string[]).includes(m);
}

/**
 * What a parsed cast keeps: the method as this module's own string, and one shared empty list when
 * nothing was skipped, rather than the copies JSON.parse made and a list per cast. Bus casts are held
 * by the thousand until their batch commits, and every young collection copies what is held (#17).
 */
const NOTHING_SKIPPED: SkippedEntry[] = Object.freeze([]) as unknown as SkippedEntry[];
const ownMethod = (m: CastMethod): CastMethod => CAST_METHODS[CAST_METHODS.indexOf(m)];
const kept = (skipped: SkippedEntry[]): SkippedEntry[] => (skipped.length ? skipped : NOTHING_SKIPPED);

export function parseCast(raw: unknown, receivedAt: Date): ParsedCast {
  if (!isObject(raw)) throw new CastRejected(`a cast must be a JSON object {"method": ..., "args": {...}}, got ${describe(raw)}`);
  const { method: sent, args } = raw;
  if (!isCastMethod(sent)) {
    throw new CastRejected(`unknown method ${JSON.stringify(sent)}: expected one of ${CAST_METHODS.join(', ')}`);
  }
  const method = ownMethod(sent);
  if (!isObject(args)) throw new CastRejected(`${method}: "args" must be an object, got ${describe(args)}`);
  const uuid = name(args.task_uuid, `${method}: args.task_uuid`);
  const time = parseTime(args.time, `${method}: args.time`) ?? receivedAt;
  const skipped: SkippedEntry[] = [];
  if (method === START_METHOD) {
    const start = parseStart(args, uuid, time, skipped);
    return { method, uuid, command: { kind: 'start', start }, skipped: kept(skipped) };
  }

  const run = parseRunReport(args, time, skipped);
  const nodes = args.nodes ?? [];
  if (!Array.isArray(nodes)) throw new CastRejected(`${method}: args.nodes must be a list, got ${describe(nodes)}`);
  // Sized once (a list grown by push reserves room for 17 entries at its first): casts are held until their batch commits.
  const tasks = new Array<NodeTaskReport>(nodes.length);
  let n = 0;
  nodes.forEach((entry, i) => {
    try {
      const report = parseNodeEntry(entry, time);
      if (report) tasks[n++] = report;
    } catch (e) {
      if (!(e instanceof CastRejected)) throw e;
      skipped.push({ entry: `nodes[${i}]`, reason: e.message });
    }
  });
  tasks.length = n;
  return { method, uuid, command: { kind: 'report', uuid, run, tasks }, skipped: kept(skipped) };
}

function parseStart(args: Record<string, unknown>, uuid: string, time: Date, skipped: SkippedEntry[]): RunStart {
  const where = START_METHOD;
  const cluster = parseCluster(args.cluster);
  const dryRun = args.dry_run ?? START_DEFAULTS.dry_run;
  if (typeof dryRun !== 'boolean') throw new CastRejected(`${where}: args.dry_run must be true or false, got ${describe(dryRun)}`);
  const parent = args.parent_task_uuid ?? null;
  const graph = args.tasks_graph ?? {};
  if (!isObject(graph)) throw new CastRejected(`${where}: args.tasks_graph must be an object {node id: [tasks]}, got ${describe(graph)}`);
  const { tasks, variants } = parseGraph(graph);
  return {
    uuid,
    name: args.name === undefined ? START_DEFAULTS.name : name(args.name, `${where}: args.name`),
    graphType:
      args.graph_type === undefined || args.graph_type === null
        ? START_DEFAULTS.graph_type
        : name(args.graph_type, `${where}: args.graph_type`),
    dryRun,
    cluster,
    parentUuid: parent === null ? null : name(parent, `${where}: args.parent_task_uuid`),
    time,
    tasks,
    ...definitions(variants),
    snapshots: parseSnapshots(args, skipped),
    nodes: parseNodes(args, skipped),
  };
}

function parseCluster(cluster: unknown): RunStart['cluster'] {
  const where = START_METHOD;
  if (!isObject(cluster))
    throw new CastRejected(`${where}: args.cluster must be an object {"id", "name", "release"}, got ${describe(cluster)}`);
  const id = cluster.id;
  const clusterId = typeof id === 'string' && /^\d+$/.test(id) ? Number(id) : id;
  if (typeof clusterId !== 'number' || !Number.isSafeInteger(clusterId) || clusterId < 0 || clusterId > 2 ** 31 - 1) {
    throw new CastRejected(`${where}: args.cluster.id must be a non-negative integer, got ${describe(id)}`);
  }
  const release = name(cluster.release, `${where}: args.cluster.release`);
  const clusterName =
    cluster.name === undefined || cluster.name === null ? `cluster-${clusterId}` : name(cluster.name, `${where}: args.cluster.name`);
  return { id: clusterId, name: clusterName, release };
}

/** Per task name, the nodes it is on, and its distinct definitions (in graph order) with the nodes of each. */
type Variant = { definition: Record<string, unknown>; nodes: Array<string | null> };
type Variants = Map<string, { on: Set<string | null>; distinct: Variant[] }>;

/** The graph's (node, task) pairs, and each task's distinct definitions. */
function parseGraph(graph: Record<string, unknown>): { tasks: RunStart['tasks']; variants: Variants } {
  const where = START_METHOD;
  const tasks: RunStart['tasks'] = [];
  const variants: Variants = new Map();
  for (const [node, list] of Object.entries(graph)) {
    const nodeId = node === 'null' || node === '' ? null : node;
    if (nodeId !== null && nodeId.length > MAX_NAME)
      throw new CastRejected(`${where}: tasks_graph key ${JSON.stringify(node.slice(0, 40))}... is too long`);
    if (!Array.isArray(list))
      throw new CastRejected(`${where}: tasks_graph[${JSON.stringify(node)}] must be a list of tasks, got ${describe(list)}`);
    list.forEach((task, i) => {
      const at = `${where}: tasks_graph[${JSON.stringify(node)}][${i}]`;
      if (!isObject(task)) throw new CastRejected(`${at} must be an object {"id", "type", ...}, got ${describe(task)}`);
      const taskName = name(task.id, `${at}.id`);
      const type = task.type === undefined || task.type === null ? null : name(task.type, `${at}.type`);
      tasks.push({ nodeId, taskName, type });
      checkJson(task, at);
      let known = variants.get(taskName);
      if (!known) variants.set(taskName, (known = { on: new Set(), distinct: [] }));
      // A task listed twice on a node ("null" and "" both being cluster-level) keeps its first definition, as its row does.
      if (known.on.has(nodeId)) return;
      known.on.add(nodeId);
      // Compared with the first few distinct ones only: a graph whose every node differs (Astute's relations
      // name nodes) costs a few comparisons a task, not one per node; a later equal one is then kept apart, as is.
      const same = known.distinct.findIndex((v, k) => k < COMPARED_DEFINITIONS && sameJson(v.definition, task));
      if (same >= 0) known.distinct[same].nodes.push(nodeId);
      else known.distinct.push({ definition: task, nodes: [nodeId] });
    });
  }
  return { tasks, variants };
}

/**
 * Per task, the definition most of its nodes share is the task's; the nodes whose own differs (Astute's
 * graph is per node: relations name nodes, a node may run a task as `skipped`) keep theirs apart.
 */
function definitions(variants: Variants): Pick<RunStart, 'snapshot' | 'nodeDefinitions'> {
  const snapshot: RunStart['snapshot'] = {};
  const nodeDefinitions: RunStart['nodeDefinitions'] = [];
  for (const [taskName, { distinct }] of variants) {
    const common = distinct.reduce((a, b) => (b.nodes.length > a.nodes.length ? b : a));
    snapshot[taskName] = common.definition;
    for (const v of distinct) {
      if (v === common) continue;
      const json = JSON.stringify(v.definition);
      for (const nodeId of v.nodes) nodeDefinitions.push({ nodeId, taskName, json });
    }
  }
  return { snapshot, nodeDefinitions };
}

function parseRunReport(args: Record<string, unknown>, time: Date, skipped: SkippedEntry[]): RunReport | null {
  const report: RunReport = { time };
  let any = false;
  if (args.status !== undefined && args.status !== null) {
    if (typeof args.status === 'string' && (RUN_STATUSES as readonly string[]).includes(args.status)) {
      report.status = args.status as RunStatus;
      any = true;
    } else {
      skipped.push({
        entry: 'status',
        reason: `unknown transaction status ${describe(args.status)}: expected one of ${RUN_STATUSES.join(', ')}`,
      });
    }
  }
  if (args.progress !== undefined && args.progress !== null) {
    if (typeof args.progress === 'number' && args.progress >= 0 && args.progress <= MAX_PROGRESS) {
      report.progress = Math.round(args.progress);
      any = true;
    } else {
      skipped.push({ entry: 'progress', reason: `progress must be a number from 0 to ${MAX_PROGRESS}, got ${describe(args.progress)}` });
    }
  }
  if (args.error !== undefined && args.error !== null) {
    if (typeof args.error === 'string' && !unstorable(args.error)) {
      report.message = args.error;
      any = true;
    } else if (typeof args.error === 'string') {
      skipped.push({ entry: 'error', reason: 'error contains a NUL character or invalid UTF-16, which cannot be stored' });
    } else {
      skipped.push({ entry: 'error', reason: `error must be a string, got ${describe(args.error)}` });
    }
  }
  return any ? report : null;
}

/** One `nodes[]` entry; null when it is a node-level entry that carries no task status. */
function parseNodeEntry(entry: unknown, castTime: Date): NodeTaskReport | null {
  if (!isObject(entry)) throw new CastRejected(`a node entry must be an object, got ${describe(entry)}`);
  const taskName = entry.deployment_graph_task_name;
  const status = entry.task_status;
  if ((taskName === undefined || taskName === null) && (status === undefined || status === null)) return null;
  if (taskName === undefined || taskName === null || taskName === '') throw new CastRejected('missing deployment_graph_task_name');
  const task = name(taskName, 'deployment_graph_task_name');
  const at = `task ${JSON.stringify(task)}`;
  const mapped = taskStatus(status, at);
  const nodeId = nodeIdOf(entry, at);
  const time = parseTime(entry.time, `${at}: time`) ?? castTime;
  const errorMessage = errorMessageOf(entry.error_msg, at);
  for (const k of ['summary', 'custom'] as const) checkReportObject(entry[k], `${at}: ${k}`);
  return {
    nodeId,
    taskName: task,
    status: mapped,
    time,
    errorMessage,
    summary: (entry.summary as Record<string, unknown> | undefined) ?? null,
    custom: (entry.custom as Record<string, unknown> | undefined) ?? null,
  };
}

/** A `task_status` as the state machine names it (Astute's raw names mapped). */
function taskStatus(status: unknown, at: string): NodeTaskReport['status'] {
  if (status === undefined || status === null) throw new CastRejected(`${at}: missing task_status`);
  if (typeof status !== 'string' || !Object.hasOwn(TASK_STATUS_ALIASES, status)) {
    const ours = WIRE_TASK_STATUSES.filter((s) => TASK_STATUS_ALIASES[s] === s);
    const astute = WIRE_TASK_STATUSES.filter((s) => TASK_STATUS_ALIASES[s] !== s);
    throw new CastRejected(`${at}: unknown task_status ${describe(status)}: expected one of ${ours.join(', ')} (or ${astute.join(', ')})`);
  }
  return TASK_STATUS_ALIASES[status as keyof typeof TASK_STATUS_ALIASES];
}

/** The entry's node: its uid as a string (Astute may send an integer), or null for a cluster-level task. */
function nodeIdOf(entry: Record<string, unknown>, at: string): string | null {
  if (!('uid' in entry)) throw new CastRejected(`${at}: missing uid (a node id, "master", or null for a cluster-level task)`);
  const uid = entry.uid;
  if (uid === null) return null;
  if (typeof uid === 'number' && Number.isSafeInteger(uid)) return String(uid);
  if (typeof uid === 'string' && uid !== '' && uid.length <= MAX_NAME) return uid === 'null' ? null : uid;
  throw new CastRejected(`${at}: uid must be a node id, "master" or null, got ${describe(uid)}`);
}

function errorMessageOf(errorMessage: unknown, at: string): string | null {
  if (errorMessage === undefined || errorMessage === null) return null;
  if (typeof errorMessage !== 'string') throw new CastRejected(`${at}: error_msg must be a string, got ${describe(errorMessage)}`);
  checkJson(errorMessage, `${at}: error_msg`);
  if (errorMessage.length > MAX_ERROR_MESSAGE) {
    throw new CastRejected(`${at}: error_msg is too large: ${errorMessage.length} characters, the limit is ${MAX_ERROR_MESSAGE}`);
  }
  return errorMessage;
}

/** A report's `summary` or `custom`: an object, storable, at most MAX_JSON_BYTES of JSON. */
function checkReportObject(v: unknown, what: string): void {
  if (v === undefined || v === null) return;
  if (!isObject(v)) throw new CastRejected(`${what} must be an object, got ${describe(v)}`);
  checkJson(v, what);
  const size = Buffer.byteLength(JSON.stringify(v));
  if (size > MAX_JSON_BYTES) throw new CastRejected(`${what} is too large: ${size} bytes of JSON, the limit is ${MAX_JSON_BYTES}`);
}

/** Distinct definitions of a task a node's is compared with (see parseStart). */
const COMPARED_DEFINITIONS = 4;

/**
 * Whether two JSON values are the same, whatever the order of their keys (they are stored as jsonb, which
 * keeps none). Without building their texts: in a graph of a million tasks that all nodes share, comparing
 * is 5 times faster than comparing their JSON.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const list = Array.isArray(a);
  if (list !== Array.isArray(b)) return false;
  if (list) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameJson(x[i], y[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    keys++;
    if (!Object.hasOwn(y, k) || !sameJson(x[k], y[k])) return false;
  }
  for (const _ in y) keys--;
  return keys === 0;
}
