import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClientRequest, IncomingMessage, request as httpRequest } from 'node:http';
import { startApp, TestApp } from '../support/app';
import { listen } from '../support/app-hooks';
import { finish, Graph, resp, start, task } from '../support/casts';
import { createTestDatabase } from '../support/database';
import { OwnService, startOwnService } from '../support/faults/own-service';
import type { ServiceProcess } from '../support/faults/service';
import { freePort, waitFor } from '../support/services';
import { parseEvents, SseEvent } from '../support/sse';

/**
 * The live stream under load, with its limits and its shutdown (issue #11): one refresh per run shared
 * by every subscriber, the first snapshot in pages, slow clients held to a bounded buffer (their
 * missed changes coalesced), at most N streams in all and per token (429), and on SIGTERM a final
 * `shutdown` event, every stream ended and the process gone with exit code 0 within 10 s.
 *
 * The load runs against the built service as a separate process, so that its RSS is its own.
 */
jest.setTimeout(180_000);

const READ_TOKENS = ['live-read-token-0000000000a', 'live-read-token-0000000000b', 'live-read-token-0000000000c'];
const ADMIN_TOKEN = 'live-admin-token-000000000z';
const auth = (token: string) => ({ Authorization: `Bearer ${token}` });

type Event = SseEvent;

type Mode = 'parse' | 'count' | 'stall';

/**
 * One client of the stream: `parse` keeps its events, `count` reads and drops the bytes, `stall`
 * never reads (its response is paused, so the socket's buffers fill on both sides) until `resume()`.
 */
class Client {
  status?: number;
  body?: string;
  bytes = 0;
  ended = false;
  readonly events: Event[] = [];
  private res?: IncomingMessage;
  private readonly req: ClientRequest;

  constructor(
    port: number,
    path: string,
    headers: Record<string, string>,
    readonly mode: Mode,
  ) {
    this.req = httpRequest({ host: '127.0.0.1', port, path, agent: false, headers: { Accept: 'text/event-stream', ...headers } }, (r) => {
      this.res = r;
      this.status = r.statusCode;
      r.on('end', () => (this.ended = true));
      r.on('error', () => undefined);
      if (r.statusCode !== 200) {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (text += c));
        r.on('end', () => (this.body = text));
      } else if (mode === 'parse') parseEvents(r, this.events);
      else if (mode === 'count') r.on('data', (c: Buffer) => (this.bytes += c.length));
      else r.pause();
    });
    this.req.on('error', () => undefined);
    this.req.end();
  }

  /** A stalled client starts reading, from the first byte it was sent. */
  resume(): void {
    if (this.mode !== 'stall' || !this.res) throw new Error('not a stalled client with a response');
    parseEvents(this.res, this.events);
    this.res.resume();
  }

  close(): void {
    this.req.destroy();
  }

  /** Every row received (by node and task), the later events over the earlier ones. */
  rows(): Map<string, string> {
    const rows = new Map<string, string>();
    for (const e of this.events) if (e.type === 'rows') for (const r of e.data) rows.set(`${r.node_id}/${r.task_name}`, r.status);
    return rows;
  }
}

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
/** The service's RSS once it has collected its garbage (see test/support/gc-trigger.js). */
async function collectedRssKb(svc: ServiceProcess): Promise<number> {
  const done = (svc.output().match(/full gc \d+ done/g) ?? []).length;
  svc.kill('SIGWINCH');
  await waitFor(() => (svc.output().match(/full gc \d+ done/g) ?? []).length > done, 'a full garbage collection in the service');
  return rssKb(svc.child.pid!);
}
const mb = (kb: number) => Math.round(kb / 1024);

function p95(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
}

const taskName = (i: number) => `task-${String(i).padStart(3, '0')}`;

/** 200 nodes × 150 tasks: a 30,000-row run. */
function bigGraph(): Graph {
  const graph: Graph = {};
  for (let n = 1; n <= 200; n++) graph[String(n)] = Array.from({ length: 150 }, (_, i) => ({ id: taskName(i), type: 'puppet' }));
  return graph;
}

