import type { RunStatus } from '../history/task-state';
import { RUN_STATUSES } from '../history/task-state';
import type { NodeTaskReport, RunSnapshots, RunStart, StoreCommand } from '../history/store-commands';
import type { RunReport } from '../history/run-state';
import type { ReportedStatus } from '../history/task-state';

/**
 * The wire format: Astute's casts `{"method": ..., "args": {...}}` (see shared/fuel-reference.md §1),
 * validated and turned into store commands. This is the only place that knows the wire format; the
 * bus consumer and `POST /casts` both go through `parseCast`.
 */
export const CAST_METHODS = ['transaction_start', 'transaction_resp', 'deploy_resp'] as const;
export type CastMethod = (typeof CAST_METHODS)[number];

/** A cast that can never be applied as sent: answered with 400 over HTTP, dead-lettered on the bus. */
export class CastRejected extends Error {}

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

const TASK_STATUS_ALIASES: Record<string, ReportedStatus> = {
  running: 'running',
  ready: 'ready',
  error: 'error',
  skipped: 'skipped',
  successful: 'ready',
  failed: 'error',
};
const MAX_NAME = 255;
/** Limits of one task report: its error message, and its summary and custom objects as JSON. */
export const MAX_ERROR_MESSAGE = 65_536;
export const MAX_JSON_BYTES = 1_048_576;
/**
 * Limit of each snapshot a start carries, as JSON: `settings`, `network_configuration`, and each node's
 * `deployment_info` (and its common part). A node's deployment info (its astute.yaml) holds every
 * node's network metadata (~1 KB each) and the cluster's settings: ~300 KB at 200 nodes. 4 MB leaves
 * room for environments several times larger; the whole start is bounded by its message (16 MB on the
 * bus, BODY_MAX_CASTS_BYTES over HTTP), which is what limits a large environment's deployment info.
 */
export const MAX_SNAPSHOT_BYTES = 4 * 1_048_576;

/** The largest message the bus consumer takes. */
export const MAX_MESSAGE_BYTES = 16 * 1_048_576;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Checks a message's raw bytes before anything else: its size, and that it is UTF-8 (as JSON must be). */
export function checkMessageBytes(content: Buffer): void {
  if (content.length > MAX_MESSAGE_BYTES) {
    throw new CastRejected(`message is too large: ${content.length} bytes, the limit is ${MAX_MESSAGE_BYTES}`);
  }
  try {
    UTF8.decode(content);
  } catch {
    throw new CastRejected('message body is not valid UTF-8 (JSON must be UTF-8): nothing of it was applied');
  }
}

export function isCastMethod(m: unknown): m is CastMethod {
  return typeof m === 'string' && (CAST_METHODS as readonly string[]).includes(m);
}

export function parseCast(raw: unknown, receivedAt: Date): ParsedCast {
  if (!isObject(raw)) throw new CastRejected(`a cast must be a JSON object {"method": ..., "args": {...}}, got ${describe(raw)}`);
  const { method, args } = raw;
  if (!isCastMethod(method)) {
    throw new CastRejected(`unknown method ${JSON.stringify(method)}: expected one of ${CAST_METHODS.join(', ')}`);
  }
  if (!isObject(args)) throw new CastRejected(`${method}: "args" must be an object, got ${describe(args)}`);
  const uuid = name(args.task_uuid, `${method}: args.task_uuid`);
  const time = parseTime(args.time, `${method}: args.time`) ?? receivedAt;
  const skipped: SkippedEntry[] = [];
  if (method === 'transaction_start') {
    return { method, uuid, command: { kind: 'start', start: parseStart(args, uuid, time, skipped) }, skipped };
  }

  const run = parseRunReport(args, time, skipped);
  const tasks: NodeTaskReport[] = [];
  if (args.nodes !== undefined && args.nodes !== null) {
    if (!Array.isArray(args.nodes)) throw new CastRejected(`${method}: args.nodes must be a list, got ${describe(args.nodes)}`);
    args.nodes.forEach((entry, i) => {
      try {
        const report = parseNodeEntry(entry, time);
        if (report) tasks.push(report);
      } catch (e) {
        if (!(e instanceof CastRejected)) throw e;
        skipped.push({ entry: `nodes[${i}]`, reason: e.message });
      }
    });
  }
  return { method, uuid, command: { kind: 'report', uuid, run, tasks }, skipped };
}

