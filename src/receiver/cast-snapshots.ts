import type { RunSnapshots } from '../history/store-commands';
import { MAX_NAME, MAX_SNAPSHOT_BYTES } from './cast-format';
import { CastRejected, checkJson, describe, isObject } from './cast-values';
import type { SkippedEntry } from './cast';

/**
 * What the run was deployed with, each as its JSON text (stored as sent). One that cannot be stored (not
 * an object, over MAX_SNAPSHOT_BYTES, unstorable text) is skipped whole, with the reason: the run and its
 * history are recorded all the same, and the snapshot is answered as not recorded rather than in part.
 */
export function parseSnapshots(args: Record<string, unknown>, skipped: SkippedEntry[]): RunSnapshots {
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