describe('live stream: load, back-pressure, limits, shutdown (service process)', () => {
  let own: OwnService | undefined;
  let svc: ServiceProcess;
  let runId: number;
  const clients: Client[] = [];

  const post = async (body: unknown) => {
    const headers = { 'content-type': 'application/json', ...auth(ADMIN_TOKEN) };
    const r = await fetch(`${svc.url}/api/v1/casts`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (r.status !== 200) throw new Error(`POST /casts: ${r.status} ${await r.text()}`);
    return (await r.json()) as any;
  };
  const getJson = async (path: string) => {
    const r = await fetch(`${svc.url}${path}`, { headers: auth(READ_TOKENS[0]) });
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as any;
  };
  const open = (mode: Mode, token: string, query = '') => {
    const c = new Client(svc.port, `/api/v1/transactions/${runId}/deployment_history/stream${query}`, auth(token), mode);
    clients.push(c);
    return c;
  };
  /** The run's whole list, as node/task → status. */
  const expected = async () => {
    type Row = { node_id: string; task_name: string; status: string };
    const list: Row[] = await getJson(`/api/v1/transactions/${runId}/deployment_history`);
    return new Map(list.map((r) => [`${r.node_id}/${r.task_name}`, r.status]));
  };

  beforeAll(async () => {
    own = await startOwnService('dh_live', {
      name: 'live service',
      env: {
        AUTH_READ_TOKENS: READ_TOKENS.join(','),
        AUTH_ADMIN_TOKENS: ADMIN_TOKEN,
        NODE_OPTIONS: `--expose-gc --require ${join(__dirname, '../support/gc-trigger.js')}`,
      },
    });
    svc = own.svc;
    const started = Date.now();
    [{ transaction_id: runId }] = await post(start('live-30k', { id: 30, name: 'big', release: 'mitaka-9.0' }, bigGraph()));
    console.log(`30,000-row run ${runId} started in ${Date.now() - started} ms`);
  }, 120_000);

  afterAll(async () => {
    clients.forEach((c) => c.close());
    await own?.remove();
  });

  it('300 clients on a running 30,000-row run, half never reading, while rows change: others answered, memory bounded', async () => {
    const pid = svc.child.pid!;
    // The start level: once the service has served a few streams (its code compiled, its allocator's
    // pools made), as it stands between uses.
    const warm = [open('parse', READ_TOKENS[0]), ...Array.from({ length: 10 }, (_, i) => open(i % 2 ? 'stall' : 'count', READ_TOKENS[0]))];
    const whole = (c: Client) => c.rows().size === 30_000 && c.events.some((e) => e.type === 'transaction');
    await waitFor(() => whole(warm[0]), 'a first client to get the whole run', 60_000);
    await post(resp('live-30k', [task('200', 'task-149', 'running')]));
    await waitFor(() => warm[0].rows().get('200/task-149') === 'running', 'a first change');
    warm.forEach((c) => c.close());
    const before = await collectedRssKb(svc);

    let peak = before;
    let stop = false;
    // Far past the bound, the test stops there rather than take the machine's memory.
    const overflow = () => peak > 2 * 1024 * 1024;
    const sampler = (async () => {
      while (!stop && !overflow()) {
        peak = Math.max(peak, rssKb(pid));
        await new Promise((r) => setTimeout(r, 100));
      }
      if (overflow()) clients.forEach((c) => c.close());
    })();

    const readers: Client[] = [];
    const stalled: Client[] = [];
    for (let i = 0; i < 300; i++) {
      const token = READ_TOKENS[i % 3];
      if (i % 2) stalled.push(open('stall', token));
      else readers.push(open(i < 10 ? 'parse' : 'count', token));
    }
    const parsed = readers.filter((c) => c.mode === 'parse');
    const latencies: number[] = [];
    const figures = () =>
      `GET /clusters p95 ${latencies.length ? Math.round(p95(latencies)) : '-'} ms over ${latencies.length} requests; ` +
      `RSS before ${mb(before)} MB, peak ${mb(peak)} MB, now ${mb(rssKb(pid))} MB; ` +
      `${clients.filter((c) => c.status === 200).length} streams answered`;
    try {
      await waitFor(() => clients.every((c) => c.status !== undefined), 'every client to get an answer', 60_000).catch((e) => {
        throw new Error(`${e.message} (${figures()})`);
      });
      expect(clients.filter((c) => c.status !== 200).map((c) => `${c.status} ${c.body}`)).toEqual([]);

      // Rows change (one node's 150 tasks start, the previous node's end) while another client asks
      // for the clusters, one request at a time.
      const changes = (async () => {
        for (let n = 1; n <= 20; n++) {
          const nodes = Array.from({ length: 150 }, (_, i) => task(String(n), taskName(i), 'running'));
          if (n > 1) nodes.push(...Array.from({ length: 150 }, (_, i) => task(String(n - 1), taskName(i), 'ready')));
          await post(resp('live-30k', nodes));
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      let changing = true;
      void changes.finally(() => (changing = false));
      while (changing || latencies.length < 40) {
        const t0 = performance.now();
        const r = await fetch(`${svc.url}/api/v1/clusters`, { headers: auth(READ_TOKENS[1]), signal: AbortSignal.timeout(15_000) }).catch(
          () => null,
        );
        latencies.push(r?.status === 200 ? performance.now() - t0 : 15_000);
        await r?.arrayBuffer();
        if (overflow()) throw new Error(`service RSS reached ${mb(peak)} MB`);
      }
      await changes;

      // The readers end with the run as it is; so do stalled clients once they read.
      const want = await expected();
      const same = (c: Client) => {
        const got = c.rows();
        return got.size === want.size && [...want].every(([k, v]) => got.get(k) === v);
      };
      await waitFor(() => parsed.every(same), 'the reading clients to have every row as it is now', 60_000);
      for (const e of parsed[0].events.filter((x) => x.type === 'rows')) expect(e.data.length).toBeLessThanOrEqual(1000);
      expect(parsed[0].events.filter((x) => x.type === 'rows').length).toBeGreaterThanOrEqual(30);
      const late = stalled.slice(0, 3);
      late.forEach((c) => c.resume());
      await waitFor(() => late.every(same), 'stalled clients, once reading, to catch up with the run as it is now', 60_000);
    } finally {
      clients.forEach((c) => c.close());
    }

    // After the clients left, the service holds no more than it did before they came: its streams,
    // their feed (kept LINGER_MS after its last client) and their buffers are garbage.
    stop = true;
    await sampler;
    const left = rssKb(pid);
    let after = left;
    const near = async () => (after = await collectedRssKb(svc)) <= before * 1.2;
    await waitFor(near, 'the RSS to come back near its start level', 20_000).catch(() => undefined);

    console.log(
      svc
        .output()
        .match(/full gc \d+ done.*/g)!
        .join('\n'),
    );
    console.log(
      `300 streams (150 never reading): GET /clusters p95 ${Math.round(p95(latencies))} ms over ${latencies.length} requests; ` +
        `RSS before ${mb(before)} MB, peak ${mb(peak)} MB, after the clients left ${mb(left)} MB, after a full GC ${mb(after)} MB`,
    );
    expect(p95(latencies)).toBeLessThan(1000);
    expect(peak).toBeLessThan(500 * 1024);
    expect(after).toBeLessThanOrEqual(before * 1.2);
  });

  it('on SIGTERM, sends every stream a final `shutdown` event, ends it, and exits 0 within 10 s', async () => {
    const readers = [open('parse', READ_TOKENS[0]), open('parse', READ_TOKENS[1])];
    const stalledOne = open('stall', READ_TOKENS[2]);
    const mark = svc.mark();
    const opened = (c: Client) => c.events.some((e) => e.type === 'transaction');
    await waitFor(() => readers.every(opened) && stalledOne.status === 200, 'the streams to be open');
    const t0 = Date.now();
    svc.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([svc.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 15_000)))]);
    clearTimeout(timer);
    const took = Date.now() - t0;
    if (!exit) svc.kill('SIGKILL');
    console.log(`SIGTERM with 3 open streams: exit ${JSON.stringify(exit)} after ${took} ms`);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(10_000);
    await waitFor(() => readers.every((c) => c.ended), 'the streams to end');
    for (const c of readers) expect(c.events[c.events.length - 1]).toMatchObject({ type: 'shutdown' });
    expect(svc.problems(mark)).toEqual([]);
  });
});

describe('live stream limits', () => {
  let t: TestApp;
  let port: number;
  let runId: number;
  const [A, B] = READ_TOKENS;
  const clients: Client[] = [];
  const open = (token: string) => {
    const c = new Client(port, `/api/v1/transactions/${runId}/deployment_history/stream`, auth(token), 'count');
    clients.push(c);
    return c;
  };
  const answered = async (c: Client) => {
    await waitFor(() => c.status !== undefined && (c.status === 200 || c.body !== undefined), 'an answer');
    return c;
  };

  beforeAll(async () => {
    t = await startApp({
      env: { AUTH_READ_TOKENS: `${A},${B}`, AUTH_ADMIN_TOKENS: ADMIN_TOKEN, STREAM_MAX_CLIENTS: '3', STREAM_MAX_PER_TOKEN: '2' },
    });
    port = await listen(t);
    const graph = { '1': [{ id: 'a' }] };
    const cluster = { id: 81, release: 'mitaka-9.0' };
    const started = await t
      .http()
      .post('/api/v1/casts')
      .set(auth(ADMIN_TOKEN))
      .send(start('limits-1', cluster, graph))
      .expect(200);
    runId = started.body[0].transaction_id;
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await t?.close();
  });

  it('allows at most STREAM_MAX_PER_TOKEN streams per token and STREAM_MAX_CLIENTS in all; over it, 429 with a JSON message', async () => {
    const a1 = await answered(open(A));
    await answered(open(A));
    expect(a1.status).toBe(200);
    const a3 = await answered(open(A));
    expect(a3.status).toBe(429);
    expect(JSON.parse(a3.body!)).toEqual({ statusCode: 429, message: expect.stringMatching(/this token.*STREAM_MAX_PER_TOKEN/) });

    expect((await answered(open(B))).status).toBe(200);
    const b2 = await answered(open(B));
    expect(b2.status).toBe(429);
    expect(JSON.parse(b2.body!)).toEqual({ statusCode: 429, message: expect.stringMatching(/STREAM_MAX_CLIENTS/) });

    // A stream that ends gives its place back.
    a1.close();
    await waitFor(async () => (await answered(open(A))).status === 200, 'a place to be given back');
  });
});

describe('dhist --watch across a restart of the service', () => {
  const CLI = join(__dirname, '../../dist/src/cli/main.js');
  let db: { url: string; drop: () => Promise<void> };
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const a of apps) await a.close().catch(() => undefined);
    await db?.drop();
  });

  it('draws a large run once its pages are in, resumes after the `shutdown` event, and ends with every row', async () => {
    db = await createTestDatabase('dh_live_cli');
    const port = await freePort();
    const up = async () => {
      const a = await startApp({ env: { DATABASE_URL: db.url } });
      apps.push(a);
      await a.app.listen(port, '127.0.0.1');
      return a;
    };
    const first = await up();
    // 2,500 rows: the first rows come as three events.
    const graph: Graph = {};
    for (let n = 1; n <= 25; n++) graph[String(n)] = Array.from({ length: 100 }, (_, i) => ({ id: `t${i}` }));
    const cluster = { id: 90, release: 'mitaka-9.0' };
    const started = await first
      .http()
      .post('/api/v1/casts')
      .send(start('cli-restart', cluster, graph))
      .expect(200);
    const id = started.body[0].transaction_id;

    const args = ['--url', `http://127.0.0.1:${port}`, 'task', 'history', 'show', String(id), '--watch', '--interval', '1'];
    args.push('-f', 'value', '-c', 'status');
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await waitFor(() => /watching transaction \d+ \(running/.test(stderr), 'the watcher to follow the run');
      await first
        .http()
        .post('/api/v1/casts')
        .send(resp('cli-restart', [task('1', 't0', 'ready')]))
        .expect(200);

      // The service stops (its streams get `shutdown`) and comes back on the same port and database.
      await first.close();
      apps.splice(apps.indexOf(first), 1);
      const second = await up();
      const ending = [resp('cli-restart', [task('2', 't0', 'ready')]), finish('cli-restart', 'ready')];
      await second.http().post('/api/v1/casts').send(ending).expect(200);
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    const statuses = stdout.trim().split('\n');
    expect(statuses).toHaveLength(2500);
    expect(statuses.filter((x) => x === 'ready')).toHaveLength(2);
    expect(statuses.filter((x) => x === 'skipped')).toHaveLength(2498);
    expect(stderr).toMatch(/transaction \d+ ended ready\n$/);
  });
});
