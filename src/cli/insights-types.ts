/**
 * The answers of the issue #15 routes, as the CLI reads them. They mirror the service's DTO classes
 * (src/history/dto/critical-path.dto.ts and src/history/dto/insights.dto.ts), written here after the
 * contract until those land on main: then this file becomes `import type` from them (types only: the
 * CLI speaks HTTP and never loads the service's code). Times are ISO 8601 strings, durations seconds.
 */

/** GET /api/v1/transactions/:id/critical_path, one step of the chain. */
export interface CriticalPathStep {
  node_id: string | null;
  task_name: string;
  status: string;
  time_start: string;
  time_end: string;
  duration_s: number;
  wait_s: number;
  via: 'requires' | 'node' | null;
}

/** GET /api/v1/transactions/:id/critical_path */
export interface CriticalPathAnswer {
  transaction_id: number;
  /** The run's status. */
  status: string;
  /** The graph had no dependency: the path is the same-node chain only. */
  fallback: boolean;
  /** The run (or a row) has not ended: the path so far. */
  running: boolean;
  time_start: string | null;
  time_end: string | null;
  duration_s: number;
  tasks_s: number;
  waiting_s: number;
  /** Graph edges kept. */
  edges: number;
  steps: CriticalPathStep[];
}

export interface LastFailure {
  transaction_id: number;
  node_id: string | null;
  time: string | null;
}

export interface Trend {
  runs: number;
  recent_runs: number;
  previous_runs: number;
  recent_p50: number;
  previous_p50: number;
  ratio: number | null;
}

export interface DurationFigures {
  runs: number;
  timed_rows: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
  failure_rate: number;
  errors: number;
  terminal_rows: number;
  last_failure: LastFailure | null;
  trend: Trend | null;
}

export interface RoleStats extends DurationFigures {
  role: string;
}

export interface TaskStats extends DurationFigures {
  task_name: string;
  by_role: RoleStats[];
}

/** GET /api/v1/clusters/:id/task_stats */
export interface TaskStatsAnswer {
  cluster_id: number;
  epoch: 'current' | 'all';
  /** Real finished runs counted. */
  runs: number;
  trend_runs: number;
  tasks: TaskStats[];
}

export interface Baseline {
  runs: number;
  p50: number;
  p95: number;
}

export interface Regression {
  task_name: string;
  node_id: string | null;
  duration: number;
  baseline: Baseline;
  excess_seconds: number;
  ratio: number | null;
}

export interface UnjudgedTask {
  task_name: string;
  node_id: string | null;
  duration: number | null;
  baseline_runs: number;
}

/** GET /api/v1/transactions/:id/regressions */
export interface RegressionsAnswer {
  transaction_id: number;
  cluster_id: number;
  baseline: number;
  rule: { percentile: number; min_ratio: number; min_extra_seconds: number; min_runs: number };
  regressions: Regression[];
  new_tasks: UnjudgedTask[];
  not_enough_history: UnjudgedTask[];
}

export interface ErrorCount {
  message: string | null;
  count: number;
}

export interface FlakyTask {
  task_name: string;
  node_id: string | null;
  failed: number;
  succeeded: number;
  failed_runs: number[];
  errors: ErrorCount[];
}

/** GET /api/v1/clusters/:id/flaky_tasks */
export interface FlakyAnswer {
  cluster_id: number;
  epoch: 'current' | 'all';
  last_runs: number;
  /** Transaction ids considered, oldest first. */
  runs: number[];
  tasks: FlakyTask[];
}
