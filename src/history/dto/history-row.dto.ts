import type { TaskStatus } from '../task-state';
import { ApiTaskStatus } from './status-property';

/** A history row as read from the database (snake_case columns, joined run fields when asked). */
export interface HistoryRecord {
  id: string;
  transaction_id: number;
  node_id: string | null;
  task_name: string;
  task_type: string | null;
  status: TaskStatus;
  time_start: Date | null;
  time_end: Date | null;
  error_message: string | null;
  closed_reason: string | null;
  summary?: Record<string, unknown> | null;
  custom: Record<string, unknown> | null;
  /** The task's definition on the row's node, without `id` and `summary`, when asked (a run's lists). */
  definition?: Record<string, unknown> | null;
  transaction_uuid?: string;
  transaction_name?: string;
  epoch?: number;
}

/**
 * The run row's own fields, in order, each with the column it comes from (times as ISO 8601, UTC, ms):
 * HistoryRowDto.from and the SQL that builds a run's list as JSON (persistence/history-rows.sql.ts)
 * both build the row from this one list.
 */
export const ROW_FIELDS = [
  { field: 'task_name', column: 'task_name' },
  { field: 'node_id', column: 'node_id' },
  { field: 'status', column: 'status' },
  { field: 'type', column: 'task_type' },
  { field: 'time_start', column: 'time_start', time: true },
  { field: 'time_end', column: 'time_end', time: true },
  { field: 'error_message', column: 'error_message' },
  { field: 'closed_reason', column: 'closed_reason' },
] as const satisfies ReadonlyArray<{ field: keyof HistoryRowDto; column: keyof HistoryRecord; time?: true }>;

/**
 * One task on one node in a run, as Fuel served it: in a run's list, the task's definition on that node
 * (`parameters`, `requires`, `roles`, `version`... as the run's graph gave it, without `id`) and the
 * task's `custom` keys are merged at the root; the fields below win over both, custom keys over the
 * definition's (a definition's or custom `summary` is not shown).
 */
export class HistoryRowDto {
  task_name: string;
  /** Node id, `master`, or null for a cluster-level task. */
  node_id: string | null;
  @ApiTaskStatus()
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

  static from(h: HistoryRecord, includeSummary: boolean): HistoryRowDto {
    const { summary: _hidden, ...custom } = h.custom ?? {};
    const row: Record<string, unknown> = { ...h.definition, ...custom };
    for (const f of ROW_FIELDS) {
      const v = h[f.column];
      row[f.field] = 'time' in f ? ((v as Date | null)?.toISOString() ?? null) : v;
    }
    if (includeSummary) row.summary = h.summary ?? null;
    return row as unknown as HistoryRowDto;
  }
}

/** A row of a cross-run list: the task row plus the run it belongs to. */
export class CrossRunRowDto extends HistoryRowDto {
  transaction_id: number;
  transaction_uuid: string;
  transaction_name: string;
  /** The cluster epoch of the run (a reset starts a new one). */
  epoch: number;

  static fromRun(h: HistoryRecord, includeSummary: boolean): CrossRunRowDto {
    return {
      ...HistoryRowDto.from(h, includeSummary),
      transaction_id: h.transaction_id,
      transaction_uuid: h.transaction_uuid!,
      transaction_name: h.transaction_name!,
      epoch: h.epoch!,
    };
  }
}

export const CSV_COLUMNS = ['task_name', 'node_id', 'status', 'type', 'time_start', 'time_end'] as const;
export const CROSS_RUN_CSV_COLUMNS = ['transaction_id', 'transaction_uuid', 'transaction_name', ...CSV_COLUMNS] as const;
