import { IsIn } from 'class-validator';
import { FlagParam, ListParam } from '../../common/http/validators';
import { TASK_STATUSES, TaskStatus } from '../task-state';

export class HistoryQueryDto {
  /** Comma-separated node ids; `master` for the master node, `null` for cluster-level tasks. */
  @ListParam()
  nodes?: string[];

  /** Comma-separated task statuses (pending, ready, running, error, skipped). */
  @ListParam()
  @IsIn(TASK_STATUSES, { each: true, message: 'Statuses parameter could be only: pending, ready, running, error, skipped' })
  statuses?: TaskStatus[];

  /** Comma-separated task names. */
  @ListParam()
  tasks_names?: string[];

  /** Add each task's `summary` to the rows (1/0, true/false). */
  @FlagParam('include_summary')
  include_summary?: boolean;
}
