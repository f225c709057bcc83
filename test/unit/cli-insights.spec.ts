import { parse as parseYaml } from 'yaml';
import { renderCriticalPath, renderFlaky, renderRegressions, renderTaskStats } from '../../src/cli/insights-render';
import { OutputOptions } from '../../src/cli/output';
import { FLAKY, PATH, REGRESSIONS, TASK_STATS } from './cli-insights.fixtures';

/**
 * Issue #15's CLI commands print the service's answers: the exact text of each format for known
 * answers (json and yaml the whole object; csv and value the rows; table the rows with the totals).
 */
const out = (format: OutputOptions['format'], columns: string[] = []): OutputOptions => ({
  format,
  columns,
  noindent: false,
  quote: 'nonnumeric',
  color: false,
});
const lines = (...l: string[]) => l.map((x) => `${x}\n`).join('');
const csv = (...l: string[]) => l.map((x) => `${x}\r\n`).join('');

describe('dhist task history critical-path', () => {
  it('table: the totals above the steps', () => {
    expect(renderCriticalPath(PATH, out('table'))).toBe(
      lines(
        'transaction 12 (ready): critical path of 3 steps; run 300 s from 2026-03-01T10:00:00.000Z to 2026-03-01T10:05:00.000Z: 280 s in tasks, 20 s waiting',
        '+---------+--------------+--------+--------------------------+--------------------------+------------+--------+----------+',
        '| node_id | task_name    | status | time_start               | time_end                 | duration_s | wait_s | via      |',
        '+---------+--------------+--------+--------------------------+--------------------------+------------+--------+----------+',
        '|         | deploy_start | ready  | 2026-03-01T10:00:00.000Z | 2026-03-01T10:00:10.000Z | 10         | 0      |          |',
        '| 1       | netconfig    | ready  | 2026-03-01T10:00:15.000Z | 2026-03-01T10:02:15.000Z | 120        | 5      | requires |',
        '| 1       | database     | error  | 2026-03-01T10:02:30.000Z | 2026-03-01T10:05:00.000Z | 150        | 15     | node     |',
        '+---------+--------------+--------+--------------------------+--------------------------+------------+--------+----------+',
      ),
    );
  });

  it('table: a fallback path and a running run say so below the table; no step, no path', () => {
    const text = renderCriticalPath({ ...PATH, fallback: true, running: true }, out('table', ['task_name']));
    expect(text.split('\n').slice(-3)).toEqual([
      "fallback: the run's graph has no dependency, so the path follows each node's own task order",
      'running: the run has not ended, this is the path so far (open tasks counted up to now)',
      '',
    ]);
    const empty = {
      ...PATH,
      status: 'pending' as const,
      steps: [],
      time_start: null,
      time_end: null,
      duration_s: 0,
      tasks_s: 0,
      waiting_s: 0,
    };
    expect(renderCriticalPath(empty, out('table', ['task_name']))).toBe(
      lines('transaction 12 (pending): no task has started, no critical path yet', '+-----------+', '| task_name |', '+-----------+'),
    );
  });

  it('csv and value: the steps only', () => {
    expect(renderCriticalPath(PATH, out('csv'))).toBe(
      csv(
        '"node_id","task_name","status","time_start","time_end","duration_s","wait_s","via"',
        ',"deploy_start","ready","2026-03-01T10:00:00.000Z","2026-03-01T10:00:10.000Z",10,0,',
        '"1","netconfig","ready","2026-03-01T10:00:15.000Z","2026-03-01T10:02:15.000Z",120,5,"requires"',
        '"1","database","error","2026-03-01T10:02:30.000Z","2026-03-01T10:05:00.000Z",150,15,"node"',
      ),
    );
    expect(renderCriticalPath(PATH, out('value', ['task_name', 'wait_s']))).toBe(lines('deploy_start 0', 'netconfig 5', 'database 15'));
  });

  it('json and yaml: the whole answer', () => {
    expect(renderCriticalPath(PATH, out('json'))).toBe(JSON.stringify(PATH, null, 2) + '\n');
    expect(renderCriticalPath(PATH, { ...out('json'), noindent: true })).toBe(JSON.stringify(PATH) + '\n');
    const yaml = renderCriticalPath(PATH, out('yaml'));
    expect(parseYaml(yaml)).toEqual(PATH);
    expect(yaml.split('\n').slice(0, 12)).toEqual([
      'transaction_id: 12',
      'status: ready',
      'fallback: false',
      'running: false',
      'time_start: 2026-03-01T10:00:00.000Z',
      'time_end: 2026-03-01T10:05:00.000Z',
      'duration_s: 300',
      'tasks_s: 280',
      'waiting_s: 20',
      'edges: 7',
      'steps:',
      '  - node_id: null',
    ]);
  });
});

