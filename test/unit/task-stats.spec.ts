import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TASK_STATUSES, TaskStatus } from '../../src/history/task-state';
import { flakyTasks } from '../../src/history/flaky-tasks';
import { regressions } from '../../src/history/task-regressions';
import { percentile, StatsRow, taskStats } from '../../src/history/task-stats';
import { fuelEnvironmentGraph } from '../support/fuel-data';

const HOUR = 3600_000;
const BASE = Date.UTC(2016, 2, 25, 17, 0, 0);
/** Run n starts n hours after BASE, unless `runTime` says otherwise. */
const runStart = (run: number): Date => new Date(BASE + run * HOUR);

interface RowSpec {
  run: number;
  task: string;
  node?: string | null;
  seconds?: number | null;
  status?: TaskStatus;
  role?: string | null;
  error?: string | null;
  runTime?: Date;
  /** Seconds after the run's start when the task starts. */
  offset?: number;
}

/** A row whose duration is `seconds` (no times when null). */
function row(s: RowSpec): StatsRow {
  const run_time = s.runTime ?? runStart(s.run);
  const start = new Date(run_time.getTime() + (s.offset ?? 0) * 1000);
  const seconds = s.seconds === undefined ? 10 : s.seconds;
  return {
    run_id: s.run,
    run_time,
    node_id: s.node === undefined ? '1' : s.node,
    task_name: s.task,
    role: s.role ?? null,
    status: s.status ?? 'ready',
    time_start: seconds === null ? null : start,
    time_end: seconds === null ? null : new Date(start.getTime() + seconds * 1000),
    error_message: s.error ?? null,
  };
}

/** One row per duration, run i+1 for durations[i]. */
const series = (task: string, durations: number[], node: string | null = '1'): StatsRow[] =>
  durations.map((seconds, i) => row({ run: i + 1, task, node, seconds }));

describe('percentile (nearest rank)', () => {
  it('answers exact ranks on small arrays', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([7], 50)).toBe(7);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([4, 3, 2, 1], 95)).toBe(4);
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([1, 2], 50)).toBe(1);
    expect(percentile([1, 2], 51)).toBe(2);
    const twenty = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(twenty, 95)).toBe(19);
    expect(percentile(twenty, 50)).toBe(10);
    expect(percentile(twenty, 100)).toBe(20);
    expect(percentile([...twenty, 21], 95)).toBe(20);
  });

  it('refuses a p outside (0, 100]', () => {
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], NaN)).toThrow(RangeError);
  });

  it('is a value of the array, monotone in p, p50 ≤ p95 ≤ max', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }), (values) => {
        const p50 = percentile(values, 50)!;
        const p95 = percentile(values, 95)!;
        expect(values).toContain(p50);
        expect(values).toContain(p95);
        expect(p50).toBeLessThanOrEqual(p95);
        expect(p95).toBeLessThanOrEqual(Math.max(...values));
        expect(percentile(values, 100)).toBe(Math.max(...values));
      }),
    );
  });
});