function parseStart(args: Record<string, unknown>, uuid: string, time: Date, skipped: SkippedEntry[]): RunStart {
  const where = 'transaction_start';
  const cluster = args.cluster;
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
  const dryRun = args.dry_run ?? false;
  if (typeof dryRun !== 'boolean') throw new CastRejected(`${where}: args.dry_run must be true or false, got ${describe(dryRun)}`);
  const parent = args.parent_task_uuid ?? null;
  const graph = args.tasks_graph ?? {};
  if (!isObject(graph)) throw new CastRejected(`${where}: args.tasks_graph must be an object {node id: [tasks]}, got ${describe(graph)}`);

  const tasks: RunStart['tasks'] = [];
  /** Per task name, the nodes it is on, and its distinct definitions (in graph order) with the nodes of each. */
  type Variant = { definition: Record<string, unknown>; nodes: Array<string | null> };
  const variants = new Map<string, { on: Set<string | null>; distinct: Variant[] }>();
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
  // Per task, the definition most of its nodes share is the task's; the nodes whose own differs (Astute's
  // graph is per node: relations name nodes, a node may run a task as `skipped`) keep theirs apart.
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
  return {
    uuid,
    name: args.name === undefined ? 'deployment' : name(args.name, `${where}: args.name`),
    graphType: args.graph_type === undefined || args.graph_type === null ? 'default' : name(args.graph_type, `${where}: args.graph_type`),
    dryRun,
    cluster: { id: clusterId, name: clusterName, release },
    parentUuid: parent === null ? null : name(parent, `${where}: args.parent_task_uuid`),
    time,
    tasks,
    snapshot,
    nodeDefinitions,
    snapshots: parseSnapshots(args, skipped),
  };
}

/**
 * What the run was deployed with, each as its JSON text (stored as sent). One that cannot be stored (not
 * an object, over MAX_SNAPSHOT_BYTES, unstorable text) is skipped whole, with the reason: the run and its
 * history are recorded all the same, and the snapshot is answered as not recorded rather than in part.
 */
function parseSnapshots(args: Record<string, unknown>, skipped: SkippedEntry[]): RunSnapshots {
  const snapshots: RunSnapshots = {};
  const take = (entry: string, read: () => void) => {
    if (args[entry] === undefined || args[entry] === null) return;
    try {
      read();
    } catch (e) {
      if (!(e instanceof CastRejected)) throw e;
      skipped.push({ entry, reason: e.message });
    }
  };
  take('deployment_info', () => (snapshots.deploymentInfo = deploymentInfo(args.deployment_info)));
  take('settings', () => (snapshots.settings = snapshotJson(args.settings, 'transaction_start: args.settings')));
  take('network_configuration', () => {
    snapshots.networkConfiguration = snapshotJson(args.network_configuration, 'transaction_start: args.network_configuration');
  });
  return snapshots;
}

/**
 * `deployment_info`: keyed by node uid (`{"1": {...}, "2": {...}}`), or in Nailgun 10's own form, with
 * what every node shares apart (`{"common": {...}, "nodes": {"1": {...}}}`: an object whose only keys
 * are `common` and/or `nodes`, which no node is named).
 */
