import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { ListParam } from '../../common/http/validators';
import { RUN_STATUSES, type RunStatus } from '../task-state';
import { TransactionDto } from './transaction.dto';

/** Most runs one page of a cluster's runs holds. */
export const MAX_RUNS_PAGE = 200;
/** Runs per page when `limit` is not given. */
export const DEFAULT_RUNS_PAGE = 50;

const LIMIT_MESSAGE = `limit must be an integer from 1 to ${MAX_RUNS_PAGE}`;
const PAGE_MESSAGE = 'page must be an integer from 1 to 2^31-1';

/** A page of a cluster's runs: `limit`, `page`, and the run statuses kept. */
export class RunsPageQueryDto {
  /** Runs per page, 1 to 200 (default 50). */
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: LIMIT_MESSAGE })
  @Min(1, { message: LIMIT_MESSAGE })
  @Max(MAX_RUNS_PAGE, { message: LIMIT_MESSAGE })
  limit?: number;

  /** Page number, from 1 (default 1); a page past the last answers no run. */
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: PAGE_MESSAGE })
  @Min(1, { message: PAGE_MESSAGE })
  @Max(2 ** 31 - 1, { message: PAGE_MESSAGE })
  page?: number;

  /** Comma-separated run statuses (pending, running, ready, error, stopped): only runs in one of them. */
  @ListParam()
  @IsIn(RUN_STATUSES, { each: true, message: `statuses must be among: ${RUN_STATUSES.join(', ')}` })
  statuses?: RunStatus[];
}

/** Task rows per task status, every status present (0 when none). */
export class TaskStatusCountsDto {
  pending: number;
  running: number;
  ready: number;
  error: number;
  skipped: number;
}

/** Runs per run status, every status present (0 when none). */
export class RunStatusCountsDto {
  pending: number;
  running: number;
  ready: number;
  error: number;
  stopped: number;
}

/** A run's task rows: how many, and how many per status (as its summary counts them). */
export class RunTaskCountsDto {
  total: number;
  statuses: TaskStatusCountsDto;
}

/** A run's first failure, as its summary's `first_failure` says it (without its times). */
export class RunFailureDto {
  /** The node (`master`, an id), or null for a cluster-level task. */
  node_id: string | null;
  task_name: string;
  /** The reported error, or the close-out reason when the task was cut short by the run's end. */
  error_message: string | null;
}

/** A run of a cluster's list: the run, its task counts and its first failure. */
export class RunListItemDto extends TransactionDto {
  /** The run's task rows per status; null when its tasks were not recorded (it ran on a release before 9.0). */
  tasks: RunTaskCountsDto | null;
  /** The run's first failed task (its summary's rule); null when none failed or its tasks were not recorded. */
  first_failure: RunFailureDto | null;
}

/** One page of a cluster's runs, newest (highest id) first. */
export class RunsPageDto {
  /** Runs matching `statuses` (all the cluster's runs without it). */
  total: number;
  page: number;
  limit: number;
  /** Pages of `limit` runs matching `statuses` (0 when none matches). */
  pages: number;
  /** All the cluster's runs per run status, `statuses` ignored (what a filter would keep). */
  by_status: RunStatusCountsDto;
  runs: RunListItemDto[];
}
