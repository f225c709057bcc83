import { Cast, finish, Graph, NodeEntry, resp, runStatus, start, task } from '../casts';

/**
 * Known sets of casts for the fault tests, with the database state they must end in. Every report
 * carries its own time, so the final state does not depend on when the service received it.
 */

/** A small seeded PRNG (mulberry32): the same seed gives the same workload. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type { Cast } from '../casts';

export interface ExpectedRun {
  status: string;
  progress: number;
  message: string | null;
  time_start: string;
  time_end: string | null;
}

export interface ExpectedRow {
  status: string;
  time_start: string | null;
  time_end: string | null;
  error_message: string | null;
  closed_reason: string | null;
}

export interface Workload {
  /** Every cast in the order an orchestrator would send them: the starts, then the reports. */
  casts: Cast[];
  uuids: string[];
  /** By uuid. */
  runs: Record<string, ExpectedRun>;
  /** By `uuid|node|task` (node `null` for cluster-level rows). */
  rows: Record<string, ExpectedRow>;
}

export const rowKey = (uuid: string, node: string | null, taskName: string) => `${uuid}|${node ?? 'null'}|${taskName}`;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `runs` deployments, each of `nodes` nodes × `tasks` tasks plus two `master` tasks and one
 * cluster-level task; every task reports `running` then `ready` (a few `error`); every run ends
 * `ready`, or `error` when one of its tasks failed. Reports of the runs are interleaved, as concurrent
 * deployments would send them. Casts: runs × (rows × 2 + 2) - runs (the cluster-level and master
 * final reports of a run share a cast).
 */
export function faultWorkload(prefix: string, o: { runs: number; nodes: number; tasks: number; clusterBase: number }): Workload {
  const w: Workload = { casts: [], uuids: [], runs: {}, rows: {} };
  const perRun: Cast[][] = [];
  const finishes: Cast[] = [];
  for (let r = 0; r < o.runs; r++) {
    const uuid = `${prefix}-run-${r}`;
    w.uuids.push(uuid);
    const t0 = Date.UTC(2026, 2, 1, 0, 0, 0) + r * 3_600_000;
    const graph: Graph = {};
    const nodes = Array.from({ length: o.nodes }, (_, i) => String(i + 1));
    for (const n of nodes) graph[n] = Array.from({ length: o.tasks }, (_, j) => ({ id: `task-${j}`, type: 'puppet' }));
    graph.master = [
      { id: 'upload_configuration', type: 'upload_file' },
      { id: 'generate_keys', type: 'shell' },
    ];
    graph.null = [{ id: 'deploy_start', type: 'stage' }];
    w.casts.push(
      start(uuid, { id: o.clusterBase + (r % 3), name: `${prefix}-c${r % 3}`, release: 'mitaka-9.0' }, graph, { time: iso(t0) }),
    );

    const reports: Cast[] = [];
    let failed = false;
    // Cluster-level and master tasks first, running, then done together in one cast.
    const pre: Array<[string | null, string]> = [
      [null, 'deploy_start'],
      ['master', 'upload_configuration'],
      ['master', 'generate_keys'],
    ];
    pre.forEach(([node, name], k) => {
      const ts = t0 + 1000 + k * 100;
      reports.push(resp(uuid, [task(node, name, 'running', { time: iso(ts) })]));
      w.rows[rowKey(uuid, node, name)] = {
        status: 'ready',
        time_start: iso(ts),
        time_end: iso(t0 + 5000),
        error_message: null,
        closed_reason: null,
      };
    });
    reports.push(
      resp(
        uuid,
        pre.map(([node, name]) => task(node, name, 'ready', { time: iso(t0 + 5000) })),
      ),
    );
    for (let j = 0; j < o.tasks; j++) {
      for (const [i, n] of nodes.entries()) {
        const ts = t0 + (10 + j * 20) * 1000 + i * 10;
        const te = ts + 15_000;
        const fails = r % 3 === 1 && j === o.tasks - 1 && n === '1';
        failed ||= fails;
        reports.push(resp(uuid, [task(n, `task-${j}`, 'running', { time: iso(ts) })]));
        reports.push(
          resp(
            uuid,
            [
              task(n, `task-${j}`, fails ? 'error' : 'ready', {
                time: iso(te),
                ...(fails ? { error_msg: `task-${j} failed on node ${n}` } : {}),
                summary: { resources: { changed: j } },
              }),
            ],
            {},
            j % 2 ? 'deploy_resp' : 'transaction_resp',
          ),
        );
        w.rows[rowKey(uuid, n, `task-${j}`)] = {
          status: fails ? 'error' : 'ready',
          time_start: iso(ts),
          time_end: iso(te),
          error_message: fails ? `task-${j} failed on node ${n}` : null,
          closed_reason: null,
        };
      }
    }
    perRun.push(reports);
    const tEnd = t0 + (10 + o.tasks * 20 + 30) * 1000;
    const status = failed ? 'error' : 'ready';
    finishes.push(finish(uuid, status, { time: iso(tEnd), ...(failed ? { error: 'Deployment failed' } : {}) }));
    w.runs[uuid] = { status, progress: 100, message: failed ? 'Deployment failed' : null, time_start: iso(t0), time_end: iso(tEnd) };
  }
  // Interleave the runs' reports, then the final statuses.
  const longest = Math.max(...perRun.map((p) => p.length));
  for (let k = 0; k < longest; k++) for (const p of perRun) if (k < p.length) w.casts.push(p[k]);
  w.casts.push(...finishes);
  return w;
}