function deploymentInfo(v: unknown): NonNullable<RunSnapshots['deploymentInfo']> {
  const what = 'transaction_start: args.deployment_info';
  if (!isObject(v)) {
    // Said without "uid": the metrics' reason kinds would count it as a bad report uid (common/metrics).
    const shapes = '{"<node id>": {...}} or {"common": {...}, "nodes": {"<node id>": {...}}}';
    throw new CastRejected(`${what} must be an object keyed by node id (${shapes}), got ${describe(v)}`);
  }
  const keys = Object.keys(v);
  const nailgun = keys.length > 0 && keys.every((k) => k === 'common' || k === 'nodes');
  const nodes = nailgun ? (v.nodes ?? {}) : v;
  if (!isObject(nodes)) throw new CastRejected(`${what}.nodes must be an object keyed by node id, got ${describe(nodes)}`);
  const common = nailgun && v.common !== undefined && v.common !== null ? snapshotJson(v.common, `${what}.common`) : '{}';
  return {
    common,
    nodes: Object.entries(nodes).map(([uid, info]) => {
      if (uid === '' || uid.length > MAX_NAME) {
        throw new CastRejected(`${what}: node id ${JSON.stringify(uid.slice(0, 40))} is ${uid ? 'too long' : 'empty'}`);
      }
      checkJson(uid, `${what}: node id`);
      return { uid, json: snapshotJson(info, `${what}[${JSON.stringify(uid)}]`) };
    }),
  };
}

/** One snapshot object as JSON text, checked: an object, storable, at most MAX_SNAPSHOT_BYTES. */
function snapshotJson(v: unknown, what: string): string {
  if (!isObject(v)) throw new CastRejected(`${what} must be an object, got ${describe(v)}`);
  checkJson(v, what);
  const text = JSON.stringify(v);
  const size = Buffer.byteLength(text);
  if (size > MAX_SNAPSHOT_BYTES) throw new CastRejected(`${what} is too large: ${size} bytes of JSON, the limit is ${MAX_SNAPSHOT_BYTES}`);
  return text;
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
    if (typeof args.progress === 'number' && args.progress >= 0 && args.progress <= 100) {
      report.progress = Math.round(args.progress);
      any = true;
    } else {
      skipped.push({ entry: 'progress', reason: `progress must be a number from 0 to 100, got ${describe(args.progress)}` });
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
  if (status === undefined || status === null) throw new CastRejected(`task ${JSON.stringify(task)}: missing task_status`);
  const mapped = typeof status === 'string' && Object.hasOwn(TASK_STATUS_ALIASES, status) ? TASK_STATUS_ALIASES[status] : undefined;
  if (!mapped) {
    throw new CastRejected(
      `task ${JSON.stringify(task)}: unknown task_status ${describe(status)}: expected one of running, ready, error, skipped (or successful, failed)`,
    );
  }
  if (!('uid' in entry))
    throw new CastRejected(`task ${JSON.stringify(task)}: missing uid (a node id, "master", or null for a cluster-level task)`);
  const uid = entry.uid;
  let nodeId: string | null;
  if (uid === null) nodeId = null;
  else if (typeof uid === 'number' && Number.isSafeInteger(uid)) nodeId = String(uid);
  else if (typeof uid === 'string' && uid !== '' && uid.length <= MAX_NAME) nodeId = uid === 'null' ? null : uid;
  else throw new CastRejected(`task ${JSON.stringify(task)}: uid must be a node id, "master" or null, got ${describe(uid)}`);
  const time = parseTime(entry.time, `task ${JSON.stringify(task)}: time`) ?? castTime;
  const errorMessage = entry.error_msg;
  if (errorMessage !== undefined && errorMessage !== null) {
    if (typeof errorMessage !== 'string')
      throw new CastRejected(`task ${JSON.stringify(task)}: error_msg must be a string, got ${describe(errorMessage)}`);
    checkJson(errorMessage, `task ${JSON.stringify(task)}: error_msg`);
    if (errorMessage.length > MAX_ERROR_MESSAGE) {
      throw new CastRejected(
        `task ${JSON.stringify(task)}: error_msg is too large: ${errorMessage.length} characters, the limit is ${MAX_ERROR_MESSAGE}`,
      );
    }
  }
  for (const k of ['summary', 'custom'] as const) {
    if (entry[k] !== undefined && entry[k] !== null) {
      if (!isObject(entry[k])) throw new CastRejected(`task ${JSON.stringify(task)}: ${k} must be an object, got ${describe(entry[k])}`);
      checkJson(entry[k], `task ${JSON.stringify(task)}: ${k}`);
      const size = Buffer.byteLength(JSON.stringify(entry[k]));
      if (size > MAX_JSON_BYTES)
        throw new CastRejected(`task ${JSON.stringify(task)}: ${k} is too large: ${size} bytes of JSON, the limit is ${MAX_JSON_BYTES}`);
    }
  }
  return {
    nodeId,
    taskName: task,
    status: mapped,
    time,
    errorMessage: (errorMessage as string | undefined) ?? null,
    summary: (entry.summary as Record<string, unknown> | undefined) ?? null,
    custom: (entry.custom as Record<string, unknown> | undefined) ?? null,
  };
}

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** An ISO 8601 time; one without a zone is UTC (as Fuel stamped it). Undefined when absent. */
function parseTime(v: unknown, what: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  const m = typeof v === 'string' ? ISO_8601.exec(v) : null;
  if (!m) throw new CastRejected(`${what} must be an ISO 8601 time such as 2016-03-25T17:22:10.687Z, got ${describe(v)}`);
  const [, y, mo, d, h, mi, sec = '00', frac = '', zone = 'Z'] = m;
  // Date would silently roll 2016-02-30 over to March: check the fields first.
  const fields = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +sec));
  if (
    fields.getUTCFullYear() !== +y ||
    fields.getUTCMonth() !== +mo - 1 ||
    fields.getUTCDate() !== +d ||
    +h > 23 ||
    +mi > 59 ||
    +sec > 59
  ) {
    throw new CastRejected(`${what} is not a valid time: ${JSON.stringify(v)}`);
  }
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3).replace(':', '') || '00'}`;
  if (offset !== 'Z' && (+offset.slice(1, 3) > 18 || +offset.slice(4) > 59)) {
    throw new CastRejected(`${what} has an impossible UTC offset: ${JSON.stringify(v)}`);
  }
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${sec}${frac.slice(0, 4)}${offset}`);
  if (Number.isNaN(date.getTime())) throw new CastRejected(`${what} is not a valid time: ${JSON.stringify(v)}`);
  return date;
}

