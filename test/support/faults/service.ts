import { ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { useBroker } from '../broker-lock';
import { AMQP_URL, waitFor } from '../services';
import { freePort } from '../services';

/**
 * The built service (`node dist/src/main.js`, as `npm start` runs it) as a separate process, so that
 * a test can kill it: SIGKILL (a crash) or SIGTERM (a clean stop). Its output is kept for assertions.
 */
const ROOT = join(__dirname, '../../..');
const DIST = join(ROOT, 'dist');

let snapshot: Promise<string> | null = null;
let snapshotDir: string | null = null;

/**
 * A private copy of dist/ (with package.json, and node_modules linked), taken once per test file:
 * other sessions rebuild dist/ (`nest build` deletes it first) while these tests restart the service
 * again and again. The copy is checked by loading its module graph; a copy caught in the middle of
 * someone's build is taken again.
 */
export function builtService(): Promise<string> {
  snapshot ??= (async () => {
    let last = '';
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 1000))) {
      if (!existsSync(join(DIST, 'src/main.js'))) {
        last = `${DIST}/src/main.js is missing: run \`npm run build\` first`;
        continue;
      }
      const dir = mkdtempSync(join(tmpdir(), 'dh-faults-'));
      try {
        cpSync(DIST, join(dir, 'dist'), { recursive: true });
        cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
        symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
        const main = join(dir, 'dist/src/main.js');
        await promisify(execFile)(process.execPath, ['-e', `require(${JSON.stringify(join(dir, 'dist/src/app.module.js'))})`], {
          cwd: dir,
          timeout: 30_000,
        });
        snapshotDir = dir;
        return main;
      } catch (e) {
        last = `the build in ${DIST} does not load (being rebuilt?): ${e instanceof Error ? e.message.slice(0, 500) : String(e)}`;
        rmSync(dir, { recursive: true, force: true });
      }
    }
    throw new Error(last);
  })();
  return snapshot;
}

/** Removes the copy of dist/ (afterAll). */
export function removeBuiltService(): void {
  if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
  snapshotDir = null;
  snapshot = null;
}

export interface ServiceOptions {
  databaseUrl: string;
  exchange: string;
  queue: string;
  /** More settings (BATCH_MAX_SIZE, AMQP_PREFETCH, LOG_LEVEL...). */
  env?: Record<string, string>;
  /** Shown in failure messages. */
  name?: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const running = new Set<ServiceProcess>();

export class ServiceProcess {
  private out = '';
  readonly exited: Promise<Exit>;
  exit: Exit | null = null;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly name: string,
  ) {
    child.stdout!.on('data', (d) => (this.out += d));
    child.stderr!.on('data', (d) => (this.out += d));
    this.exited = new Promise<Exit>((resolve) =>
      child.on('exit', (code, signal) => {
        running.delete(this);
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
    running.add(this);
  }

  /** Spawns the service and waits until it is ready (database and broker) and consuming. */
  static async start(opts: ServiceOptions, timeoutMs = 30000): Promise<ServiceProcess> {
    await useBroker();
    const main = await builtService();
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of Object.keys(env)) if (/^(AMQP_|AUTH_|BATCH_|RETENTION_|EMBEDDED_PG_|DEAD_LETTER_|LOG_FORMAT$)/.test(k)) delete env[k];
    Object.assign(env, {
      DATABASE_URL: opts.databaseUrl,
      AMQP_URL,
      AMQP_EXCHANGE: opts.exchange,
      AMQP_QUEUE: opts.queue,
      AMQP_ROUTING_KEY: 'nailgun',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'log',
      ...opts.env,
    });
    // The working directory (the copy) holds no .env that would override these settings.
    const child = spawn(process.execPath, [main], { env, cwd: join(main, '../../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new ServiceProcess(child, port, opts.name ?? `service on ${opts.queue}`);
    await p.ready(timeoutMs);
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  output(): string {
    return this.out;
  }

  /** The length of the output so far, to look only at what is logged after some point. */
  mark(): number {
    return this.out.length;
  }

  /** Output lines logged at warn level or above (JSON logs, or Nest's console format), for assertions. */
  problems(since = 0): string[] {
    return this.out
      .slice(since)
      .split('\n')
      .filter((l) => {
        if (l.startsWith('{')) {
          try {
            const level = (JSON.parse(l) as { level?: unknown }).level;
            return typeof level === 'number' ? level >= 40 : /^(warn|error|fatal)$/i.test(String(level));
          } catch {
            // not a JSON line
          }
        }
        return /\b(WARN|ERROR|FATAL)\b/.test(l);
      });
  }

  /** Waits until /health/ready answers 200 and the consumer is set up; fails fast if the process exits. */
  async ready(timeoutMs = 30000): Promise<void> {
    const ok = waitFor(
      async () => (await this.fetch('/health/ready').catch(() => null))?.status === 200 && /consuming queue/.test(this.out),
      `${this.name} to be ready`,
      timeoutMs,
    );
    const died = this.exited.then((e) =>
      Promise.reject(new Error(`${this.name} exited (${e.code ?? e.signal}) while starting:\n${this.out.slice(-4000)}`)),
    );
    await Promise.race([ok, died]);
    died.catch(() => undefined);
  }

  /**
   * A request to the service that cannot hang a test: it fails after `timeoutMs` naming the request
   * (a service whose event loop is stuck would otherwise leave the test to jest's timeout, which says
   * nothing of where it was).
   */
  async fetch(path: string, init: RequestInit = {}, timeoutMs = 10_000): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      const what = e instanceof Error && e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(e);
      throw new Error(`${init.method ?? 'GET'} ${path} on ${this.name}: ${what}`, { cause: e });
    }
  }

  async get(path: string): Promise<any> {
    const r = await this.fetch(path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
    return r.json();
  }

  /**
   * A read of the REST API (the clusters list): as every read does first (PlansMaterialized), the runs' tasks
   * not yet reported are stored as pending rows. Before a check by SQL of the whole history.
   */
  async materialize(): Promise<void> {
    await this.get('/api/v1/clusters');
  }

  stats(): Promise<{
    casts: number;
    applied: number;
    duplicates: number;
    dead_lettered: number;
    batched_casts: number;
    batch_retries: number;
    batches: number;
  }> {
    return this.get('/api/v1/receiver/stats');
  }

  kill(signal: NodeJS.Signals): void {
    if (this.exit === null) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 15000): Promise<Exit> {
    if (this.exit) return this.exit;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** For afterAll: no process of this file outlives it. */
export async function killAllServices(): Promise<void> {
  await Promise.all([...running].map((p) => (p.kill('SIGKILL'), p.exited)));
}
