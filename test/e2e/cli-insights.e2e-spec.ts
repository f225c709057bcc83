import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startApp, TestApp } from '../support/app';
import { DRY_RUN, FALLBACK_RUN, insightsHistory, REAL_RUNS } from '../support/insights-history';

/**
 * Issue #15's commands (`task history critical-path`, `task history regressions`, `env task-stats`,
 * `env flaky`): the built `dhist` (dist/, built by `pretest`) against the real service on a fresh
 * PostgreSQL, over a history whose answers are known (test/support/insights-history.ts says what it holds).
 */
const CLI = join(__dirname, '../../dist/src/cli/main.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[]): Promise<Result> {
  const env = { ...process.env };
  for (const k of ['DHIST_URL', 'DHIST_TOKEN', 'NO_COLOR']) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const time = (day: number, hms: string) => `2026-02-0${day}T10:${hms}.000Z`;
/** A ratio as the rules compute it (200 / 60): the server may round it, to the millisecond at least. */
const THREE_AND_A_THIRD = expect.closeTo(10 / 3, 3) as number;

/** One task's (or role's) figures over the five real runs, trend over the last run against the one before. */
function figures(o: {
  runs: number;
  timed: number;
  p50: number;
  p95?: number;
  max?: number;
  errors?: number;
  terminal?: number;
  lastFailure?: { transaction_id: number; node_id: string; time: string } | null;
  trend?: { recent: number; previous: number; ratio: number } | null;
}) {
  const terminal = o.terminal ?? o.timed;
  return {
    runs: o.runs,
    timed_rows: o.timed,
    p50: o.p50,
    p95: o.p95 ?? o.p50,
    max: o.max ?? o.p95 ?? o.p50,
    failure_rate: (o.errors ?? 0) / terminal,
    errors: o.errors ?? 0,
    terminal_rows: terminal,
    last_failure: o.lastFailure ?? null,
    trend: o.trend
      ? { runs: 1, recent_runs: 1, previous_runs: 1, recent_p50: o.trend.recent, previous_p50: o.trend.previous, ratio: o.trend.ratio }
      : null,
  };
}

describe('dhist insights commands (issue #15)', () => {
  let t: TestApp;
  let url: string;
  const ids: Record<string, number> = {};
  const cli = (...args: string[]) => runCli(['--url', url, ...args]);
  const json = async (...args: string[]) => {
    const r = await cli(...args, '-f', 'json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };
  const run = (n: number) => ids[REAL_RUNS[n - 1]];

  beforeAll(async () => {
    t = await startApp();
    await t.app.listen(0);
    url = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    for (const casts of insightsHistory()) await t.http().post('/api/v1/casts').send(casts).expect(200);
    for (const x of (await t.http().get('/api/v1/transactions').expect(200)).body as Array<{ id: number; uuid: string }>)
      ids[x.uuid] = x.id;
    expect(Object.keys(ids).sort()).toEqual([...REAL_RUNS, DRY_RUN, FALLBACK_RUN].sort());
  });
  afterAll(() => t?.close());

  it('task history critical-path: the chain through the graph, its waits and totals', async () => {
    const step = (node: string | null, task: string, s: string, e: string, duration: number, wait: number, via: string | null) => ({
      node_id: node,
      task_name: task,
      status: 'ready',
      time_start: time(5, s),
      time_end: time(5, e),
      duration_s: duration,
      wait_s: wait,
      via,
    });
    expect(await json('task', 'history', 'critical-path', String(run(5)))).toEqual({
      transaction_id: run(5),
      status: 'ready',
      fallback: false,
      running: false,
      time_start: time(5, '00:00'),
      time_end: time(5, '04:40'),
      duration_s: 280,
      tasks_s: 265,
      waiting_s: 15,
      edges: 6,
      steps: [
        step(null, 'deploy_start', '00:00', '00:05', 5, 0, null),
        step('1', 'netconfig', '00:10', '03:30', 200, 5, 'requires'),
        step('1', 'keystone', '03:40', '04:40', 60, 10, 'requires'),
      ],
    });
    const table = await cli(
      'task',
      'history',
      'critical-path',
      String(run(5)),
      '-c',
      'node_id',
      '-c',
      'task_name',
      '-c',
      'wait_s',
      '-c',
      'via',
    );
    expect(table).toEqual({
      code: 0,
      stderr: '',
      stdout:
        `transaction ${run(5)} (ready): critical path of 3 steps; run 280 s from ${time(5, '00:00')} to ${time(5, '04:40')}: 265 s in tasks, 15 s waiting\n` +
        '+---------+--------------+--------+----------+\n' +
        '| node_id | task_name    | wait_s | via      |\n' +
        '+---------+--------------+--------+----------+\n' +
        '|         | deploy_start | 0      |          |\n' +
        '| 1       | netconfig    | 5      | requires |\n' +
        '| 1       | keystone     | 10     | requires |\n' +
        '+---------+--------------+--------+----------+\n',
    });
  });

  it('task history critical-path: a graph without dependencies falls back to the node order, and says so', async () => {
    const answer = await json('task', 'history', 'critical-path', String(ids[FALLBACK_RUN]));
    expect(answer).toMatchObject({ fallback: true, running: false, edges: 0, duration_s: 180, tasks_s: 150, waiting_s: 30 });
    expect((answer.steps as Array<Record<string, unknown>>).map((s) => [s.node_id, s.task_name, s.wait_s, s.via])).toEqual([
      ['1', 'a', 0, null],
      ['1', 'b', 30, 'node'],
    ]);
    const table = await cli('task', 'history', 'critical-path', String(ids[FALLBACK_RUN]));
    expect(table.stdout.split('\n').slice(-2)).toEqual([
      "fallback: the run's graph has no dependency, so the path follows each node's own task order",
      '',
    ]);
  });

  it('task history regressions: the slowed task with its baseline, new and unjudged tasks apart; --baseline', async () => {
    const rule = { percentile: 95, min_ratio: 1.5, min_extra_seconds: 5, min_runs: 3 };
    expect(await json('task', 'history', 'regressions', String(run(5)))).toEqual({
      transaction_id: run(5),
      cluster_id: 15,
      baseline: 20,
      rule,
      regressions: [
        {
          task_name: 'netconfig',
          node_id: '1',
          duration: 200,
          baseline: { runs: 4, p50: 60, p95: 60 },
          excess_seconds: 140,
          ratio: THREE_AND_A_THIRD,
        },
      ],
      new_tasks: [{ task_name: 'ceph', node_id: '2', duration: 10, baseline_runs: 0 }],
      not_enough_history: [{ task_name: 'keystone', node_id: '1', duration: 60, baseline_runs: 1 }],
    });
    const value = await cli('task', 'history', 'regressions', String(run(5)), '-f', 'value', '-c', 'task_name', '-c', 'excess_seconds');
    expect(value).toEqual({ code: 0, stderr: '', stdout: 'netconfig 140\n' });
    // Two baseline runs are fewer than the rule's three: nothing is judged.
    expect(await json('task', 'history', 'regressions', String(run(5)), '--baseline', '2')).toEqual({
      transaction_id: run(5),
      cluster_id: 15,
      baseline: 2,
      rule,
      regressions: [],
      new_tasks: [{ task_name: 'ceph', node_id: '2', duration: 10, baseline_runs: 0 }],
      not_enough_history: [
        { task_name: 'deploy_start', node_id: null, duration: 5, baseline_runs: 2 },
        { task_name: 'hiera', node_id: '2', duration: 30, baseline_runs: 2 },
        { task_name: 'keystone', node_id: '1', duration: 60, baseline_runs: 1 },
        { task_name: 'netconfig', node_id: '1', duration: 200, baseline_runs: 2 },
      ],
    });
  });

  it('env task-stats: per task over the real runs only (the dry run left out), per role with --by-role', async () => {
    const failure = { transaction_id: run(4), node_id: '2', time: time(4, '01:45') };
    const same = (p50: number) => ({ recent: p50, previous: p50, ratio: 1 });
    const ceph = figures({ runs: 1, timed: 1, p50: 10 });
    const hiera = figures({ runs: 5, timed: 5, p50: 30, errors: 2, lastFailure: failure, trend: same(30) });
    const keystone = figures({ runs: 2, timed: 2, p50: 60, trend: same(60) });
    const controller = figures({ runs: 5, timed: 5, p50: 60, p95: 200, trend: { recent: 200, previous: 60, ratio: THREE_AND_A_THIRD } });
    const expected = {
      cluster_id: 15,
      epoch: 'current',
      runs: 5,
      trend_runs: 1,
      tasks: [
        { task_name: 'ceph', ...ceph, by_role: [{ role: 'compute', ...ceph }] },
        { task_name: 'deploy_start', ...figures({ runs: 5, timed: 5, p50: 5, trend: same(5) }), by_role: [] },
        { task_name: 'hiera', ...hiera, by_role: [{ role: 'compute', ...hiera }] },
        { task_name: 'keystone', ...keystone, by_role: [{ role: 'controller', ...keystone }] },
        {
          task_name: 'netconfig',
          ...figures({ runs: 5, timed: 10, p50: 60, p95: 200, trend: same(60) }),
          by_role: [
            { role: 'compute', ...figures({ runs: 5, timed: 5, p50: 60, trend: same(60) }) },
            { role: 'controller', ...controller },
          ],
        },
      ],
    };
    expect(await json('env', 'task-stats', '15', '--trend-runs', '1')).toEqual(expected);
    expect(await json('env', 'task-stats', '15', '--trend-runs', '1', '--epoch', 'all')).toEqual({ ...expected, epoch: 'all' });
    const byRole = await cli('env', 'task-stats', '15', '--by-role', '--trend-runs', '1', '--tasks-names', 'netconfig', '-f', 'csv');
    expect(byRole.code).toBe(0);
    expect(byRole.stdout.split('\r\n').map((l) => l.split(',').slice(0, 6).join(','))).toEqual([
      '"task_name","role","runs","p50","p95","max"',
      '"netconfig","compute",5,60,60,60',
      '"netconfig","controller",5,60,200,200',
      '',
    ]);
    const filtered = await cli(
      'env',
      'task-stats',
      '15',
      '--nodes',
      '2',
      '--tasks-names',
      'netconfig,hiera',
      '-f',
      'value',
      '-c',
      'task_name',
      '-c',
      'max',
      '-c',
      'errors',
    );
    expect(filtered).toEqual({ code: 0, stderr: '', stdout: 'hiera 30 2\nnetconfig 60 0\n' });
  });

  it('env flaky: the task that failed and succeeded on one node, its failed runs and errors; --last-runs', async () => {
    const hiera = (failed: number[], succeeded: number) => ({
      task_name: 'hiera',
      node_id: '2',
      failed: failed.length,
      succeeded,
      failed_runs: failed,
      errors: [{ message: 'timeout', count: failed.length }],
    });
    expect(await json('env', 'flaky', '15')).toEqual({
      cluster_id: 15,
      epoch: 'current',
      last_runs: 20,
      runs: [1, 2, 3, 4, 5].map(run),
      tasks: [hiera([run(2), run(4)], 3)],
    });
    expect(await json('env', 'flaky', '15', '--last-runs', '2', '--epoch', 'all')).toEqual({
      cluster_id: 15,
      epoch: 'all',
      last_runs: 2,
      runs: [run(4), run(5)],
      tasks: [hiera([run(4)], 1)],
    });
    expect(await json('env', 'flaky', '15', '--last-runs', '1')).toMatchObject({ runs: [run(5)], tasks: [] });
    const value = await cli('env', 'flaky', '15', '-f', 'value');
    expect(value).toEqual({ code: 0, stderr: '', stdout: `hiera 2 2 3 ${run(2)} ${run(4)} timeout (2×)\n` });
  });

  it('bad usage exits 2 with the reason; a run the service does not know exits 1 with its answer', async () => {
    const cases: Array<[string[], string]> = [
      [
        ['env', 'flaky', '15', '--last-runs', '0'],
        "error: option '--last-runs <n>' argument '0' is invalid. --last-runs must be an integer from 1",
      ],
      [['env', 'task-stats', '15', '--epoch', 'sometimes'], 'Allowed choices are current, all.'],
      [['env', 'task-stats', '15', '--since', 'yesterday'], '--since must be an ISO 8601 time'],
      [['env', 'task-stats', 'x'], 'cluster id must be an integer'],
      [['task', 'history', 'regressions', '1', '--bogus'], "error: unknown option '--bogus'"],
      [['task', 'history', 'critical-path', String(run(5)), '-c', 'nope'], "error: unknown column 'nope': choose from node_id, task_name"],
    ];
    // Each its own process, all at once: they share nothing.
    const [unknown, ...results] = await Promise.all([
      cli('task', 'history', 'critical-path', '999999'),
      ...cases.map(([args]) => cli(...args)),
    ]);
    cases.forEach(([args, message], i) => {
      const r = results[i];
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(r.stderr).toContain(message);
    });
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toMatch(/^error: Transaction not found \(HTTP 404/);
  });
});