function name(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new CastRejected(`${what} must be a non-empty string, got ${describe(v)}`);
  if (v.length > MAX_NAME) throw new CastRejected(`${what} must be at most ${MAX_NAME} characters, got ${v.length}`);
  checkJson(v, what);
  return v;
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

const MAX_DEPTH = 32;
/**
 * NUL cannot be stored by PostgreSQL; a lone surrogate is not valid UTF-8. (String.isWellFormed is
 * ES2024, in Node 20; 3 times faster than a regular expression on the strings of a 60 MB graph.)
 */
const unstorable = (s: string) => s.includes('\u0000') || !(s as string & { isWellFormed(): boolean }).isWellFormed();

/** Rejects what PostgreSQL cannot store (NUL, lone surrogates) and JSON nested deeper than MAX_DEPTH. */
function checkJson(v: unknown, what: string, depth = 0): void {
  if (typeof v === 'string') {
    if (unstorable(v))
      throw new CastRejected(`${what} contains a NUL character or invalid UTF-16 (a lone surrogate), which cannot be stored`);
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  if (depth >= MAX_DEPTH) throw new CastRejected(`${what} is nested deeper than ${MAX_DEPTH} levels`);
  // Every value of every task passes here (a 60 MB run holds the event loop while it does): no array per entry.
  if (Array.isArray(v)) {
    for (const x of v) checkJson(x, what, depth + 1);
    return;
  }
  for (const k of Object.keys(v)) {
    checkJson(k, what, depth + 1);
    checkJson((v as Record<string, unknown>)[k], what, depth + 1);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    return Array.isArray(v) ? 'a list nested too deep to show' : `a ${typeof v} too deep to show`;
  }
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
