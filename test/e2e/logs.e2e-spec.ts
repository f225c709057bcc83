import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resp, SMALL_GRAPH, start } from '../support/casts';
import { createTestDatabase } from '../support/database';
import { builtService, removeBuiltService } from '../support/faults/service';
import { freePort, waitFor } from '../support/services';

/**
 * The built service's log as the person or the program reading it needs it: on a terminal, readable
 * lines with colours (one per event; a request as `GET /path 200 3ms`); through a pipe or with
 * LOG_FORMAT=json, JSON lines that programs parse. Either way no credential reaches the log: neither a
 * `Proxy-Authorization` header nor the value of a token-like query parameter.
 */
const ANSI = /\u001b\[[0-9;]*m/g;
const SECRETS = ['Basic cHJveHk6c2VjcmV0', 'secret-one', 'secret-two', 'bearer-secret-0123456789', 'fuel-secret-0123456789'];

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<number | null>;
  url: string;
}

const running = new Set<Run>();

/** The built service, its standard output a pipe or (tty) a terminal: `script` gives it a pseudo-terminal. */
async function startService(databaseUrl: string, o: { tty: boolean; env?: Record<string, string> }): Promise<Run> {
  const main = await builtService();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^(AMQP_|AUTH_|EMBEDDED_PG_|LOG_|CI$|NO_COLOR$|FORCE_COLOR$)/.test(k)) delete env[k];
  Object.assign(env, { DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'log', ...o.env });
  const cwd = join(main, '../../..');
  const child = o.tty
    ? // `exec`: the service is script's own child, to be stopped by its pid as the service itself.
      spawn('script', ['-qfec', `exec '${process.execPath}' '${main}'`, '/dev/null'], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [main], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const scriptChild = () => Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
  const servicePid = () => (o.tty ? scriptChild() : child.pid!);
  const run: Run = {
    child,
    output: () => out,
    exited,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) {
        try {
          process.kill(servicePid(), 'SIGTERM');
        } catch {
          child.kill('SIGKILL');
        }
      }
      running.delete(run);
      return exited;
    },
  };
  running.add(run);
  await Promise.race([
    waitFor(async () => (await fetch(`${run.url}/health/ready`).catch(() => null))?.status === 200, 'the service to be ready', 30000),
    exited.then((code) => Promise.reject(new Error(`the service exited with ${code}:\n${out}`))),
  ]);
  return run;
}

/** The first line of the service's output that `match` takes, once it is there. */
const logLine = (run: Run, match: (line: string) => boolean, what: string) => waitFor(() => run.output().split('\n').find(match), what);

/** A request carrying every kind of credential a client might send: in headers, and in the query string. */
async function requestWithSecrets(run: Run): Promise<void> {
  await fetch(`${run.url}/api/v1/transactions/?token=secret-one&access_token=secret-two`, {
    headers: { 'Proxy-Authorization': SECRETS[0], Authorization: `Bearer ${SECRETS[3]}`, 'X-Auth-Token': SECRETS[4] },
  });
}

