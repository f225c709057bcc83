import { statsFigures, StatsInput } from '../../src/history/insights/stats-figures';
import { rolesOfNode } from '../../src/history/task-graph';

/**
 * The route's task_stats figures from the repository's lists, without a database: what the lists add to the
 * rules of task-stats.ts (a row counted under every role of its node in that run, the master node's role,
 * the roles filter, the DTO's names). test/medium/insights.spec.ts holds them equal to taskStats() at random.
 */

const FAILED_AT = Date.parse('2026-02-01T00:00:10Z');

/** Runs 10, 11, 12 in run order; node 1 has two roles in run 10, one in 11; the master is listed only in run 12. */
const input: StatsInput = {
  runs: [10, 11, 12],
  nodes: [
    { transaction_id: 10, node_id: '1', roles: ['compute', 'ceph-osd'] },
    { transaction_id: 11, node_id: '1', roles: ['compute'] },
    { transaction_id: 12, node_id: 'master', roles: ['controller'] },
  ],
  rows: [
    { task_name: 'hiera', node_id: '1', runs: [10, 11], durations: [5, null], failed_runs: [11], failed_times: [FAILED_AT] },
    { task_name: 'hiera', node_id: 'master', runs: [10, 12], durations: [3, 7], failed_runs: [], failed_times: [] },
    { task_name: 'deploy_start', node_id: null, runs: [10, 11, 12], durations: [1, 2, 3], failed_runs: [], failed_times: [] },
  ],
  trendRuns: 2,
};

const failure = { transaction_id: 11, node_id: '1', time: '2026-02-01T00:00:10.000Z' };
const quiet = { failure_rate: 0, errors: 0, last_failure: null, trend: null };

describe('rolesOfNode', () => {
  it('gives the master node the role master whatever its run says, and any other node what its run says', () => {
    expect(rolesOfNode('master', [])).toEqual(['master']);
    expect(rolesOfNode('master', ['controller'])).toEqual(['controller', 'master']);
    const given = ['master', 'controller'];
    expect(rolesOfNode('master', given)).toBe(given);
    expect(rolesOfNode('1', ['compute'])).toEqual(['compute']);
    expect(rolesOfNode('1', [])).toEqual([]);
    expect(rolesOfNode(null, [])).toEqual([]);
  });
});

describe('statsFigures', () => {
  it('counts a row under each role of its node in its run, the master under master, under the DTO names', () => {
    expect(statsFigures(input)).toEqual({
      runs: 3,
      tasks: [
        {
          task_name: 'deploy_start',
          ...{ runs: 3, timed_rows: 3, p50: 2, p95: 3, max: 3, terminal_rows: 3, ...quiet },
          trend: { runs: 2, recent_runs: 2, previous_runs: 1, recent_p50: 2, previous_p50: 1, ratio: 2 },
          // The cluster-level node has no role.
          by_role: [],
        },
        {
          task_name: 'hiera',
          ...{ runs: 3, timed_rows: 3, p50: 5, p95: 7, max: 7, failure_rate: 1 / 4, errors: 1, terminal_rows: 4, last_failure: failure },
          // Runs 11 and 12 (7; run 11's row has no duration) against run 10 (3 and 5, nearest rank: 3).
          trend: { runs: 2, recent_runs: 2, previous_runs: 1, recent_p50: 7, previous_p50: 3, ratio: 7 / 3 },
          by_role: [
            { role: 'ceph-osd', runs: 1, timed_rows: 1, p50: 5, p95: 5, max: 5, terminal_rows: 1, ...quiet },
            {
              role: 'compute',
              runs: 2,
              timed_rows: 1,
              p50: 5,
              p95: 5,
              max: 5,
              terminal_rows: 2,
              ...quiet,
              ...{ failure_rate: 1 / 2, errors: 1 },
              last_failure: failure,
            },
            { role: 'controller', runs: 1, timed_rows: 1, p50: 7, p95: 7, max: 7, terminal_rows: 1, ...quiet },
            // Unlisted in run 10 and listed as controller in run 12: master in both.
            { role: 'master', runs: 2, timed_rows: 2, p50: 3, p95: 7, max: 7, terminal_rows: 2, ...quiet },
          ],
        },
      ],
    });
  });

  it('keeps only the rows of nodes with a role asked for, and lists only those roles', () => {
    expect(statsFigures({ ...input, roles: ['master'] })).toEqual({
      runs: 2,
      tasks: [
        {
          task_name: 'hiera',
          ...{ runs: 2, timed_rows: 2, p50: 3, p95: 7, max: 7, terminal_rows: 2, ...quiet },
          by_role: [{ role: 'master', runs: 2, timed_rows: 2, p50: 3, p95: 7, max: 7, terminal_rows: 2, ...quiet }],
        },
      ],
    });
  });

  it('answers nothing for no runs', () => {
    expect(statsFigures({ runs: [], nodes: [], rows: [], trendRuns: 10 })).toEqual({ runs: 0, tasks: [] });
  });
});
