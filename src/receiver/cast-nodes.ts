import type { RunNode } from '../history/store-commands';
import { MAX_NAME } from './cast-format';
import { CastRejected, describe, isObject, name } from './cast-values';
import type { SkippedEntry } from './cast';

/** At most this many roles per node: Fuel's nodes have one to a few; a longer list is not a node's roles. */
export const MAX_NODE_ROLES = 64;

/**
 * Who each node of a run is (issue #15): its roles, which resolve a fuel-library graph's `cross_depends`
 * role selectors and group task statistics per role, and its host name, which names it for a reader.
 *
 * From `transaction_start`'s `args.nodes` (ours: `{"<uid>": {"roles": [...], "hostname": "..."}}`, or a
 * list of `{"uid", "roles", "hostname"}`, the form Nailgun's messages list nodes in), else from the
 * node's deployment info (Fuel's per-node `roles`, or `role`; `fqdn`, else `name`), which Nailgun sent
 * anyway. A node given in both takes `args.nodes`' entry. An entry that cannot be read is skipped with
 * its reason (`nodes["3"]`); the run and the other nodes are recorded all the same.
 */
export function parseNodes(args: Record<string, unknown>, skipped: SkippedEntry[]): RunNode[] {
  const found = new Map<string, RunNode>();
  fromDeploymentInfo(args.deployment_info, found);
  const given = args.nodes;
  if (given === undefined || given === null) return [...found.values()];
  const entries: Array<[string, unknown, string]> = Array.isArray(given)
    ? given.map((v, i) => [uidOf(v), v, `nodes[${i}]`])
    : isObject(given)
      ? Object.entries(given).map(([uid, v]) => [uid, v, `nodes[${JSON.stringify(uid.slice(0, 40))}]`])
      : [];
  if (!Array.isArray(given) && !isObject(given)) {
    skipped.push({
      entry: 'nodes',
      reason: `transaction_start: args.nodes must be an object keyed by node id or a list, got ${describe(given)}`,
    });
  }
  for (const [uid, v, entry] of entries) {
    try {
      found.set(nodeUid(uid, entry), readNode(uid, v, entry));
    } catch (e) {
      if (!(e instanceof CastRejected)) throw e;
      skipped.push({ entry, reason: e.message });
    }
  }
  return [...found.values()];
}

/** A listed node's uid (Astute may send an integer), '' when it has none. */
function uidOf(v: unknown): string {
  return isObject(v) && (typeof v.uid === 'string' || typeof v.uid === 'number') ? String(v.uid) : '';
}

function nodeUid(uid: string, where: string): string {
  if (uid === '' || uid === 'null') throw new CastRejected(`transaction_start: args.${where} must name its node (a uid or "master")`);
  return name(uid, `transaction_start: args.${where} node id`);
}

function readNode(uid: string, v: unknown, where: string): RunNode {
  const what = `transaction_start: args.${where}`;
  if (!isObject(v)) throw new CastRejected(`${what} must be an object {"roles": [...], "hostname": ...}, got ${describe(v)}`);
  const roles = v.roles ?? [];
  if (!Array.isArray(roles)) throw new CastRejected(`${what}.roles must be a list of role names, got ${describe(roles)}`);
  if (roles.length > MAX_NODE_ROLES) throw new CastRejected(`${what}.roles lists ${roles.length} roles, the limit is ${MAX_NODE_ROLES}`);
  const host = v.hostname ?? v.fqdn ?? v.name;
  return {
    uid,
    roles: [...new Set(roles.map((r, i) => name(r, `${what}.roles[${i}]`)))],
    hostname: host === undefined || host === null ? null : name(host, `${what}.hostname`),
  };
}

/**
 * What the deployment info says of each node, where it says it readably; anything else in it is not
 * this function's to judge (the snapshot itself is checked, and skipped if need be, by cast-snapshots.ts).
 */
function fromDeploymentInfo(info: unknown, found: Map<string, RunNode>): void {
  if (!isObject(info)) return;
  const keys = Object.keys(info);
  const nailgun = keys.length > 0 && keys.every((k) => k === 'common' || k === 'nodes');
  const nodes = nailgun ? info.nodes : info;
  if (!isObject(nodes)) return;
  for (const [uid, v] of Object.entries(nodes)) {
    if (!isObject(v) || uid === '' || uid.length > MAX_NAME || uid === 'null') continue;
    const roles = Array.isArray(v.roles) ? v.roles : typeof v.role === 'string' ? [v.role] : [];
    const usable = roles.filter((r): r is string => typeof r === 'string' && r.trim() !== '' && r.length <= MAX_NAME);
    const host = [v.fqdn, v.name].find((h): h is string => typeof h === 'string' && h.trim() !== '' && h.length <= MAX_NAME);
    try {
      name(uid, 'node id');
      for (const r of usable) name(r, 'role');
      if (host !== undefined) name(host, 'host name');
    } catch {
      continue; // unstorable text: the node stays without identity
    }
    found.set(uid, { uid, roles: [...new Set(usable)].slice(0, MAX_NODE_ROLES), hostname: host ?? null });
  }
}