describe('the log', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('dh_logs');
  });
  afterAll(async () => {
    await Promise.all([...running].map((r) => r.stop()));
    removeBuiltService();
    await db?.drop();
  });

  it('is JSON lines through a pipe, and logs a request without its credentials', async () => {
    const run = await startService(db.url, { tty: false });
    await requestWithSecrets(run);
    const line = await logLine(run, (l) => l.includes('"url":"/api/v1/transactions/?'), 'the request to be logged');
    expect(await run.stop()).toBe(0);
    const lines = run
      .output()
      .split('\n')
      .filter((l) => l.trim());
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    const { req } = JSON.parse(line) as { req: { url: string; query: Record<string, string>; headers: Record<string, string> } };
    expect(req.url).toBe('/api/v1/transactions/?token=[redacted]&access_token=[redacted]');
    expect(req.query).toEqual({ token: '[redacted]', access_token: '[redacted]' });
    expect(req.headers).toMatchObject({ 'proxy-authorization': '[redacted]', authorization: '[redacted]', 'x-auth-token': '[redacted]' });
    for (const secret of SECRETS) expect(run.output()).not.toContain(secret);
  });

  it('logs a POST /casts served in front of the framework: its id, method, path, status and time, no token', async () => {
    const run = await startService(db.url, { tty: false, env: { AUTH_ADMIN_TOKENS: SECRETS[3] } });
    const res = await fetch(`${run.url}/api/v1/casts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${SECRETS[3]}`, 'X-Request-Id': 'fast-log-1' },
      body: JSON.stringify({ method: 'transaction_resp', args: { task_uuid: 'fast-log-nobody', nodes: [] } }),
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('etag')).toBeNull(); // the fast path's answer (receiver/casts-fast-path.ts), not Express's
    const line = await logLine(run, (l) => l.includes('"id":"fast-log-1"') && l.includes('"statusCode"'), 'the request to be logged');
    expect(await run.stop()).toBe(0);
    expect(JSON.parse(line)).toMatchObject({
      level: 40, // a 4xx is a warning, as pino-http logs it
      req: { id: 'fast-log-1', method: 'POST', url: '/api/v1/casts' },
      res: { statusCode: 404 },
      responseTime: expect.any(Number),
      msg: 'request completed',
    });
    for (const secret of SECRETS) expect(run.output()).not.toContain(secret);
  });

  it('gives what is logged while a POST /casts is served in front of the framework the request’s id', async () => {
    const run = await startService(db.url, { tty: false });
    const post = (body: unknown, id: string) =>
      fetch(`${run.url}/api/v1/casts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Request-Id': id },
        body: JSON.stringify(body),
      });
    expect((await post(start('fast-log-run', { id: 1, release: 'mitaka-9.0' }, SMALL_GRAPH), 'fast-log-start')).status).toBe(200);
    // A progress out of range is skipped, with a warning (CastsService), logged while the request is served.
    const res = await post(resp('fast-log-run', [], { progress: 500 }), 'fast-log-skip');
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBeNull(); // the fast path's answer (receiver/casts-fast-path.ts), not Express's
    const line = await logLine(run, (l) => l.includes('progress skipped'), 'the skipped entry to be logged');
    expect(await run.stop()).toBe(0);
    expect(JSON.parse(line)).toMatchObject({ level: 40, req: { id: 'fast-log-skip', method: 'POST', url: '/api/v1/casts' } });
  });

  it('is readable on a terminal: one line per event, coloured, a request as `GET /path 200 3ms`, no credentials', async () => {
    const run = await startService(db.url, { tty: true });
    await requestWithSecrets(run);
    await fetch(`${run.url}/api/v1/transactions/987654`);
    const request = /^\d\d:\d\d:\d\d\.\d{3} WARN +GET \/api\/v1\/transactions\/987654 404 \d+ms req=[\w-]+$/;
    await waitFor(
      () =>
        run
          .output()
          .replace(ANSI, '')
          .split(/\r?\n/)
          .some((l) => request.test(l)),
      'the request to be logged',
    );
    expect(await run.stop()).toBe(0);
    const lines = run
      .output()
      .split(/\r?\n/)
      .filter((l) => l.trim());
    expect(run.output()).toMatch(ANSI);
    const plain = lines.map((l) => l.replace(ANSI, ''));
    expect(plain.filter((l) => l.startsWith('{'))).toEqual([]);
    // Every line is an event: time, level, then what happened.
    for (const l of plain) expect(l).toMatch(/^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /);
    const listening = /^\d\d:\d\d:\d\d\.\d{3} INFO +\[Main\] deployment-history listening on http:\/\/127\.0\.0\.1:\d+ /;
    expect(plain).toContainEqual(expect.stringMatching(listening));
    expect(plain).toContainEqual(
      expect.stringMatching(/ GET \/api\/v1\/transactions\/\?token=\[redacted\]&access_token=\[redacted\] \d{3} \d+ms req=[\w-]+$/),
    );
    for (const secret of SECRETS) expect(run.output()).not.toContain(secret);
  });

  it('stays JSON on a terminal with LOG_FORMAT=json', async () => {
    const run = await startService(db.url, { tty: true, env: { LOG_FORMAT: 'json' } });
    await requestWithSecrets(run);
    await waitFor(() => run.output().includes('"url":"/api/v1/transactions/?'), 'the request to be logged');
    expect(await run.stop()).toBe(0);
    const lines = run
      .output()
      .split(/\r?\n/)
      .filter((l) => l.trim());
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) expect(JSON.parse(l)).toEqual(expect.objectContaining({ level: expect.any(Number), time: expect.any(Number) }));
    for (const secret of SECRETS) expect(run.output()).not.toContain(secret);
  });
});