/**
 * About `target` casts (exactly `target`) covering what the state machines must make order-independent:
 * ready/error/skipped/aliases, retries (error then ready), ties (ready and error at the same time),
 * running-only and unreported rows closed out by the run's end, two final statuses for one run,
 * runs that never end, rows the graph did not announce, multi-entry casts, times with offsets or no
 * zone, a dry run, parent runs, and a pre-9.0 cluster. Casts of a run come after its start; a child
 * run's start after its parent's.
 */
export function replayWorkload(prefix: string, target: number, seed: number): { casts: Cast[]; parents: Record<string, string> } {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const casts: Cast[] = [];
  const parents: Record<string, string> = {};
  const clusters = [
    { id: 901, name: `${prefix}-east`, release: 'mitaka-9.0' },
    { id: 902, name: `${prefix}-west`, release: 'mitaka-9.0' },
    { id: 903, name: `${prefix}-lab`, release: 'newton-10.0' },
    { id: 904, name: `${prefix}-old`, release: 'liberty-8.0' },
  ];
  // Times in three spellings of the same instant.
  const stamp = (ms: number) => {
    const d = new Date(ms);
    const k = rnd();
    if (k < 0.7) return d.toISOString();
    if (k < 0.85)
      return d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ''); // no zone: UTC, whole seconds
    const local = new Date(ms + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    return local;
  };
  const whole = (ms: number) => Math.floor(ms / 1000) * 1000; // the no-zone spelling drops milliseconds
  let r = 0;
  const runsByCluster = new Map<number, string>();
  while (casts.length < target) {
    const uuid = `${prefix}-r${r}`;
    const cluster = r % 17 === 5 ? clusters[3] : clusters[r % 3];
    const t0 = Date.UTC(2026, 3, 1) + r * 7_200_000;
    const nodes = Array.from({ length: 3 + Math.floor(rnd() * 6) }, (_, i) => String(i + 1));
    const taskNames = Array.from({ length: 10 + Math.floor(rnd() * 10) }, (_, j) => `t${j}`);
    const graph: Graph = {};
    for (const n of nodes) graph[n] = taskNames.map((id) => ({ id, type: pick(['puppet', 'shell', 'upload_file']) }));
    graph.master = [
      { id: 'generate_keys', type: 'shell' },
      { id: 'upload_configuration', type: 'upload_file' },
    ];
    graph.null = [
      { id: 'pre_deployment_start', type: 'stage' },
      { id: 'post_deployment_end', type: 'stage' },
    ];
    const extra: Record<string, unknown> = { time: stamp(whole(t0)), name: r % 5 === 0 ? 'provision' : 'deployment' };
    if (r % 11 === 3) extra.dry_run = true;
    const previous = runsByCluster.get(cluster.id);
    if (previous && r % 4 === 2) {
      extra.parent_task_uuid = previous;
      parents[uuid] = previous;
    }
    runsByCluster.set(cluster.id, uuid);
    casts.push(start(uuid, cluster, graph, extra));
    casts.push(runStatus(uuid, 'running', { progress: 0, time: stamp(whole(t0 + 500)) }));

    const entries: Array<{ t: number; entry: NodeEntry }> = [];
    const rows: Array<[string | null, string]> = [
      ...graph.null.map((x) => [null, x.id] as [null, string]),
      ...graph.master.map((x) => ['master', x.id] as [string, string]),
      ...nodes.flatMap((n) => taskNames.map((t) => [n, t] as [string, string])),
      [nodes[0], `unannounced-${r}`],
    ];
    for (const [node, name] of rows) {
      const uid = node === null ? pick([null, 'null']) : node !== 'master' && rnd() < 0.3 ? Number(node) : node;
      const ts = whole(t0 + 1000 + Math.floor(rnd() * 3_000_000));
      const te = ts + 1000 * (1 + Math.floor(rnd() * 600));
      const add = (status: string, t: number, more: Record<string, unknown> = {}) =>
        entries.push({ t, entry: task(uid, name, status, { time: stamp(t), ...more }) });
      const k = rnd();
      if (k < 0.3) {
        add('running', ts, { custom: { pid: Math.floor(rnd() * 1000) } });
        add('ready', te, { summary: { resources: { changed: Math.floor(rnd() * 9) } } });
      } else if (k < 0.4) {
        add('running', ts);
        add('error', te, { error_msg: `${name} failed on ${node}: exit ${Math.floor(rnd() * 5)}`, summary: { resources: { failed: 1 } } });
      } else if (k < 0.48) {
        add('running', ts);
        add('failed', te, { error_msg: `retry me` });
        add('running', te + 1000, { custom: { attempt: 2 } });
        add('successful', te + 60_000);
      } else if (k < 0.55) {
        add(pick(['ready', 'successful']), te);
      } else if (k < 0.6) {
        add('skipped', ts);
      } else if (k < 0.67) {
        add('running', ts, { custom: { host: `node-${node}` } });
      } else if (k < 0.72) {
        add('running', ts);
        add('ready', te);
        add('error', te, { error_msg: 'same time as ready' });
      } else if (k < 0.77) {
        add('running', ts, { custom: { a: 1 } });
        add('running', ts + 5000, { custom: { a: 2 } });
      } else if (k < 0.82) {
        add('running', ts);
        add('ready', te);
        add('ready', te, { summary: { resources: { changed: 2 } } });
      }
      // else: never reported; closed out when the run ends.
    }
    entries.sort((a, b) => a.t - b.t);
    // One to three entries per cast; some as Fuel 9.x deploy_resp; progress now and then.
    for (let i = 0; i < entries.length;) {
      const n = Math.min(entries.length - i, pick([1, 1, 1, 2, 3]));
      const extraArgs: Record<string, unknown> = rnd() < 0.2 ? { progress: Math.min(99, Math.floor((100 * i) / entries.length)) } : {};
      casts.push(
        resp(
          uuid,
          entries.slice(i, i + n).map((e) => e.entry),
          extraArgs,
          rnd() < 0.3 ? 'deploy_resp' : 'transaction_resp',
        ),
      );
      i += n;
    }
    const tEnd = whole(t0 + 3_700_000);
    const k = rnd();
    if (k < 0.55) casts.push(finish(uuid, 'ready', { time: stamp(tEnd) }));
    else if (k < 0.75) casts.push(finish(uuid, 'error', { time: stamp(tEnd), error: `Deployment failed on node ${nodes[0]}` }));
    else if (k < 0.82) casts.push(finish(uuid, 'stopped', { time: stamp(tEnd), error: 'stopped by the operator' }));
    else if (k < 0.92) {
      // Two final statuses: the later one wins whatever the arrival order.
      casts.push(finish(uuid, 'error', { time: stamp(tEnd), error: 'first verdict' }));
      casts.push(finish(uuid, 'ready', { time: stamp(tEnd + 5000) }));
    }
    // else: the run never ends.
    r++;
  }
  return { casts: casts.slice(0, target), parents };
}

