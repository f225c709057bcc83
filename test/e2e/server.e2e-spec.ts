import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { start } from '../support/casts';
import { freePort, waitFor } from '../support/services';

/**
 * The built service as `npm start` runs it (dist/, built by `pretest`): with no DATABASE_URL it runs
 * on the embedded PostgreSQL and keeps its data between starts; a bad setting stops it at boot with
 * a clear message; Swagger documents every schema (the CLI plugin runs in the build).
 */
const MAIN = join(__dirname, '../../dist/src/main.js');

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

function run(env: Record<string, string>): Proc {
  const clean = { ...process.env };
  for (const k of ['DATABASE_URL', 'AMQP_URL', 'AMQP_EXCHANGE', 'AMQP_QUEUE', 'AMQP_ROUTING_KEY', 'PORT']) delete clean[k];
  const child = spawn(process.execPath, [MAIN], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return { child, output: () => out, exited };
}

async function stop(p: Proc): Promise<number | null> {
  if (p.child.exitCode === null) p.child.kill('SIGTERM');
  return p.exited;
}

describe('the built service', () => {
  const dirs: string[] = [];
  afterAll(() => {
    running.forEach((c) => c.kill('SIGKILL'));
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  it('has been built', () => {
    expect(existsSync(MAIN)).toBe(true);
  });

  it('refuses to start on a bad setting, naming every bad variable', async () => {
    const p = run({ PORT: 'eighty', DATABASE_URL: 'mysql://x@y/z', AMQP_PREFETCH: '0' });
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/Invalid configuration/);
    expect(p.output()).toMatch(/PORT must be an integer between 0 and 65535 \(got 'eighty'\)/);
    expect(p.output()).toMatch(/DATABASE_URL must be a postgres or postgresql URL/);
    expect(p.output()).toMatch(/AMQP_PREFETCH must be an integer between 1 and 65535/);
  });

  it('runs on the embedded PostgreSQL without DATABASE_URL, and keeps its data between starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dh-embedded-'));
    chmodSync(dir, 0o755); // as root, PostgreSQL runs as 'postgres' and must reach the folder
    dirs.push(dir);
    // As root, a checkout closed to user 'postgres' (made by `mktemp -d`: 0700) has its PostgreSQL binaries
    // copied into EMBEDDED_PG_STATE_DIR: kept inside the test's folder, never /var/lib.
    const env = {
      EMBEDDED_PG_DIR: join(dir, 'pg'),
      EMBEDDED_PG_STATE_DIR: join(dir, 'state'),
      EMBEDDED_PG_PORT: String(await freePort()),
      PORT: String(await freePort()),
      LOG_LEVEL: 'log',
    };
    const base = `http://127.0.0.1:${env.PORT}`;
    const ready = (p: Proc) =>
      Promise.race([
        waitFor(async () => (await fetch(`${base}/health/ready`).catch(() => null))?.status === 200, 'the service to be ready', 60000),
        p.exited.then((code) => Promise.reject(new Error(`the service exited with ${code}:\n${p.output()}`))),
      ]);

    const first = run(env);
    try {
      await ready(first);
      expect(first.output()).toMatch(/starting the embedded PostgreSQL/);
      expect(first.output()).toMatch(/RabbitMQ consumer is off/);
      const posted = await fetch(`${base}/api/v1/casts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(
          start('kept-uuid', { id: 5, name: 'kept', release: 'mitaka-9.0' }, { '1': [{ id: 'netconfig', type: 'puppet' }] }),
        ),
      });
      expect(posted.status).toBe(200);

      const doc = (await (await fetch(`${base}/api/docs-json`)).json()) as any;
      // Properties come from the Swagger CLI plugin, which runs in the build.
      expect(Object.keys(doc.components.schemas.TransactionDto.properties)).toEqual(
        expect.arrayContaining([
          'id',
          'cluster',
          'uuid',
          'name',
          'status',
          'progress',
          'message',
          'dry_run',
          'graph_type',
          'time_start',
          'time_end',
          'parent_id',
        ]),
      );
      expect(Object.keys(doc.components.schemas.HistoryRowDto.properties)).toEqual(
        expect.arrayContaining(['task_name', 'node_id', 'status', 'type', 'time_start', 'time_end']),
      );
      expect(doc.components.schemas.VersionDto.properties.auth_required).toBeDefined();
      // fuel2's Keystone login (the plugin once failed the whole document on a property typed `null`).
      expect(doc.components.schemas.KeystoneTokensRequestDto.properties.auth).toBeDefined();
      expect(doc.components.schemas.KeystoneTenantDto.properties.description).toMatchObject({ nullable: true });
      expect(Object.keys(doc.components.schemas.ClusterDto.properties)).toEqual(
        expect.arrayContaining([
          'id',
          'name',
          'status',
          'release_id',
          'fuel_version',
          'is_customized',
          'changes',
          'release',
          'history_enabled',
        ]),
      );
      expect(Object.keys(doc.components.schemas.ReleaseDto.properties)).toEqual(expect.arrayContaining(['id', 'name', 'version', 'state']));
      const params = doc.paths['/api/v1/transactions/{transaction_id}/deployment_history'].get.parameters.map(
        (p: { name: string }) => p.name,
      );
      expect(params).toEqual(expect.arrayContaining(['transaction_id', 'nodes', 'statuses', 'tasks_names', 'include_summary']));
      const txParams = doc.paths['/api/v1/transactions'].get.parameters.map((p: { name: string }) => p.name);
      expect(txParams).toEqual(expect.arrayContaining(['cluster_id', 'statuses', 'transaction_types']));
    } finally {
      // A clean stop on SIGTERM exits 0 (the embedded PostgreSQL's own signal handler made it 143).
      expect(await stop(first)).toBe(0);
    }

    const second = run(env);
    try {
      await ready(second);
      const list = (await (await fetch(`${base}/api/transactions/`)).json()) as Array<{ uuid: string }>;
      expect(list.map((x) => x.uuid)).toEqual(['kept-uuid']);
    } finally {
      expect(await stop(second)).toBe(0);
    }
  }, 150000);
});