describe('taskStats: known histories', () => {
  it('p50/p95/max, failure rate, last failure and trend of one task', () => {
    // Runs listed out of order, and run ids not in time order: run 6 started first.
    const rows = [
      row({ run: 3, task: 'netconfig', seconds: 30, runTime: runStart(3) }),
      row({ run: 6, task: 'netconfig', seconds: 10, runTime: runStart(1) }),
      row({ run: 2, task: 'netconfig', seconds: 20, runTime: runStart(2), status: 'error', error: 'boom' }),
      row({ run: 4, task: 'netconfig', seconds: 40, runTime: runStart(4) }),
      row({ run: 5, task: 'netconfig', seconds: 60, runTime: runStart(6) }),
      row({ run: 1, task: 'netconfig', seconds: 50, runTime: runStart(5) }),
    ];
    const [stats] = taskStats(rows, { trendRuns: 3 });
    expect(stats).toMatchObject({
      task_name: 'netconfig',
      runs: 6,
      timed_rows: 6,
      p50: 30,
      p95: 60,
      max: 60,
      errors: 1,
      terminal_rows: 6,
      failure_rate: 1 / 6,
      last_failure: { run_id: 2, node_id: '1', time: new Date(runStart(2).getTime() + 20_000) },
      by_role: [],
    });
    // In time order: 10, 20, 30 | 40, 50, 60.
    expect(stats.trend).toEqual({ runs: 3, recent_runs: 3, previous_runs: 3, recent_p50: 50, previous_p50: 20, ratio: 2.5 });
    // N = 4: 30..60 (p50 40) against the 2 runs before (10, 20: p50 10).
    expect(taskStats(rows, { trendRuns: 4 })[0].trend).toEqual({
      runs: 4,
      recent_runs: 4,
      previous_runs: 2,
      recent_p50: 40,
      previous_p50: 10,
      ratio: 4,
    });
    // N = 6: nothing before, no trend.
    expect(taskStats(rows, { trendRuns: 6 })[0].trend).toBeNull();
  });

  it('skipped rows count as terminal but have no duration; open rows are ignored', () => {
    const rows = [
      row({ run: 1, task: 'deploy_start', node: null, seconds: 0, status: 'skipped' }),
      row({ run: 1, task: 'hiera', seconds: 12 }),
      row({ run: 2, task: 'hiera', seconds: 0, status: 'skipped' }),
      row({ run: 3, task: 'hiera', seconds: 99, status: 'running' }),
      row({ run: 3, task: 'hiera', seconds: null, status: 'error', error: 'closed out' }),
    ];
    const [deployStart, hiera] = taskStats(rows);
    expect(deployStart).toMatchObject({
      task_name: 'deploy_start',
      runs: 1,
      timed_rows: 0,
      p50: null,
      p95: null,
      max: null,
      failure_rate: 0,
    });
    expect(deployStart.last_failure).toBeNull();
    expect(hiera).toMatchObject({ runs: 3, timed_rows: 1, p50: 12, p95: 12, max: 12, errors: 1, terminal_rows: 3, failure_rate: 1 / 3 });
    // The failure has no times: its time is null.
    expect(hiera.last_failure).toEqual({ run_id: 3, node_id: '1', time: null });
    // Both windows need a duration: run 3 has none.
    expect(taskStats(rows, { trendRuns: 1 })[1].trend).toBeNull();
  });

  it('copes with a task of 250,000 rows (no argument spread of the durations)', () => {
    const rows = Array.from({ length: 250_000 }, (_, i) =>
      row({ run: 1 + (i % 500), task: 'big', node: String(i % 500), seconds: i % 1000 }),
    );
    const [big] = taskStats(rows);
    // 250 copies of each of 0..999: rank 125,000 is 499, rank 237,500 is 949.
    expect(big).toMatchObject({ runs: 500, timed_rows: 250_000, p50: 499, p95: 949, max: 999 });
  });

  it('refuses a trend window that is not a positive integer', () => {
    expect(() => taskStats([], { trendRuns: 0 })).toThrow(RangeError);
    expect(() => taskStats([], { trendRuns: 1.5 })).toThrow(RangeError);
    expect(taskStats([])).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// A history of 10 runs of the real Fuel 9.0 example environment (6 nodes, 370 rows a run), where:
//  - netconfig takes 60 s + (run mod 3) on every node, and 150 s on node 3 in run 10;
//  - hiera fails on node 2 in runs 2, 5 and 8 (3 of 10 runs), 2 messages;
//  - enable_cinder_volume_service always fails on node 6;
//  - custom_plugin_task appears on node 6 in run 10 only;
//  - every other task takes 10..59 s + (run mod 3): never 5 s more than usual;
//  - the 6 stages (node null) are skipped.

const ENV = JSON.parse(readFileSync(join(__dirname, '../../../shared/data/fuel-9.0/example-environment.json'), 'utf8')) as {
  nodes: Record<string, { roles: string[] }>;
};

/** A stable base duration per task name, 10..59 s. */
const baseSeconds = (task: string): number => 10 + ([...task].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 1000, 7) % 50);

function fuelRun(run: number): StatsRow[] {
  const rows: StatsRow[] = [];
  for (const [key, tasks] of Object.entries(fuelEnvironmentGraph())) {
    const node = key === 'null' ? null : key;
    const role = ENV.nodes[key].roles[0] ?? null;
    tasks.forEach((t, i) => {
      const base = { run, task: t.id, node, role, offset: i * 60 };
      if (t.type === 'stage') rows.push(row({ ...base, seconds: 0, status: 'skipped' }));
      else if (t.id === 'netconfig') rows.push(row({ ...base, seconds: run === 10 && node === '3' ? 150 : 60 + (run % 3) }));
      else if (t.id === 'hiera' && node === '2' && [2, 5, 8].includes(run)) {
        const error = run === 5 ? 'hiera: connection refused' : 'Puppet timeout';
        rows.push(row({ ...base, seconds: 5, status: 'error', error }));
      } else if (t.id === 'enable_cinder_volume_service') rows.push(row({ ...base, seconds: 3, status: 'error', error: 'cinder down' }));
      else rows.push(row({ ...base, seconds: baseSeconds(t.id) + (run % 3) }));
    });
  }
  if (run === 10) rows.push(row({ run, task: 'custom_plugin_task', node: '6', role: 'cinder', seconds: 20 }));
  return rows;
}

const FUEL_HISTORY = Array.from({ length: 10 }, (_, i) => fuelRun(i + 1)).flat();

describe('on a history of the real Fuel 9.0 environment', () => {
  const current = FUEL_HISTORY.filter((r) => r.run_id === 10);

  it('finds netconfig, made slower on node 3 in run 10, and nothing else', () => {
    const answer = regressions(current, FUEL_HISTORY);
    // Per-run worst of runs 1..9: 61 62 60 61 62 60 61 62 60 → p50 61 (5th of 9), p95 62 (9th).
    expect(answer.regressions).toEqual([
      { task_name: 'netconfig', node_id: '3', duration: 150, baseline: { runs: 9, p50: 61, p95: 62 }, excess_seconds: 89, ratio: 150 / 61 },
    ]);
    expect(answer.new_tasks).toEqual([{ task_name: 'custom_plugin_task', node_id: '6', duration: 20, baseline_runs: 0 }]);
    expect(answer.not_enough_history).toEqual([]);
  });

  it('judges on the last `baseline` runs only, and lists a task with too few as not enough history', () => {
    // Baseline 2 < minRuns 3: nothing is judged, every known task with a duration is listed apart.
    const thin = regressions(current, FUEL_HISTORY, { baseline: 2 });
    expect(thin.regressions).toEqual([]);
    expect(thin.not_enough_history.find((t) => t.task_name === 'netconfig')).toEqual({
      task_name: 'netconfig',
      node_id: '3',
      duration: 150,
      baseline_runs: 2,
    });
    // Baseline 5 (runs 5..9): 62 60 61 62 60 → p50 61, p95 62.
    expect(regressions(current, FUEL_HISTORY, { baseline: 5 }).regressions[0].baseline).toEqual({ runs: 5, p50: 61, p95: 62 });
  });

  it('finds hiera flaky on node 2 (3 failures in 10 runs), not the task that always fails', () => {
    expect(flakyTasks(FUEL_HISTORY)).toEqual([
      {
        task_name: 'hiera',
        node_id: '2',
        failed: 3,
        succeeded: 7,
        failed_runs: [2, 5, 8],
        errors: [
          { message: 'Puppet timeout', count: 2 },
          { message: 'hiera: connection refused', count: 1 },
        ],
      },
    ]);
    // The last 5 runs (6..10): one failure, in run 8.
    expect(flakyTasks(FUEL_HISTORY, { lastRuns: 5 })).toEqual([
      { task_name: 'hiera', node_id: '2', failed: 1, succeeded: 4, failed_runs: [8], errors: [{ message: 'Puppet timeout', count: 1 }] },
    ]);
    // The last 2 runs (9, 10): no failure, nothing flaky.
    expect(flakyTasks(FUEL_HISTORY, { lastRuns: 2 })).toEqual([]);
  });

  it('task stats: the failure rates, per task and per role', () => {
    const stats = taskStats(FUEL_HISTORY, { trendRuns: 5 });
    const hiera = stats.find((s) => s.task_name === 'hiera')!;
    // hiera runs on the 6 nodes: 60 rows, 3 errors.
    expect(hiera).toMatchObject({ runs: 10, terminal_rows: 60, errors: 3, failure_rate: 0.05 });
    expect(hiera.last_failure).toEqual({ run_id: 8, node_id: '2', time: new Date(runStart(8).getTime() + (13 * 60 + 5) * 1000) });
    expect(hiera.by_role.map((r) => [r.role, r.terminal_rows, r.errors, r.failure_rate])).toEqual([
      ['cinder', 10, 0, 0],
      ['compute', 20, 0, 0],
      ['controller', 20, 3, 0.15],
      ['primary-controller', 10, 0, 0],
    ]);
    const cinder = stats.find((s) => s.task_name === 'enable_cinder_volume_service')!;
    expect(cinder).toMatchObject({ runs: 10, terminal_rows: 10, failure_rate: 1, p50: 3, max: 3 });
    expect(cinder.last_failure).toMatchObject({ run_id: 10, node_id: '6' });
    // netconfig: 60 rows of 60..62 s and one of 150 s. Recent runs 6..10 (30 rows) against 1..5.
    const netconfig = stats.find((s) => s.task_name === 'netconfig')!;
    expect(netconfig).toMatchObject({ runs: 10, timed_rows: 60, p50: 61, p95: 62, max: 150, failure_rate: 0 });
    expect(netconfig.trend).toEqual({ runs: 5, recent_runs: 5, previous_runs: 5, recent_p50: 61, previous_p50: 61, ratio: 1 });
    expect(stats.find((s) => s.task_name === 'deploy_start')).toMatchObject({ runs: 10, timed_rows: 0, p50: null, by_role: [] });
  });
});

describe('regressions: the rule', () => {
  /** History runs 1..n of a task, then the current run n+1 with `now` seconds. */
  const judge = (past: number[], now: number, options = {}) =>
    regressions([row({ run: past.length + 1, task: 't', seconds: now })], series('t', past), options);

  it('needs all three: above p95, ≥ 1.5 × p50, ≥ 5 s over p50', () => {
    const past = [10, 10, 10, 11, 12];
    expect(judge(past, 20).regressions).toHaveLength(1); // > 12, 2×, +10 s
    expect(judge(past, 12).regressions).toEqual([]); // at p95, not above it
    expect(judge([10, 10, 10, 30], 30).regressions).toEqual([]); // at p95 (30), though 3 × and +20 s
    expect(judge([10, 10, 10, 30], 30.001).regressions).toHaveLength(1);
    expect(judge(past, 14.9).regressions).toEqual([]); // above p95 but 1.49 ×
    expect(judge([1, 1, 1, 1], 4).regressions).toEqual([]); // 4 ×, but only 3 s more
    expect(judge([1, 1, 1, 1], 6).regressions).toEqual([
      { task_name: 't', node_id: '1', duration: 6, baseline: { runs: 4, p50: 1, p95: 1 }, excess_seconds: 5, ratio: 6 },
    ]);
    // Exactly 1.5 × the p50 (100) and exactly 5 s over it count; p95 is 140.
    expect(judge([100, 100, 100, 140], 150).regressions).toHaveLength(1);
    expect(judge([100, 100, 100, 140], 150, { minRatio: 1.6 }).regressions).toEqual([]);
    expect(judge([10, 10, 10], 15).regressions).toHaveLength(1);
    expect(judge([10, 10, 10], 14.999).regressions).toEqual([]);
    expect(judge([0, 0, 0], 5).regressions[0]).toMatchObject({ excess_seconds: 5, ratio: null });
  });

  it('below minRuns the task is listed apart, not judged; without any past row it is new', () => {
    expect(judge([10, 10], 100)).toEqual({
      regressions: [],
      new_tasks: [],
      not_enough_history: [{ task_name: 't', node_id: '1', duration: 100, baseline_runs: 2 }],
    });
    expect(judge([10, 10], 100, { minRuns: 2 }).regressions).toHaveLength(1);
    expect(judge([], 100)).toEqual({
      regressions: [],
      new_tasks: [{ task_name: 't', node_id: '1', duration: 100, baseline_runs: 0 }],
      not_enough_history: [],
    });
  });

  it('ignores the current run and later runs in the history, and compares worst node with worst node', () => {
    const history = [
      ...series('t', [10, 10, 10]), // runs 1..3 on node 1
      ...series('t', [10, 30, 30], '2'), // runs 1..3 on node 2: per-run worst 10, 30, 30
      row({ run: 4, task: 't', seconds: 100 }), // the current run itself
      row({ run: 5, task: 't', seconds: 1000 }), // a later run
    ];
    const current = [row({ run: 4, task: 't', node: '1', seconds: 100 }), row({ run: 4, task: 't', node: '3', seconds: 5 })];
    expect(regressions(current, history).regressions).toEqual([
      { task_name: 't', node_id: '1', duration: 100, baseline: { runs: 3, p50: 30, p95: 30 }, excess_seconds: 70, ratio: 100 / 30 },
    ]);
  });

  it('does not judge a current task without a duration; orders by excess', () => {
    const history = [...series('a', [10, 10, 10]), ...series('b', [10, 10, 10]), ...series('c', [10, 10, 10])];
    const current = [
      row({ run: 4, task: 'a', seconds: 30 }),
      row({ run: 4, task: 'b', seconds: 60 }),
      row({ run: 4, task: 'c', seconds: 0, status: 'skipped' }),
    ];
    const answer = regressions(current, history);
    expect(answer.regressions.map((r) => [r.task_name, r.excess_seconds])).toEqual([
      ['b', 50],
      ['a', 20],
    ]);
    expect(answer.not_enough_history).toEqual([]);
    expect(regressions([], history)).toEqual({ regressions: [], new_tasks: [], not_enough_history: [] });
    expect(() => regressions(current, history, { baseline: 0 })).toThrow(RangeError);
    expect(() => regressions(current, history, { minRatio: -1 })).toThrow(RangeError);
    expect(() => regressions(current, history, { minExtraSeconds: NaN })).toThrow(RangeError);
    expect(() => flakyTasks([], { lastRuns: 0 })).toThrow(RangeError);
  });
});

describe('flakyTasks: known histories', () => {
  it('is per node: failing on one node and succeeding on another is not flaky', () => {
    const rows = [
      row({ run: 1, task: 't', node: '4', status: 'error', error: 'x' }),
      row({ run: 1, task: 't', node: '5' }),
      row({ run: 2, task: 't', node: '4', status: 'error', error: 'x' }),
      row({ run: 2, task: 't', node: '5', status: 'skipped' }),
    ];
    expect(flakyTasks(rows)).toEqual([]);
  });

  it('counts messages, null last among ties, and orders by failures', () => {
    const rows = [
      ...[1, 2, 3].map((run) => row({ run, task: 'b', status: 'error', error: run === 1 ? null : 'm' })),
      row({ run: 4, task: 'b' }),
      row({ run: 1, task: 'a', status: 'error', error: null }),
      row({ run: 2, task: 'a', status: 'error', error: 'z' }),
      row({ run: 3, task: 'a' }),
    ];
    expect(flakyTasks(rows)).toEqual([
      {
        task_name: 'b',
        node_id: '1',
        failed: 3,
        succeeded: 1,
        failed_runs: [1, 2, 3],
        errors: [
          { message: 'm', count: 2 },
          { message: null, count: 1 },
        ],
      },
      {
        task_name: 'a',
        node_id: '1',
        failed: 2,
        succeeded: 1,
        failed_runs: [1, 2],
        errors: [
          { message: 'z', count: 1 },
          { message: null, count: 1 },
        ],
      },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties

const arbRow = fc
  .record({
    run: fc.integer({ min: 1, max: 8 }),
    hour: fc.integer({ min: 0, max: 5 }),
    task: fc.constantFrom('a', 'b', 'c'),
    node: fc.constantFrom<string | null>('1', '2', 'master', null),
    role: fc.constantFrom<string | null>(null, 'controller', 'compute'),
    status: fc.constantFrom(...TASK_STATUSES),
    ms: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: null }),
    error: fc.constantFrom<string | null>(null, 'e1', 'e2'),
  })
  .map((r): StatsRow => ({
    run_id: r.run,
    // A run's start depends on its id only, as in the database.
    run_time: new Date(BASE + ((r.run * 7) % 5) * HOUR),
    node_id: r.node,
    task_name: r.task,
    role: r.role,
    status: r.status,
    time_start: r.ms === null ? null : new Date(BASE + r.hour * HOUR),
    time_end: r.ms === null ? null : new Date(BASE + r.hour * HOUR + r.ms),
    error_message: r.error,
  }));
const arbRows = fc.array(arbRow, { maxLength: 60 });

/** The same rows with every duration multiplied by k. */
const scaled = (rows: StatsRow[], k: number): StatsRow[] =>
  rows.map((r) =>
    r.time_start === null || r.time_end === null
      ? r
      : { ...r, time_end: new Date(r.time_start.getTime() + k * (r.time_end.getTime() - r.time_start.getTime())) },
  );

describe('properties', () => {
  it('taskStats: p50 ≤ p95 ≤ max, failure rate in [0, 1], per role the same', () => {
    fc.assert(
      fc.property(arbRows, fc.integer({ min: 1, max: 4 }), (rows, trendRuns) => {
        for (const s of taskStats(rows, { trendRuns })) {
          for (const f of [s, ...s.by_role]) {
            if (f.p50 !== null) {
              expect(f.p50).toBeLessThanOrEqual(f.p95!);
              expect(f.p95).toBeLessThanOrEqual(f.max!);
            } else expect(f.timed_rows).toBe(0);
            expect(f.failure_rate).toBeGreaterThanOrEqual(0);
            expect(f.failure_rate).toBeLessThanOrEqual(1);
            expect(f.errors === 0).toBe(f.last_failure === null);
          }
        }
      }),
    );
  });

  it('taskStats: scaling all durations by k scales p50, p95, max and the trend p50s, and keeps the trend ratio', () => {
    fc.assert(
      fc.property(arbRows, fc.integer({ min: 2, max: 10 }), (rows, k) => {
        const before = taskStats(rows, { trendRuns: 2 });
        const after = taskStats(scaled(rows, k), { trendRuns: 2 });
        expect(after.length).toBe(before.length);
        before.forEach((b, i) => {
          const a = after[i];
          for (const key of ['p50', 'p95', 'max'] as const) {
            if (b[key] === null) expect(a[key]).toBeNull();
            else expect(a[key]).toBeCloseTo(k * b[key], 6);
          }
          expect(a.failure_rate).toBe(b.failure_rate);
          if (b.trend === null) expect(a.trend).toBeNull();
          else {
            expect(a.trend!.recent_p50).toBeCloseTo(k * b.trend.recent_p50, 6);
            if (b.trend.ratio !== null) expect(a.trend!.ratio).toBeCloseTo(b.trend.ratio, 9);
          }
        });
      }),
    );
  });

  it('flakyTasks: both counts > 0, messages add up to the failures, the order of rows does not matter', () => {
    fc.assert(
      fc.property(arbRows, fc.integer({ min: 1, max: 8 }), (rows, lastRuns) => {
        const flaky = flakyTasks(rows, { lastRuns });
        for (const f of flaky) {
          expect(f.failed).toBeGreaterThan(0);
          expect(f.succeeded).toBeGreaterThan(0);
          expect(f.errors.reduce((n, e) => n + e.count, 0)).toBe(f.failed);
          expect(f.failed_runs.length).toBeGreaterThan(0);
          expect(f.failed_runs.length).toBeLessThanOrEqual(Math.min(f.failed, lastRuns));
        }
        expect(flakyTasks([...rows].reverse(), { lastRuns })).toEqual(flaky);
      }),
    );
  });

  it('regressions: each one satisfies the rule, and the order of rows does not matter', () => {
    fc.assert(
      fc.property(arbRows, (rows) => {
        const current = rows.filter((r) => r.run_id === 8);
        const history = rows.filter((r) => r.run_id !== 8);
        const answer = regressions(current, history);
        for (const r of answer.regressions) {
          expect(r.baseline.runs).toBeGreaterThanOrEqual(3);
          expect(r.duration).toBeGreaterThan(r.baseline.p95);
          expect(r.duration).toBeGreaterThanOrEqual(1.5 * r.baseline.p50);
          expect(r.excess_seconds).toBeGreaterThanOrEqual(5);
        }
        expect(regressions([...current].reverse(), [...history].reverse())).toEqual(answer);
      }),
    );
  });
});
