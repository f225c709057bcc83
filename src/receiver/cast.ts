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
  if (method === START_METHOD) {
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

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** An ISO 8601 time; one without a zone is UTC (as Fuel stamped it). Undefined when absent. */
function parseTime(v: unknown, what: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    const plain = plainTime(v);
    if (plain !== undefined) return checkedTime(v, what, ...plain, 0);
  }
  const m = typeof v === 'string' ? ISO_8601.exec(v) : null;
  if (!m) throw new CastRejected(`${what} must be an ISO 8601 time such as 2016-03-25T17:22:10.687Z, got ${describe(v)}`);
  const [, y, mo, d, h, mi, sec = '00', frac = '', zone = 'Z'] = m;
  const offsetMinutes = utcOffset(zone);
  if (offsetMinutes === null) throw new CastRejected(`${what} has an impossible UTC offset: ${JSON.stringify(v)}`);
  // Milliseconds: the first three digits of the fraction (finer ones are dropped, as Date drops them).
  const ms = frac ? +`${frac.slice(1, 4)}00`.slice(0, 3) : 0;
  return checkedTime(v, what, +y, +mo, +d, +h, +mi, +sec, ms, offsetMinutes);
}

/**
 * A time from its fields, checked first: Date would silently roll 2016-02-30 over to March; years before 100
 * are refused, as Date.UTC would read them as 19xx. Computed from the fields (every cast has times: two Dates
 * and a parsed string were half of parsing a cast, issue #17).
 */
function checkedTime(
  v: unknown,
  what: string,
  year: number,
  month: number,
  day: number,
  h: number,
  mi: number,
  sec: number,
  ms: number,
  offsetMinutes: number,
): Date {
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || h > 23 || mi > 59 || sec > 59) {
    throw new CastRejected(`${what} is not a valid time: ${JSON.stringify(v)}`);
  }
  return new Date(Date.UTC(year, month - 1, day, h, mi, sec, ms) - offsetMinutes * 60_000);
}

/**
 * The fields (year, month, day, hours, minutes, seconds, ms) of a time in the form every sender writes,
 * `2016-03-25T17:22:10.687Z` (toISOString) or `2016-03-25T17:22:10.687135` (Fuel): seconds, a fraction of 1
 * to 9 digits or none, `Z` or no zone. Read digit by digit, as ISO_8601 reads it, without its match and
 * substrings (~5 % of what the service allocated in the bus ingest, issue #17). Anything else (no seconds,
 * an offset, a space for T) is undefined here and left to ISO_8601.
 */
function plainTime(s: string): TimeFields | undefined {
  const n = s.length;
  if (n < 19 || n > 30 || !plainSeparators(s)) return undefined;
  const fields: TimeFields = [digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2), digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2), 0];
  for (let k = 0; k < 6; k++) if (fields[k] < 0) return undefined;
  let i = 19;
  if (i < n && s.charCodeAt(i) === 46 /* . */) {
    const end = fractionEnd(s, i + 1);
    if (end < 0) return undefined;
    fields[6] = milliseconds(s, i + 1, end);
    i = end;
  }
  if (i < n && (s.charCodeAt(i) | 32) === 122 /* Z or z */) i++;
  return i === n ? fields : undefined;
}

/** Year, month, day, hours, minutes, seconds, milliseconds. */
type TimeFields = [number, number, number, number, number, number, number];

/** `YYYY-MM-DDTHH:MM:SS`'s separators where they are (`T` or `t`, as ISO_8601 reads it). */
function plainSeparators(s: string): boolean {
  const t = s.charCodeAt(10) | 32;
  return s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45 && t === 116 && s.charCodeAt(13) === 58 && s.charCodeAt(16) === 58;
}

/** Where a fraction's digits from `from` end, or -1 unless there are 1 to 9 of them (as ISO_8601 allows). */
function fractionEnd(s: string, from: number): number {
  let i = from;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  return i - from >= 1 && i - from <= 9 ? i : -1;
}

/** A fraction's first three digits as milliseconds (finer ones are dropped, as Date drops them). */
function milliseconds(s: string, from: number, end: number): number {
  let ms = 0;
  for (let k = 0; k < 3; k++) ms = ms * 10 + (from + k < end ? s.charCodeAt(from + k) - 48 : 0);
  return ms;
}

const isDigit = (c: number) => c >= 48 && c <= 57;

/** The number written by `count` decimal digits of `s` from `at`, or -1 if one is not a digit. */
function digits(s: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return -1;
    v = v * 10 + c - 48;
  }
  return v;
}

/** Minutes east of UTC of a zone (`Z`, `+05`, `-0530`, `+05:30`); null past ±18:59. */
function utcOffset(zone: string): number | null {
  if (zone.toUpperCase() === 'Z') return 0;
  const hours = +zone.slice(1, 3);
  const minutes = +(zone.slice(3).replace(':', '') || '00');
  if (hours > 18 || minutes > 59) return null;
  return (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/** Days in a month of the proleptic Gregorian calendar (month 1 to 12). */
function daysIn(year: number, month: number): number {
  if (month !== 2) return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
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