/** The uuid a cast belongs to. */
export const castUuid = (c: Cast) => String(c.args.task_uuid);

/**
 * The casts in a shuffled order with `dupRate` of them sent twice, keeping only what causality
 * requires of any orchestrator: a run's start before its reports, a parent run's start before its
 * child's.
 */
export function shuffleWithDuplicates(casts: Cast[], dupRate: number, seed: number, parents: Record<string, string> = {}): Cast[] {
  const rnd = prng(seed);
  const out = [...casts];
  const dups = Math.round(casts.length * dupRate);
  for (let i = 0; i < dups; i++) out.push(casts[Math.floor(rnd() * casts.length)]);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  const swap = (a: number, b: number) => ([out[a], out[b]] = [out[b], out[a]]);
  for (let round = 0; ; round++) {
    if (round > 10_000) throw new Error('could not order the shuffled casts');
    const first = new Map<string, number>();
    const firstStart = new Map<string, number>();
    out.forEach((c, i) => {
      const u = castUuid(c);
      if (!first.has(u)) first.set(u, i);
      if (c.method === 'transaction_start' && !firstStart.has(u)) firstStart.set(u, i);
    });
    let changed = false;
    for (const [u, i] of first) {
      const s = firstStart.get(u)!;
      if (i < s) {
        swap(i, s);
        changed = true;
        break;
      }
    }
    if (!changed) {
      for (const [child, parent] of Object.entries(parents)) {
        const c = firstStart.get(child);
        const p = firstStart.get(parent);
        if (c !== undefined && p !== undefined && c < p) {
          swap(c, p);
          changed = true;
          break;
        }
      }
    }
    if (!changed) return out;
  }
}
