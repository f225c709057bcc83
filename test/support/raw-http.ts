import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { IncomingHttpHeaders, request } from 'node:http';
import { connect } from 'node:net';

/** An answer as a raw HTTP client saw it: `ms` from the start of the request to the end of the answer. */
export interface RawAnswer {
  status: number;
  ms: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * A POST of `body` (JSON) on a connection of its own, with node:http: supertest and fetch send the
 * whole body before they look at the answer; this client takes an answer that comes while the body
 * is still going out, then stops sending and closes the connection, as curl does. Resolves with
 * status 0 when no answer came within `timeoutMs`. Without a body: a GET.
 */
export function rawRequest(
  port: number,
  path: string,
  opts: { body?: Buffer; headers?: Record<string, string>; timeoutMs?: number },
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const sent = opts.body ? { 'content-type': 'application/json', 'content-length': opts.body.length } : {};
    const headers = { ...sent, ...opts.headers };
    const method = opts.body ? 'POST' : 'GET';
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false });
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      req.destroy();
      resolve({ status: 0, ms: performance.now() - started, headers: {}, text: '' });
    }, opts.timeoutMs ?? 30_000);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        req.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, ms: performance.now() - started, headers: res.headers, text });
      });
    });
    req.on('error', (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(e);
    });
    req.end(opts.body);
  });
}

/** A process's resident memory, from /proc (MB). */
export function rssMb(pid: number): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 0; // the process has exited
  }
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return kb ? Number(kb[1]) / 1024 : 0;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))] ?? NaN;
}

/**
 * The prober of watchService: `GET /health` one after the other on one keep-alive connection, 5 ms
 * apart, until its stdin closes; then prints the latencies (ms, -1 for a failure) as JSON. A process
 * of its own, so that the test's own work (sending 60 MB bodies) does not count in the latencies.
 */
const PROBER = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const port = Number(process.argv[1]);
const latencies = [];
let running = true;
process.stdin.on('end', () => (running = false)).resume();
const probe = () => new Promise((resolve) => {
  const started = performance.now();
  const req = http.get({ host: '127.0.0.1', port, path: '/health', agent }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - started : -1));
  });
  req.on('error', () => resolve(-1));
  req.setTimeout(20000, () => req.destroy());
});
(async () => {
  await probe();
  process.stderr.write('ready\\n');
  while (running) {
    latencies.push(await probe());
    await new Promise((r) => setTimeout(r, 5));
  }
  process.stdout.write(JSON.stringify(latencies));
  agent.destroy();
})();
`;

/**
 * Watches a service while something runs: its `/health` latencies (from a prober process) and its
 * peak RSS (every 10 ms), until `stop()`. Resolves once the prober has had a first answer.
 */
export async function watchService(port: number, pid: number) {
  let peakRssMb = rssMb(pid);
  const rss = setInterval(() => (peakRssMb = Math.max(peakRssMb, rssMb(pid))), 10);
  const prober = spawn(process.execPath, ['-e', PROBER, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  prober.stdout.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    prober.stderr.on('data', (d) => {
      err += d;
      if (err.includes('ready')) resolve();
    });
    prober.on('exit', (code) => reject(new Error(`the /health prober exited (${code}): ${err}`)));
  });
  const exited = new Promise<void>((resolve) => prober.on('exit', () => resolve()));
  const finish = async () => {
    clearInterval(rss);
    prober.stdin.end();
    await exited;
    const latencies = (JSON.parse(out) as number[]).map((ms) => (ms < 0 ? Infinity : ms));
    const p95 = percentile(latencies, 0.95);
    const max = Math.max(...latencies);
    const summary =
      `/health ${latencies.length} probes: p95 ${p95.toFixed(1)} ms, max ${max.toFixed(1)} ms; ` + `peak RSS ${peakRssMb.toFixed(0)} MB`;
    return { latencies, p95, max, peakRssMb, summary };
  };
  let stopped: ReturnType<typeof finish> | undefined;
  /** Stops watching (again: the same figures). */
  return { stop: () => (stopped ??= finish()) };
}

/**
 * On one connection, as a client that does not look at answers before it has sent everything: a POST
 * of `body` sent whole, then `GET nextPath`. Resolves with each answer's status and when it came (ms
 * from the start), once both came (status 0: not within `timeoutMs`).
 */
export function postThenGetOnOneConnection(
  port: number,
  path: string,
  body: Buffer,
  nextPath: string,
  timeoutMs = 20_000,
): Promise<Array<{ status: number; ms: number }>> {
  return new Promise((resolve) => {
    const started = performance.now();
    const answers: Array<{ status: number; ms: number }> = [];
    let text = '';
    const socket = connect(port, '127.0.0.1');
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      while (answers.length < 2) answers.push({ status: 0, ms: performance.now() - started });
      resolve(answers);
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      for (let m; (m = /HTTP\/1\.1 (\d{3}) /.exec(text)); text = text.slice(m.index + m[0].length)) {
        answers.push({ status: Number(m[1]), ms: performance.now() - started });
      }
      if (answers.length >= 2) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body);
    socket.write(`GET ${nextPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}