describe('dhist task history regressions', () => {
  it('table: the rule above, the regressions, then the tasks not judged, apart', () => {
    expect(renderRegressions(REGRESSIONS, out('table'))).toBe(
      lines(
        'transaction 30 (cluster 3): 1 regression against the previous 20 real runs; rule: above the baseline p95, at least 1.5× its p50 and 5 s longer, with at least 3 baseline runs',
        '+-----------+---------+----------+--------------+--------------+---------------+----------------+-------+',
        '| task_name | node_id | duration | baseline_p50 | baseline_p95 | baseline_runs | excess_seconds | ratio |',
        '+-----------+---------+----------+--------------+--------------+---------------+----------------+-------+',
        '| netconfig | 4       | 95       | 30           | 41           | 9             | 65             | 3.167 |',
        '+-----------+---------+----------+--------------+--------------+---------------+----------------+-------+',
        'new in this run (no history on this cluster):',
        '+-----------+---------+----------+---------------+',
        '| task_name | node_id | duration | baseline_runs |',
        '+-----------+---------+----------+---------------+',
        '| ceph      | 5       | 12.5     | 0             |',
        '+-----------+---------+----------+---------------+',
        'not enough history (fewer than 3 baseline runs):',
        '+-----------+---------+----------+---------------+',
        '| task_name | node_id | duration | baseline_runs |',
        '+-----------+---------+----------+---------------+',
        '| heat      |         |          | 2             |',
        '+-----------+---------+----------+---------------+',
      ),
    );
  });

  it('table: nothing judged apart, nothing listed apart', () => {
    const text = renderRegressions({ ...REGRESSIONS, regressions: [], new_tasks: [], not_enough_history: [] }, out('table', ['task_name']));
    expect(text).toBe(
      lines(
        'transaction 30 (cluster 3): 0 regressions against the previous 20 real runs; rule: above the baseline p95, at least 1.5× its p50 and 5 s longer, with at least 3 baseline runs',
        '+-----------+',
        '| task_name |',
        '+-----------+',
      ),
    );
  });

  it('csv and value: the regressions; json and yaml: the whole answer', () => {
    expect(renderRegressions(REGRESSIONS, out('csv'))).toBe(
      csv(
        '"task_name","node_id","duration","baseline_p50","baseline_p95","baseline_runs","excess_seconds","ratio"',
        '"netconfig","4",95,30,41,9,65,3.167',
      ),
    );
    expect(renderRegressions(REGRESSIONS, out('value'))).toBe(lines('netconfig 4 95 30 41 9 65 3.167'));
    expect(renderRegressions(REGRESSIONS, out('json'))).toBe(JSON.stringify(REGRESSIONS, null, 2) + '\n');
    expect(parseYaml(renderRegressions(REGRESSIONS, out('yaml')))).toEqual(REGRESSIONS);
  });
});

