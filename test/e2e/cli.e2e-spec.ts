import { ChildProcess, spawn } from 'node:child_process';
import { createServer as createHttpServer, IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { freePort, waitFor } from '../support/services';

/**
 * The built `dhist` binary (dist/, built by `pretest`) against the real service on a real port and a
 * fresh PostgreSQL: every format, the columns, the exit codes, the errors, paging, and --watch.
 */
const CLI = join(__dirname, '../../dist/src/cli/main.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

function spawnCli(
  args: string[],
  env: Record<string, string> = {},
): { child: ChildProcess; result: Promise<Result>; stderr: () => string } {
  const clean = { ...process.env };
  for (const k of ['DHIST_URL', 'DHIST_TOKEN', 'NO_COLOR']) delete clean[k];
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const result = new Promise<Result>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, result, stderr: () => stderr };
}

const at = (day: string, hm: string) => `2026-01-${day}T${hm}:00.000Z`;
const GRAPH = {
  null: [{ id: 'deploy_start', type: 'stage' }],
  master: [{ id: 'upload_configuration', type: 'upload_file' }],
  '1': [
    { id: 'netconfig', type: 'puppet' },
    { id: 'hiera', type: 'puppet' },
  ],
  '2': [
    { id: 'netconfig', type: 'puppet' },
    { id: 'hiera', type: 'puppet' },
  ],
};
const EAST = { id: 1, name: 'cli-east', release: 'mitaka-9.0' };

/** Run cli-a: node 2's netconfig fails, node 1's hiera never finishes, node 2's hiera is not reached. */
const RUN_A = [
  start('cli-a', EAST, GRAPH, { time: at('01', '10:00') }),
  resp('cli-a', [task(null, 'deploy_start', 'ready', { time: at('01', '10:00') })]),
  resp('cli-a', [task('master', 'upload_configuration', 'running', { time: at('01', '10:01') })]),
  resp('cli-a', [task('master', 'upload_configuration', 'ready', { time: at('01', '10:02') })]),
  resp('cli-a', [
    task('1', 'netconfig', 'running', { time: at('01', '10:03') }),
    task('2', 'netconfig', 'running', { time: at('01', '10:03') }),
  ]),
  resp('cli-a', [task('2', 'netconfig', 'error', { time: at('01', '10:04'), error_msg: 'netconfig failed on node-2' })]),
  resp('cli-a', [
    task('1', 'netconfig', 'ready', { time: at('01', '10:05'), summary: { resources: { total: 10 } }, custom: { attempt: 1 } }),
  ]),
  resp('cli-a', [task('1', 'hiera', 'running', { time: at('01', '10:06') })]),
  finish('cli-a', 'error', { error: 'Deployment failed', time: at('01', '10:10') }),
];
/** Run cli-b, the next day: everything ready. */
const RUN_B = [
  start('cli-b', EAST, GRAPH, { time: at('02', '10:00') }),
  ...[
    [null, 'deploy_start', '10:00', '10:00'],
    ['master', 'upload_configuration', '10:01', '10:02'],
    ['1', 'netconfig', '10:03', '10:04'],
    ['2', 'netconfig', '10:03', '10:05'],
    ['1', 'hiera', '10:06', '10:07'],
    ['2', 'hiera', '10:06', '10:08'],
  ].flatMap(([node, name, ts, te]) => [
    resp('cli-b', [task(node, name!, 'running', { time: at('02', ts!) })]),
    resp('cli-b', [task(node, name!, 'ready', { time: at('02', te!) })]),
  ]),
  finish('cli-b', 'ready', { time: at('02', '10:10') }),
];
const RUN_OLD = [start('cli-old', { id: 2, name: 'legacy', release: 'liberty-8.0' }, { '1': [{ id: 'netconfig', type: 'puppet' }] })];
const RUN_RESET = [start('cli-r', { id: 3, name: 'cli-reset', release: 'mitaka-9.0' }, { '1': [{ id: 'netconfig', type: 'puppet' }] })];

describe('dhist, the command-line client', () => {
  let t: TestApp;
  let url: string;
  const ids: Record<string, number> = {};
  const cli = (args: string[], env: Record<string, string> = {}) => spawnCli(['--url', url, ...args], env).result;
  const json = async (args: string[]) => {
    const r = await cli([...args, '-f', 'json']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(r.stdout);
  };
  /** `-c NAME` once per column, as fuel2's (cliff's) column option is given. */
  const columns = (...names: string[]) => names.flatMap((name) => ['-c', name]);
  const post = async (casts: unknown[]) => t.http().post('/api/v1/casts').send(casts).expect(200);

  beforeAll(async () => {
    t = await startApp();
    await t.app.listen(0);
    url = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    for (const casts of [RUN_A, RUN_B, RUN_OLD, RUN_RESET]) await post(casts);
    for (const x of (await t.http().get('/api/v1/transactions').expect(200)).body) ids[x.uuid] = x.id;
  });
  afterAll(async () => {
    children.forEach((c) => c.kill('SIGKILL'));
    await t?.close();
  });

  describe('task list', () => {
    it("prints fuel2's columns as a table, without colour when piped", async () => {
      const r = await cli(['task', 'list']);
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^\+-+\+/);
      expect(
        lines[1]
          .split('|')
          .map((s) => s.trim())
          .filter(Boolean),
      ).toEqual(['id', 'status', 'name', 'graph_type', 'cluster', 'result', 'dry_run', 'progress']);
      expect(lines).toHaveLength(4 + 4); // rules, header, 4 runs
      expect(r.stdout).toMatch(/\| error +\| deployment \| default +\| 1 +\| Deployment failed \| false +\| 100 +\|/);
      expect(r.stdout).not.toMatch(/\u001b\[/);
      // Colours only when asked (or on a terminal).
      expect((await cli(['--color', 'always', 'task', 'list'])).stdout).toMatch(/\u001b\[31merror\u001b\[39m/);
    });

    it('filters by cluster, status and name; json, value and csv', async () => {
      const [all, errors, byName, none, csv] = await Promise.all([
        json(['task', 'list']),
        cli(['task', 'list', '-e', '1', '-t', 'error', '-f', 'value', '-c', 'id']),
        json(['task', 'list', '--env', '1', '--statuses', 'ready', 'stopped', '--names', 'deployment']),
        json(['task', 'list', '-n', 'provision']),
        cli(['task', 'list', '-e', '1', '-f', 'csv', '-c', 'id', '-c', 'status', '-c', 'result']),
      ]);
      expect(all).toHaveLength(4);
      expect(all[0]).toEqual({
        id: ids['cli-a'],
        status: 'error',
        name: 'deployment',
        graph_type: 'default',
        cluster: 1,
        result: 'Deployment failed',
        dry_run: false,
        progress: 100,
      });
      expect(errors.stdout).toBe(`${ids['cli-a']}\n`);
      expect(byName.map((x: { id: number }) => x.id)).toEqual([ids['cli-b']]);
      expect(none).toEqual([]);
      expect(csv.stdout).toBe(`"id","status","result"\r\n${ids['cli-a']},"error","Deployment failed"\r\n${ids['cli-b']},"ready",\r\n`);
    });
  });

  describe('task show, task history show / summary / detail, task diff', () => {
    it('task show: one run, as yaml', async () => {
      const r = await cli(['task', 'show', String(ids['cli-a']), '-f', 'yaml']);
      expect(r.code).toBe(0);
      expect(parseYaml(r.stdout)).toMatchObject({
        id: ids['cli-a'],
        uuid: 'cli-a',
        status: 'error',
        message: 'Deployment failed',
        cluster: 1,
        duration: 600,
      });
      const table = await cli(['task', 'show', String(ids['cli-a']), '-c', 'uuid', '-c', 'status']);
      expect(table.stdout.split('\n').slice(1, 5)).toEqual([
        '| Field  | Value |',
        '+--------+-------+',
        '| uuid   | cli-a |',
        '| status | error |',
      ]);
    });

    it("history show: fuel2's columns plus duration, in every format", async () => {
      const id = String(ids['cli-a']);
      const [table, asJson, csv, yaml, value] = await Promise.all([
        cli(['task', 'history', 'show', id]),
        json(['task', 'history', 'show', id]),
        cli(['task', 'history', 'show', id, '-f', 'csv']),
        cli(['task', 'history', 'show', id, '-f', 'yaml']),
        cli(['task', 'history', 'show', id, '-f', 'value', '-c', 'task_name', '-c', 'node_id', '-c', 'status', '--statuses', 'error']),
      ]);
      expect(
        table.stdout
          .split('\n')[1]
          .split('|')
          .map((s) => s.trim())
          .filter(Boolean),
      ).toEqual(['task_name', 'node_id', 'status', 'time_start', 'time_end', 'duration']);
      expect(table.stdout).toMatch(/\| netconfig +\| 1 +\| ready +\| 2026-01-01T10:03:00.000Z \| 2026-01-01T10:05:00.000Z \| 120 +\|/);
      // Fuel's order: cluster-level, master, then nodes; within a node by start time, pending last.
      expect(asJson).toEqual([
        {
          task_name: 'deploy_start',
          node_id: null,
          status: 'ready',
          time_start: at('01', '10:00'),
          time_end: at('01', '10:00'),
          duration: 0,
        },
        {
          task_name: 'upload_configuration',
          node_id: 'master',
          status: 'ready',
          time_start: at('01', '10:01'),
          time_end: at('01', '10:02'),
          duration: 60,
        },
        {
          task_name: 'netconfig',
          node_id: '1',
          status: 'ready',
          time_start: at('01', '10:03'),
          time_end: at('01', '10:05'),
          duration: 120,
        },
        { task_name: 'hiera', node_id: '1', status: 'error', time_start: at('01', '10:06'), time_end: at('01', '10:10'), duration: 240 },
        { task_name: 'netconfig', node_id: '2', status: 'error', time_start: at('01', '10:03'), time_end: at('01', '10:04'), duration: 60 },
        { task_name: 'hiera', node_id: '2', status: 'skipped', time_start: null, time_end: at('01', '10:10'), duration: null },
      ]);
      expect(csv.stdout.split('\r\n').slice(0, 3)).toEqual([
        '"task_name","node_id","status","time_start","time_end","duration"',
        `"deploy_start",,"ready","${at('01', '10:00')}","${at('01', '10:00')}",0`,
        `"upload_configuration","master","ready","${at('01', '10:01')}","${at('01', '10:02')}",60`,
      ]);
      expect(parseYaml(yaml.stdout)).toEqual(asJson);
      expect(value.stdout).toBe('hiera 1 error\nnetconfig 2 error\n');
    });

    it('history show: filters, any column with -c (custom keys too), --include-summary', async () => {
      const id = String(ids['cli-a']);
      const show = (...args: string[]) => json(['task', 'history', 'show', id, ...args]);
      const [hiera, custom, summary] = await Promise.all([
        show('--nodes', '1', '--tasks-names', 'hiera', ...columns('task_name', 'closed_reason', 'type')),
        show('--nodes', '1,2', '--tasks-names', 'netconfig', ...columns('node_id', 'attempt', 'error_message')),
        show('--nodes', '1', '--statuses', 'ready', '--include-summary'),
      ]);
      expect(hiera).toEqual([
        { task_name: 'hiera', closed_reason: 'did not finish: transaction ended with error (Deployment failed)', type: 'puppet' },
      ]);
      expect(custom).toEqual([
        { node_id: '1', attempt: 1, error_message: null },
        { node_id: '2', attempt: null, error_message: 'netconfig failed on node-2' },
      ]);
      expect(summary).toEqual([expect.objectContaining({ task_name: 'netconfig', summary: { resources: { total: 10 } } })]);
    });

    it('history summary and detail', async () => {
      const id = String(ids['cli-a']);
      const [s, d, table] = await Promise.all([
        json(['task', 'history', 'summary', id]),
        json(['task', 'history', 'detail', id, '1', 'netconfig']),
        cli(['task', 'history', 'summary', id]),
      ]);
      expect(s).toMatchObject({
        transaction_id: ids['cli-a'],
        status: 'error',
        total: 6,
        pending: 0,
        running: 0,
        ready: 3,
        error: 2,
        skipped: 1,
        duration_s: 600,
      });
      expect(s.first_failure).toMatchObject({ node_id: '2', task_name: 'netconfig', error_message: 'netconfig failed on node-2' });
      expect(s.nodes).toEqual({ null: { ready: 1 }, master: { ready: 1 }, '1': { ready: 1, error: 1 }, '2': { error: 1, skipped: 1 } });
      expect(table.stdout).toMatch(/\| first_failure +\| node 2 netconfig: netconfig failed on node-2 +\|/);
      expect(table.stdout).toMatch(
        /\| nodes +\| cluster: 1 ready +\|\n\| +\| master: 1 ready +\|\n\| +\| node 1: 1 ready, 1 error +\|\n\| +\| node 2: 1 error, 1 skipped +\|\n/,
      );
      expect(d).toMatchObject({
        task_name: 'netconfig',
        node_id: '1',
        status: 'ready',
        type: 'puppet',
        duration_s: 120,
        custom: { attempt: 1 },
        definition: { id: 'netconfig', type: 'puppet' },
        transaction_uuid: 'cli-a',
        cluster_id: 1,
        cluster_name: 'cli-east',
        cluster_release: 'mitaka-9.0',
      });
      expect(d).not.toHaveProperty('attempt'); // custom keys stay under `custom` here
    });

    it('diff: what changed between two runs', async () => {
      expect(await json(['task', 'diff', String(ids['cli-a']), String(ids['cli-b'])])).toEqual([
        { node_id: '1', task_name: 'hiera', status: 'error', other_status: 'ready', change: 'changed' },
        { node_id: '2', task_name: 'hiera', status: 'skipped', other_status: 'ready', change: 'changed' },
        { node_id: '2', task_name: 'netconfig', status: 'error', other_status: 'ready', change: 'changed' },
      ]);
    });
  });

  describe('cross-run views, clusters', () => {
    it('env history follows the Link header to the end, or stops at --limit', async () => {
      const full = await json(['env', 'history', '1']);
      expect(full).toHaveLength(12);
      expect(full.map((r: { transaction_id: number }) => r.transaction_id)).toEqual([
        ...Array(6).fill(ids['cli-b']),
        ...Array(6).fill(ids['cli-a']),
      ]);
      expect(Object.keys(full[0])).toEqual(['transaction_id', 'task_name', 'node_id', 'status', 'time_start', 'time_end', 'duration']);
      // Pages of 5: three requests, the same rows.
      expect(await json(['env', 'history', '1', '--page-size', '5'])).toEqual(full);
      expect(await json(['env', 'history', '1', '--page-size', '2', '--limit', '7'])).toEqual(full.slice(0, 7));
      expect(await json(['env', 'history', '1', '--limit', '3'])).toEqual(full.slice(0, 3));
      // Filters, oldest first.
      const since = await json([
        ...['env', 'history', '1', '--page-size', '1', '--statuses', 'error', 'skipped', '--oldest-first'],
        ...columns('task_name', 'node_id', 'status'),
      ]);
      expect(since).toEqual([
        { task_name: 'netconfig', node_id: '2', status: 'error' },
        { task_name: 'hiera', node_id: '1', status: 'error' },
        { task_name: 'hiera', node_id: '2', status: 'skipped' },
      ]);
      const window = await json([
        'env',
        'history',
        '1',
        '--since',
        at('02', '10:03'),
        '--until',
        at('02', '10:06'),
        '--nodes',
        '2',
        '-c',
        'task_name',
      ]);
      expect(window).toEqual([{ task_name: 'netconfig' }]);
    });

    it("node history: one node's tasks across runs, newest first, through pages of one row", async () => {
      const r = await cli([
        'node',
        'history',
        '1',
        '1',
        '--page-size',
        '1',
        '-f',
        'value',
        '-c',
        'transaction_id',
        '-c',
        'task_name',
        '-c',
        'status',
      ]);
      expect(r.code).toBe(0);
      const [a, b] = [ids['cli-a'], ids['cli-b']];
      expect(r.stdout).toBe(`${b} hiera ready\n${b} netconfig ready\n${a} hiera error\n${a} netconfig ready\n`);
      expect(await json(['node', 'history', '1', 'master', '--tasks-names', 'upload_configuration', '-c', 'transaction_uuid'])).toEqual([
        { transaction_uuid: 'cli-b' },
        { transaction_uuid: 'cli-a' },
      ]);
    });

    it('env list, env show, env state', async () => {
      const [list, legacy, state] = await Promise.all([
        json(['env', 'list']),
        json(['env', 'show', '2']),
        json(['env', 'state', '1', '--nodes', '1', 'null']),
      ]);
      expect(list.map((c: { id: number; history_enabled: boolean }) => [c.id, c.history_enabled])).toEqual([
        [1, true],
        [2, false],
        [3, true],
      ]);
      expect(list[0]).toMatchObject({
        name: 'cli-east',
        release: 'mitaka-9.0',
        version: '9.0',
        transactions: 2,
        history_rows: 12,
        last_transaction_id: ids['cli-b'],
      });
      expect(legacy).toMatchObject({ id: 2, name: 'legacy', release: 'liberty-8.0', version: '8.0', history_enabled: false });
      expect(state).toEqual([
        {
          node_id: null,
          task_name: 'deploy_start',
          status: 'ready',
          time_start: at('02', '10:00'),
          time_end: at('02', '10:00'),
          transaction_id: ids['cli-b'],
        },
        {
          node_id: '1',
          task_name: 'hiera',
          status: 'ready',
          time_start: at('02', '10:06'),
          time_end: at('02', '10:07'),
          transaction_id: ids['cli-b'],
        },
        {
          node_id: '1',
          task_name: 'netconfig',
          status: 'ready',
          time_start: at('02', '10:03'),
          time_end: at('02', '10:04'),
          transaction_id: ids['cli-b'],
        },
      ]);
    });

    it('env reset: 409 while a run is in progress, --force stops it', async () => {
      const refused = await cli(['env', 'reset', '3']);
      expect(refused.code).toBe(1);
      expect(refused.stderr.split('\n')).toHaveLength(2);
      expect(refused.stderr).toMatch(/^error: .*in progress.*\(HTTP 409/);
      const forced = await json(['env', 'reset', '3', '--force']);
      expect(forced).toEqual({ cluster_id: 3, previous_epoch: 1, epoch: 2, stopped_transactions: [ids['cli-r']] });
      expect(await json(['task', 'show', String(ids['cli-r']), '-c', 'status'])).toEqual({ status: 'stopped' });
    });

    it('retention: needs a policy; a dry run reports what would go and removes nothing', async () => {
      const usage = await cli(['retention']);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toMatch(/--older-than-days and\/or --keep-runs/);
      const before = (await t.http().get('/api/v1/transactions').expect(200)).body.length;
      const r = await json(['retention', '--keep-runs', '1', '--dry-run']);
      expect(r).toMatchObject({ dry_run: true, keep_runs: 1, older_than_days: null });
      expect(r.transactions).toBeGreaterThan(0);
      expect(r.disk_before).toMatch(/ MB$/);
      expect((await t.http().get('/api/v1/transactions').expect(200)).body.length).toBe(before);
    });
  });

  describe('task delete (as fuel2 task delete ID [-f])', () => {
    it("deletes a finished run; refuses one in progress with the server's message; -f / --force stops and deletes it", async () => {
      const graph = { '1': [{ id: 'netconfig', type: 'puppet' }] };
      await post([start('cli-del-1', { id: 5, name: 'deletions', release: 'mitaka-9.0' }, graph), finish('cli-del-1', 'ready')]);
      await post([start('cli-del-2', { id: 5, name: 'deletions', release: 'mitaka-9.0' }, graph)]);
      await post([start('cli-del-3', { id: 5, name: 'deletions', release: 'mitaka-9.0' }, graph)]);
      const [done, running, other] = (await t.http().get('/api/v1/transactions?cluster_id=5').expect(200)).body.map(
        (r: { id: number }) => r.id,
      );

      const ok = await cli(['task', 'delete', String(done)]);
      expect(ok).toEqual({ code: 0, stdout: `Task with id ${done} was deleted\n`, stderr: '' });
      await t.http().get(`/api/v1/transactions/${done}`).expect(404);

      const refused = await cli(['task', 'delete', String(running)]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        `error: You cannot delete running task manually (HTTP 400 from DELETE /api/v1/transactions/${running})\n`,
      );
      await t.http().get(`/api/v1/transactions/${running}`).expect(200);

      expect(await cli(['task', 'delete', String(running), '-f'])).toMatchObject({
        code: 0,
        stdout: `Task with id ${running} was deleted\n`,
      });
      expect(await cli(['task', 'delete', String(other), '--force'])).toMatchObject({
        code: 0,
        stdout: `Task with id ${other} was deleted\n`,
      });
      expect((await t.http().get('/api/v1/transactions?cluster_id=5').expect(200)).body).toEqual([]);

      const missing = await cli(['task', 'delete', String(done)]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^error: Transaction not found \(HTTP 404/);
    });
  });

  describe('errors: one line on stderr and a non-zero exit', () => {
    const oneLine = (r: Result) => {
      expect(r.stdout).toBe('');
      expect(r.stderr.endsWith('\n')).toBe(true);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    };

    it('server down', async () => {
      const port = await freePort();
      const r = await spawnCli(['task', 'list'], { DHIST_URL: `http://127.0.0.1:${port}` }).result;
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: cannot reach http://127.0.0.1:${port}: connection refused\n`);
    });

    it("404 and 409: the server's message", async () => {
      const [missing, noTask, old, oldCluster, oldNode] = await Promise.all([
        cli(['task', 'show', '999999']),
        cli(['task', 'history', 'detail', String(ids['cli-a']), '1', 'nosuch']),
        cli(['task', 'history', 'show', String(ids['cli-old'])]),
        cli(['env', 'history', '2']),
        cli(['node', 'history', '2', '1']),
      ]);
      for (const r of [missing, noTask, old, oldCluster, oldNode]) {
        expect(r.code).toBe(1);
        oneLine(r);
      }
      expect(missing.stderr).toMatch(/^error: Transaction not found \(HTTP 404/);
      expect(noTask.stderr).toMatch(/^error: No task 'nosuch' on node '1' in transaction \d+ \(HTTP 404/);
      expect(old.stderr).toMatch(/^error: Transaction \d+ of cluster 2 ran on release 'liberty-8\.0' .*requires release 9\.0.*\(HTTP 409/);
      expect(oldCluster.stderr).toMatch(/^error: Cluster 2 .*liberty-8\.0.*9\.0.*\(HTTP 409/);
      expect(oldNode.stderr).toMatch(/\(HTTP 409/);
    });

    it('usage mistakes exit 2', async () => {
      const [column, id, format, unknown] = await Promise.all([
        cli(['task', 'list', '-c', 'nope']),
        cli(['task', 'show', 'abc']),
        cli(['task', 'list', '-f', 'xml']),
        cli(['task', 'lst']),
      ]);
      for (const r of [column, id, format, unknown]) expect(r.code).toBe(2);
      oneLine(column);
      expect(column.stderr).toMatch(/^error: unknown column 'nope': choose from id, status, name/);
      expect(id.stderr).toMatch(/transaction id must be an integer/);
      expect(format.stderr).toMatch(/Allowed choices are table, json, csv, yaml, value/);
    });
  });

  it('takes the server from DHIST_URL and sends the token from --token or DHIST_TOKEN', async () => {
    const seen: Array<{ url?: string; headers: IncomingHttpHeaders }> = [];
    const server = createHttpServer((req, res) => {
      seen.push({ url: req.url, headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.end('[]');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const fake = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await spawnCli(['task', 'list', '--token', 's3cret'], { DHIST_URL: fake }).result).code).toBe(0);
      expect((await spawnCli(['--url', `${fake}/api/`, 'env', 'list'], { DHIST_TOKEN: 'from-env' }).result).code).toBe(0);
      expect((await spawnCli(['task', 'list'], { DHIST_URL: fake }).result).code).toBe(0);
    } finally {
      server.close();
    }
    expect(seen[0]).toMatchObject({ url: '/api/v1/transactions', headers: { authorization: 'Bearer s3cret', 'x-auth-token': 's3cret' } });
    expect(seen[1]).toMatchObject({ url: '/api/clusters', headers: { authorization: 'Bearer from-env', 'x-auth-token': 'from-env' } });
    expect(seen[2].headers.authorization).toBeUndefined();
  });

  describe('task history show --watch', () => {
    it('exits at once for a run that has ended: 3 for error, 0 for ready', async () => {
      const [failed, ready] = await Promise.all([
        cli(['task', 'history', 'show', String(ids['cli-a']), '--watch', '-f', 'value', '-c', 'status']),
        cli(['task', 'history', 'show', String(ids['cli-b']), '--watch', '-f', 'value', '-c', 'status']),
      ]);
      expect(failed.code).toBe(3);
      expect(failed.stdout).toBe('ready\nready\nready\nerror\nerror\nskipped\n');
      expect(failed.stderr).toMatch(/transaction \d+ ended with error: Deployment failed\n$/);
      expect(ready.code).toBe(0);
      expect(ready.stdout).toBe('ready\n'.repeat(6));
    });

    it('polls a run in progress until it ends, prints the final rows once, and exits 3 when it failed', async () => {
      const graph = {
        '7': [
          { id: 'netconfig', type: 'puppet' },
          { id: 'hiera', type: 'puppet' },
          { id: 'globals', type: 'puppet' },
        ],
      };
      await post([
        start('cli-w', { id: 4, name: 'watched', release: 'mitaka-9.0' }, graph),
        resp('cli-w', [task('7', 'netconfig', 'running')]),
      ]);
      const id = (await t.http().get('/api/v1/transactions?cluster_id=4').expect(200)).body[0].id;
      const watch = spawnCli(['--url', url, 'task', 'history', 'show', String(id), '--watch', '--interval', '0.1', '-f', 'json']);
      // The watcher has seen the run in progress: now let it progress and end.
      await waitFor(
        () => /watching transaction \d+ \(running, 0%\) until it ends/.test(watch.stderr()),
        'the watcher to poll the running run',
      );
      await post([resp('cli-w', [task('7', 'netconfig', 'ready'), task('7', 'hiera', 'running')])]);
      await post([
        resp('cli-w', [task('7', 'hiera', 'error', { error_msg: 'hiera broke' })]),
        finish('cli-w', 'error', { error: 'Deployment failed on node 7' }),
      ]);
      const r = await watch.result;
      expect(r.code).toBe(3);
      expect(JSON.parse(r.stdout).map((x: { task_name: string; status: string }) => `${x.task_name}:${x.status}`)).toEqual([
        'netconfig:ready',
        'hiera:error',
        'globals:skipped',
      ]);
      expect(r.stderr).toMatch(/ended with error: Deployment failed on node 7\n$/);
    });

    it('exits 0 when the watched run ends ready', async () => {
      await post([start('cli-w2', { id: 4, name: 'watched', release: 'mitaka-9.0' }, { '7': [{ id: 'netconfig', type: 'puppet' }] })]);
      const id = (await t.http().get('/api/v1/transactions?cluster_id=4').expect(200)).body[1].id;
      const watch = spawnCli(['--url', url, 'task', 'history', 'show', String(id), '--watch', '--interval', '0.1']);
      await waitFor(() => /watching transaction/.test(watch.stderr()), 'the watcher to poll the run');
      await post([resp('cli-w2', [task('7', 'netconfig', 'ready')]), finish('cli-w2', 'ready')]);
      const r = await watch.result;
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/\| netconfig +\| 7 +\| ready +\|/);
    });

    it('a watched run that is deleted: says so on stderr and exits 1', async () => {
      await post([
        start('cli-w4', { id: 6, name: 'watched-deleted', release: 'mitaka-9.0' }, { '7': [{ id: 'netconfig', type: 'puppet' }] }),
      ]);
      const id = (await t.http().get('/api/v1/transactions?cluster_id=6').expect(200)).body[0].id;
      // Polling every hour: only the stream can tell the watcher in time.
      const watch = spawnCli(['--url', url, 'task', 'history', 'show', String(id), '--watch', '--interval', '3600']);
      await waitFor(() => /watching transaction/.test(watch.stderr()), 'the watcher to open the stream');
      await t.http().delete(`/api/v1/transactions/${id}/?force=1`).expect(204);
      const r = await watch.result;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`error: transaction ${id} was deleted while it was watched\\n$`));
    });

    it('follows the live stream: it ends as soon as the run does, whatever the polling interval', async () => {
      await post([start('cli-w3', { id: 4, name: 'watched', release: 'mitaka-9.0' }, { '7': [{ id: 'netconfig', type: 'puppet' }] })]);
      const id = (await t.http().get('/api/v1/transactions?cluster_id=4').expect(200)).body[2].id;
      // Polling every hour would never see the end within the test: only the stream can.
      const watch = spawnCli([
        '--url',
        url,
        'task',
        'history',
        'show',
        String(id),
        '--watch',
        '--interval',
        '3600',
        '-f',
        'value',
        '-c',
        'status',
      ]);
      await waitFor(() => /watching transaction/.test(watch.stderr()), 'the watcher to open the stream');
      await post([resp('cli-w3', [task('7', 'netconfig', 'ready')]), finish('cli-w3', 'ready')]);
      const r = await watch.result;
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe('ready');
    });
  });
});
