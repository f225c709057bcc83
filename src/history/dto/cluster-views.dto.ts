import { IsTime, ListParam } from '../../common/http/validators';
import type { RunStatus, TaskStatus } from '../task-state';
import { ApiRunStatus, ApiTaskStatus } from './status-property';

export class StateQueryDto {
  /** Comma-separated node ids; `master`, and `null` for cluster-level tasks. */
  @ListParam()
  nodes?: string[];

  /** Comma-separated task names. */
  @ListParam()
  tasks_names?: string[];
}

/** One (node, task) of the cluster's current state: its last successful run. */
export class StateRowDto {
  node_id: string | null;
  task_name: string;
  type: string | null;
  @ApiTaskStatus()
  status: TaskStatus;
  time_start: string | null;
  time_end: string | null;
  transaction_id: number;
  transaction_uuid: string;
  transaction_name: string;
}

export class DeleteHistoryQueryDto {
  /** Remove the runs that ended before this ISO 8601 time (required). */
  @IsTime({ message: 'before is required: an ISO 8601 time such as 2026-01-01T00:00:00Z' })
  before: string;
}

export class RemovedRunDto {
  id: number;
  uuid: string;
  name: string;
  @ApiRunStatus()
  status: RunStatus;
  time_end: string;
  /** Task rows removed with the run. */
  rows: number;
}

/** What a history deletion removed. */
export class DeleteHistoryResultDto {
  cluster_id: number;
  before: string;
  removed: RemovedRunDto[];
  removed_rows: number;
  /** Runs started before that time but still in progress: never touched. */
  kept_in_progress: number[];
}
