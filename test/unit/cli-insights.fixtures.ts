// Types only: the answers' shapes, as the service declares them (erased at run time; the CLI speaks HTTP only).
import type { CriticalPathDto as CriticalPathAnswer } from '../../src/history/dto/critical-path.dto';
import type {
  FlakyTasksAnswerDto as FlakyAnswer,
  RegressionsAnswerDto as RegressionsAnswer,
  TaskStatsAnswerDto as TaskStatsAnswer,
} from '../../src/history/dto/insights.dto';

/** Known answers of the issue #15 routes (shaped as the contract says), for the CLI's rendering tests. */

export const PATH: CriticalPathAnswer = {
  transaction_id: 12,
  status: 'ready',
  fallback: false,
  running: false,
  time_start: '2026-03-01T10:00:00.000Z',
  time_end: '2026-03-01T10:05:00.000Z',
  duration_s: 300,
  tasks_s: 280,
  waiting_s: 20,
  edges: 7,
  steps: [
    {
      node_id: null,
      task_name: 'deploy_start',
      status: 'ready',
      time_start: '2026-03-01T10:00:00.000Z',
      time_end: '2026-03-01T10:00:10.000Z',
      duration_s: 10,
      wait_s: 0,
      via: null,
    },
    {
      node_id: '1',
      task_name: 'netconfig',
      status: 'ready',
      time_start: '2026-03-01T10:00:15.000Z',
      time_end: '2026-03-01T10:02:15.000Z',
      duration_s: 120,
      wait_s: 5,
      via: 'requires',
    },
    {
      node_id: '1',
      task_name: 'database',
      status: 'error',
      time_start: '2026-03-01T10:02:30.000Z',
      time_end: '2026-03-01T10:05:00.000Z',
      duration_s: 150,
      wait_s: 15,
      via: 'node',
    },
  ],
};

export const REGRESSIONS: RegressionsAnswer = {
  transaction_id: 30,
  cluster_id: 3,
  baseline: 20,
  rule: { percentile: 95, min_ratio: 1.5, min_extra_seconds: 5, min_runs: 3 },
  regressions: [
    { task_name: 'netconfig', node_id: '4', duration: 95, baseline: { runs: 9, p50: 30, p95: 41 }, excess_seconds: 65, ratio: 3.167 },
  ],
  new_tasks: [{ task_name: 'ceph', node_id: '5', duration: 12.5, baseline_runs: 0 }],
  not_enough_history: [{ task_name: 'heat', node_id: null, duration: null, baseline_runs: 2 }],
};

export const TASK_STATS: TaskStatsAnswer = {
  cluster_id: 3,
  epoch: 'current',
  runs: 10,
  trend_runs: 5,
  tasks: [
    {
      task_name: 'hiera',
      runs: 10,
      timed_rows: 30,
      p50: 12,
      p95: 20,
      max: 22.5,
      failure_rate: 0.1,
      errors: 3,
      terminal_rows: 30,
      last_failure: { transaction_id: 28, node_id: '4', time: '2026-03-02T08:00:00.000Z' },
      trend: { runs: 5, recent_runs: 5, previous_runs: 5, recent_p50: 15, previous_p50: 10, ratio: 1.5 },
      by_role: [
        {
          role: 'compute',
          runs: 10,
          timed_rows: 10,
          p50: 11,
          p95: 13,
          max: 13,
          failure_rate: 0,
          errors: 0,
          terminal_rows: 10,
          last_failure: null,
          trend: null,
        },
        {
          role: 'controller',
          runs: 10,
          timed_rows: 20,
          p50: 12,
          p95: 20,
          max: 22.5,
          failure_rate: 0.15,
          errors: 3,
          terminal_rows: 20,
          last_failure: { transaction_id: 28, node_id: '4', time: '2026-03-02T08:00:00.000Z' },
          trend: { runs: 5, recent_runs: 5, previous_runs: 5, recent_p50: 15, previous_p50: 10, ratio: 1.5 },
        },
      ],
    },
    {
      task_name: 'upload_configuration',
      runs: 10,
      timed_rows: 0,
      p50: null,
      p95: null,
      max: null,
      failure_rate: 0,
      errors: 0,
      terminal_rows: 30,
      last_failure: null,
      trend: null,
      by_role: [],
    },
  ],
};

export const FLAKY: FlakyAnswer = {
  cluster_id: 3,
  epoch: 'all',
  last_runs: 20,
  runs: [21, 22, 23, 24, 25, 26, 27, 28, 29, 30],
  tasks: [
    {
      task_name: 'netconfig',
      node_id: '4',
      failed: 3,
      succeeded: 7,
      failed_runs: [22, 25, 29],
      errors: [
        { message: 'timeout', count: 2 },
        { message: null, count: 1 },
      ],
    },
  ],
};
