import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { IsTime, ListParam } from '../../common/http/validators';
import { EPOCHS } from './page-query.dto';

/*
 * Issue #15's insights: task statistics across a cluster's runs, a run's regressions, flaky tasks.
 * Only real (dry_run false) runs count; rows the service closed out (they never reported) are neither
 * durations nor failures; see src/history/persistence/insights.repository.ts and task-stats.ts for the rules.
 */

/** Largest N of `trend_runs`, `baseline` and `last_runs`: far more than a cluster's useful history window. */
export const MAX_INSIGHT_RUNS = 1000;
export type Epoch = (typeof EPOCHS)[number];

const runsMessage = (name: string) => `${name} must be an integer from 1 to ${MAX_INSIGHT_RUNS}`;
/** An optional count of runs, 1 to MAX_INSIGHT_RUNS. */
const RunCount = (name: string): PropertyDecorator =>
  applyDecorators(
    IsOptional(),
    Type(() => Number),
    IsInt({ message: runsMessage(name) }),
    Min(1, { message: runsMessage(name) }),
    Max(MAX_INSIGHT_RUNS, { message: runsMessage(name) }),
  );
const EPOCH_MESSAGE = `epoch must be one of: ${EPOCHS.join(', ')}`;

export class TaskStatsQueryDto {
  /** Only runs started at or after this ISO 8601 time (the run's start, not its rows'). */
  @IsOptional()
  @IsTime({ message: 'since must be an ISO 8601 time, e.g. 2026-03-01T00:00:00Z' })
  since?: string;

  /** Only runs started before this ISO 8601 time. */
  @IsOptional()
  @IsTime({ message: 'until must be an ISO 8601 time, e.g. 2026-03-08T00:00:00Z' })
  until?: string;

  /** Comma-separated node ids; `master` for the master node, `null` for cluster-level tasks. */
  @ListParam()
  nodes?: string[];

  /** Comma-separated task names. */
  @ListParam()
  tasks_names?: string[];

  /** Comma-separated node roles (as each run's start gave them; the master node has role `master`): only rows of nodes with one of them; `by_role` lists only these. */
  @ListParam()
  roles?: string[];

  /** `current` (default): the runs since the cluster's last reset; `all`: across resets. */
  @IsOptional()
  @IsIn(EPOCHS, { message: EPOCH_MESSAGE })
  epoch?: Epoch;

  /** N of the trend: each task's last N runs against its N before (default 10). */
  @RunCount('trend_runs')
  trend_runs?: number;
}

export class RegressionsQueryDto {
  /** How many previous real finished runs of the cluster (same epoch) form the baseline (default 20). */
  @RunCount('baseline')
  baseline?: number;
}

export class FlakyTasksQueryDto {
  /** How many of the cluster's last real finished runs to look at (default 20). */
  @RunCount('last_runs')
  last_runs?: number;

  /** `current` (default): the runs since the cluster's last reset; `all`: across resets. */
  @IsOptional()
  @IsIn(EPOCHS, { message: EPOCH_MESSAGE })
  epoch?: Epoch;
}

/** The latest failure of a task: in the latest run, then the latest end, then the last node in node order. */
export class LastFailureDto {
  transaction_id: number;
  node_id: string | null;
  /** When the failing row ended (its start if it has no end). */
  time: string | null;
}

/** A task's p50 over its last `runs` runs against its p50 over the `runs` before. */
export class TrendDto {
  runs: number;
  recent_runs: number;
  previous_runs: number;
  recent_p50: number;
  previous_p50: number;
  /** recent_p50 / previous_p50; null when previous_p50 is 0. */
  ratio: number | null;
}

export class DurationFiguresDto {
  /** Runs in which the task has a counted (terminal, not closed-out) row. */
  runs: number;
  /** Rows with a duration (ready or error, with both times): p50, p95 and max are over these. */
  timed_rows: number;
  /** Nearest-rank percentiles of the durations, in seconds. */
  p50: number | null;
  p95: number | null;
  max: number | null;
  /** errors / terminal_rows. */
  failure_rate: number;
  errors: number;
  terminal_rows: number;
  last_failure: LastFailureDto | null;
  /** null until the task has more than `trend_runs` runs (or a window has no duration). */
  trend: TrendDto | null;
}

export class RoleStatsDto extends DurationFiguresDto {
  role: string;
}

export class TaskStatsDto extends DurationFiguresDto {
  task_name: string;
  /** The same figures per role of the nodes it ran on (a node with several roles counts under each). */
  by_role: RoleStatsDto[];
}

export class TaskStatsAnswerDto {
  cluster_id: number;
  @ApiProperty({ enum: EPOCHS })
  epoch: Epoch;
  /** Real finished runs counted (with at least one counted row). */
  runs: number;
  trend_runs: number;
  /** In task name order. */
  tasks: TaskStatsDto[];
}

export class RegressionRuleDto {
  /** The baseline percentile a duration must exceed. */
  percentile: number;
  min_ratio: number;
  min_extra_seconds: number;
  min_runs: number;
}

export class BaselineDto {
  runs: number;
  p50: number;
  p95: number;
}

export class RegressionDto {
  task_name: string;
  /** The node where the task took longest in this run. */
  node_id: string | null;
  duration: number;
  baseline: BaselineDto;
  excess_seconds: number;
  /** duration / baseline p50; null when the p50 is 0. */
  ratio: number | null;
}

export class UnjudgedTaskDto {
  task_name: string;
  node_id: string | null;
  duration: number | null;
  baseline_runs: number;
}

export class RegressionsAnswerDto {
  transaction_id: number;
  cluster_id: number;
  baseline: number;
  rule: RegressionRuleDto;
  /** Largest excess first. */
  regressions: RegressionDto[];
  /** Tasks with no row in the baseline runs. */
  new_tasks: UnjudgedTaskDto[];
  /** Tasks with fewer than `rule.min_runs` baseline runs with a duration. */
  not_enough_history: UnjudgedTaskDto[];
}

export class ErrorCountDto {
  message: string | null;
  count: number;
}

export class FlakyTaskDto {
  task_name: string;
  node_id: string | null;
  failed: number;
  succeeded: number;
  /** Runs where it failed on this node, oldest first. */
  failed_runs: number[];
  /** Most frequent first. */
  errors: ErrorCountDto[];
}

export class FlakyTasksAnswerDto {
  cluster_id: number;
  @ApiProperty({ enum: EPOCHS })
  epoch: Epoch;
  last_runs: number;
  /** The runs considered, oldest first. */
  runs: number[];
  /** Most failures first. */
  tasks: FlakyTaskDto[];
}
