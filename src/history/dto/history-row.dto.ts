import type { TaskStatus } from '../entities/deployment-history.entity';
import { DeploymentHistory } from '../entities/deployment-history.entity';

/**
 * One task on one node in a run, as Fuel served it: the task's `custom` keys are merged at the root
 * (the fields below win over a custom key of the same name).
 */
export class HistoryRowDto {
  task_name: string;
  /** Node id, `master`, or null for a cluster-level task. */
  node_id: string | null;
  status: TaskStatus;
  /** Task type from the run's graph (puppet, shell, stage, ...). */
  type: string | null;
  /** ISO 8601, UTC; null while pending. */
  time_start: string | null;
  time_end: string | null;
  /** The error the orchestrator reported for this task. */
  error_message: string | null;
  /** Why the row was closed out by the end of its run, when no report closed it. */
  closed_reason: string | null;
  /** Present when `include_summary` is set. */
  summary?: Record<string, unknown> | null;

  static from(h: DeploymentHistory, includeSummary: boolean): HistoryRowDto {
    const row: HistoryRowDto = {
      ...(h.custom ?? {}),
      task_name: h.taskName,
      node_id: h.nodeId,
      status: h.status,
      type: h.taskType,
      time_start: h.timeStart?.toISOString() ?? null,
      time_end: h.timeEnd?.toISOString() ?? null,
      error_message: h.errorMessage,
      closed_reason: h.closedReason,
    };
    if (includeSummary) row.summary = h.summary;
    return row;
  }
}

export const CSV_COLUMNS = ['task_name', 'node_id', 'status', 'type', 'time_start', 'time_end'] as const;
