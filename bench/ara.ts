import { readdirSync, readFileSync } from 'node:fs';
import { cpuSample } from './ingest';
import { JsonClient } from './json-client';
import { log, processCpuSeconds, round } from './util';
import { Run, runStartMs, taskName } from './workload';

/**
 * The same runs sent to an ARA server (https://ara.recordsansible.org) the way its Ansible callback
 * sends them: per run a playbook, its file, a play, its hosts; per task a task, then one result per
 * node, one result per request; then the task, the play and the playbook closed. `clients` runs at once,
 * as ARA is measured with 8. Never fails the benchmark: an unreachable server is said in the results.
 */

export type AraResult =
  | { url: string; reachable: false; reason: string }
  | {
      url: string;
      reachable: true;
      clients: number;
      runs: number;
      results: number;
      requests: number;
      seconds: number;
      results_per_s: number;
      /** CPU per result, µs: the ARA server's processes (found by their command line) and PostgreSQL (all of the machine's). */
      ara_us_per_result: number | null;
      postgres_us_per_result: number | null;
    };

export async function araIngest(url: string, runs: Run[], clients: number): Promise<AraResult> {
  const base = url.replace(/\/+$/, '');
  const unreachable = await reachable(base);
  if (unreachable) return { url, reachable: false, reason: unreachable };
  let requests = 0;
  // The same client as ours (http.ts): its CPU is not ARA's either.
  const client = new JsonClient(base, clients);
  const call: Call = async (method, path, body) => {
    requests++;
    const { status, text } = await client.request(method, `/api/v1/${path}`, body);
    if (status < 200 || status > 299) throw new Error(`ARA ${method} /api/v1/${path}: ${status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as { id: number };
  };
  const before = { pg: cpuSample(undefined)?.postgres, ara: araCpu() };
  const started = process.hrtime.bigint();
  const counts = await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let n = 0;
      for (let i = c; i < runs.length; i += clients) n += await sendRun(call, runs[i], i);
      return n;
    }),
  ).finally(() => client.close());
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const results = counts.reduce((a, b) => a + b, 0);
  const pgAfter = cpuSample(undefined)?.postgres;
  const araAfter = araCpu();
  const perResult = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || results === 0 ? null : Math.round(((b - a) / results) * 1e6);
  const out: AraResult = {
    url,
    reachable: true,
    clients,
    runs: runs.length,
    results,
    requests,
    seconds: round(seconds),
    results_per_s: Math.round(results / seconds),
    ara_us_per_result: araAfter === 0 ? null : perResult(before.ara, araAfter),
    postgres_us_per_result: perResult(before.pg, pgAfter),
  };
  log(
    `ARA (${url}): ${results} results in ${requests} requests, ${clients} clients: ${out.results_per_s} results/s; ARA ${out.ara_us_per_result} µs, PostgreSQL ${out.postgres_us_per_result} µs CPU per result`,
  );
  return out;
}

/** Why ARA cannot be used at `base`, or undefined when its API answers. */
async function reachable(base: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${base}/api/v1/playbooks?limit=1`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? undefined : `GET /api/v1/playbooks answered ${res.status}`;
  } catch (e) {
    if (!(e instanceof Error)) return String(e);
    return e.cause instanceof Error ? `${e.message} (${e.cause.message})` : e.message;
  }
}

type Call = (method: 'POST' | 'PATCH', path: string, body: Record<string, unknown>) => Promise<{ id: number }>;

/** One run as ARA's callback records a playbook: answers how many results it sent. */
async function sendRun(call: Call, run: Run, index: number): Promise<number> {
  const at = (s: number) => new Date(runStartMs(index) + s * 1000).toISOString();
  const path = `/bench/${run.uuid}.yml`;
  const playbook = await call('POST', 'playbooks', {
    ansible_version: '2.9.27',
    arguments: {},
    status: 'running',
    path,
    controller: 'bench',
    started: at(0),
  });
  const file = await call('POST', 'files', { playbook: playbook.id, path, content: `- hosts: all\n  # ${run.uuid}\n` });
  const play = await call('POST', 'plays', {
    name: run.uuid,
    status: 'running',
    uuid: crypto.randomUUID(),
    playbook: playbook.id,
    started: at(0),
  });
  const hosts: number[] = [];
  for (let n = 1; n <= run.nodes; n++) hosts.push((await call('POST', 'hosts', { name: `node-${n}`, playbook: playbook.id })).id);
  let results = 0;
  for (let t = 0; t < run.tasks; t++) {
    const task = await call('POST', 'tasks', {
      name: taskName(t),
      status: 'running',
      action: 'puppet',
      play: play.id,
      playbook: playbook.id,
      file: file.id,
      tags: [],
      lineno: t + 1,
      handler: false,
      started: at(t),
    });
    for (let n = 1; n <= run.nodes; n++) {
      const final = run.finals[(n - 1) * run.tasks + t];
      await call('POST', 'results', {
        playbook: playbook.id,
        task: task.id,
        host: hosts[n - 1],
        play: play.id,
        content: final === 'error' ? { msg: `Task ${taskName(t)} failed on node node-${n}` } : {},
        status: final === 'ready' ? 'ok' : final === 'error' ? 'failed' : 'skipped',
        started: at(t),
        ended: at(t + 1),
        changed: final === 'ready',
        ignore_errors: false,
      });
      results++;
    }
    await call('PATCH', `tasks/${task.id}`, { status: 'completed', ended: at(t + 1) });
  }
  await call('PATCH', `plays/${play.id}`, { status: 'completed', ended: at(run.tasks) });
  await call('PATCH', `playbooks/${playbook.id}`, { status: run.finals.includes('error') ? 'failed' : 'completed', ended: at(run.tasks) });
  return results;
}

/** CPU seconds of this machine's ARA server processes (a command line naming ara's server or ara-manage); 0 when none is local. */
function araCpu(): number {
  let s = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!/ara\.server|ara-manage/.test(cmd)) continue;
      s += processCpuSeconds(pid);
    } catch {
      /* the process ended meanwhile */
    }
  }
  return s;
}