describe('dhist env task-stats', () => {
  const HEAD =
    'cluster 3, since the last reset: 10 real finished runs, 2 tasks; durations in seconds; trend_ratio: p50 of the last 5 runs / p50 of the 5 before';

  it('table: one row per task', () => {
    expect(renderTaskStats(TASK_STATS, false, out('table'))).toBe(
      lines(
        HEAD,
        '+----------------------+------+-----+-----+------+--------------+--------+---------------------------------------+-------------+',
        '| task_name            | runs | p50 | p95 | max  | failure_rate | errors | last_failure                          | trend_ratio |',
        '+----------------------+------+-----+-----+------+--------------+--------+---------------------------------------+-------------+',
        '| hiera                | 10   | 12  | 20  | 22.5 | 0.1          | 3      | 28 (node 4, 2026-03-02T08:00:00.000Z) | 1.5         |',
        '| upload_configuration | 10   |     |     |      | 0            | 0      |                                       |             |',
        '+----------------------+------+-----+-----+------+--------------+--------+---------------------------------------+-------------+',
      ),
    );
  });

  it('--by-role: one row per task and role', () => {
    expect(renderTaskStats(TASK_STATS, true, out('csv'))).toBe(
      csv(
        '"task_name","role","runs","p50","p95","max","failure_rate","errors","last_failure","trend_ratio"',
        '"hiera","compute",10,11,13,13,0,0,,',
        '"hiera","controller",10,12,20,22.5,0.15,3,"28 (node 4, 2026-03-02T08:00:00.000Z)",1.5',
      ),
    );
    expect(renderTaskStats(TASK_STATS, true, out('value', ['task_name', 'role', 'trend_recent_p50']))).toBe(
      lines('hiera compute ', 'hiera controller 15'),
    );
  });

  it('csv and value: the rows; json and yaml: the whole answer', () => {
    expect(renderTaskStats(TASK_STATS, false, out('csv'))).toBe(
      csv(
        '"task_name","runs","p50","p95","max","failure_rate","errors","last_failure","trend_ratio"',
        '"hiera",10,12,20,22.5,0.1,3,"28 (node 4, 2026-03-02T08:00:00.000Z)",1.5',
        '"upload_configuration",10,,,,0,0,,',
      ),
    );
    expect(renderTaskStats(TASK_STATS, false, out('value', ['task_name', 'p95', 'timed_rows']))).toBe(
      lines('hiera 20 30', 'upload_configuration  0'),
    );
    expect(renderTaskStats(TASK_STATS, true, out('json'))).toBe(JSON.stringify(TASK_STATS, null, 2) + '\n');
    expect(parseYaml(renderTaskStats(TASK_STATS, false, out('yaml')))).toEqual(TASK_STATS);
  });

  it('table and value show numbers to three decimals; csv and json keep them as answered', () => {
    const odd = { ...TASK_STATS, tasks: [{ ...TASK_STATS.tasks[1], p50: 207.17900000000003, failure_rate: 4 / 27, by_role: [] }] };
    const cols = ['task_name', 'p50', 'failure_rate'];
    expect(renderTaskStats(odd, false, out('value', cols))).toBe(lines('upload_configuration 207.179 0.148'));
    expect(renderTaskStats(odd, false, out('csv', cols))).toBe(
      csv('"task_name","p50","failure_rate"', '"upload_configuration",207.17900000000003,0.14814814814814814'),
    );
    expect(JSON.parse(renderTaskStats(odd, false, out('json'))).tasks[0].p50).toBe(207.17900000000003);
  });

  it('an unknown column is a usage error naming the columns', () => {
    expect(() => renderTaskStats(TASK_STATS, false, out('table', ['p99']))).toThrow(
      /unknown column 'p99': choose from task_name, runs, p50/,
    );
  });
});

describe('dhist env flaky', () => {
  it('table: the runs looked at above the (task, node) rows', () => {
    expect(renderFlaky(FLAKY, out('table'))).toBe(
      lines(
        'cluster 3, all epochs: 1 flaky task (failed and succeeded on the same node) in the last 10 real runs (transactions 21 to 30)',
        '+-----------+---------+--------+-----------+-------------+--------------+',
        '| task_name | node_id | failed | succeeded | failed_runs | top_error    |',
        '+-----------+---------+--------+-----------+-------------+--------------+',
        '| netconfig | 4       | 3      | 7         | 22 25 29    | timeout (2×) |',
        '+-----------+---------+--------+-----------+-------------+--------------+',
      ),
    );
  });

  it('csv and value: the rows (every error on request); json and yaml: the whole answer', () => {
    expect(renderFlaky(FLAKY, out('csv'))).toBe(
      csv('"task_name","node_id","failed","succeeded","failed_runs","top_error"', '"netconfig","4",3,7,"22 25 29","timeout (2×)"'),
    );
    expect(renderFlaky(FLAKY, out('value', ['task_name', 'errors']))).toBe(lines('netconfig timeout (2×); (no message) (1×)'));
    expect(renderFlaky(FLAKY, out('json'))).toBe(JSON.stringify(FLAKY, null, 2) + '\n');
    expect(renderFlaky(FLAKY, out('yaml'))).toBe(
      lines(
        'cluster_id: 3',
        'epoch: all',
        'last_runs: 20',
        'runs:',
        ...FLAKY.runs.map((r) => `  - ${r}`),
        'tasks:',
        '  - task_name: netconfig',
        '    node_id: "4"',
        '    failed: 3',
        '    succeeded: 7',
        '    failed_runs:',
        '      - 22',
        '      - 25',
        '      - 29',
        '    errors:',
        '      - message: timeout',
        '        count: 2',
        '      - message: null',
        '        count: 1',
      ),
    );
  });

  it('no flaky task: the header says so over an empty table', () => {
    const text = renderFlaky({ ...FLAKY, runs: [], tasks: [] }, out('table', ['task_name']));
    expect(text).toBe(
      lines(
        'cluster 3, all epochs: 0 flaky tasks (failed and succeeded on the same node) in the last 0 real runs',
        '+-----------+',
        '| task_name |',
        '+-----------+',
      ),
    );
  });
});
