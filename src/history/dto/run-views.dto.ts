import type { FailureRow } from '../persistence/history-rows.repository';
import { HistoryRowDto } from './history-row.dto';
import { TransactionDto } from './transaction.dto';
import type { TaskStatus } from '../task-state';
import { ApiTaskStatus } from './status-property';

export class FirstFailureDto {
  node_id: string | null;
  task_name: string;
  time_start: string | null;
  time_end: string | null;
  /** The reported error, or the close-out reason when the task was cut short by the run's end. */
  error_message: string | null;
}

/** A run's first failure as answered, from the row firstFailureSql selects: its error, else why it was closed out. */
export function firstFailureOf(f: FailureRow): FirstFailureDto {
  return {
    node_id: f.node_id,
    task_name: f.task_name,
    time_start: isoTime(f.time_start),
    time_end: isoTime(f.time_end),
    error_message: f.error_message ?? f.closed_reason,
  };
}

/** A time as PostgreSQL's JSON writes it (`2026-01-01T10:00:00+00:00`), in the API's form (`...Z`, ms). */
export function isoTime(t: string | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

export class SlowTaskDto {
  node_id: string | null;
  task_name: string;
  @ApiTaskStatus()
  status: TaskStatus;
  time_start: string;
  time_end: string;
  duration_s: number;
}

/** A run at a glance. */
export class SummaryDto {
  transaction: TransactionDto;
  /** Task rows in the run. */
  total: number;
  /** Rows per status (every status present, 0 when none). */
  statuses: Record<string, number>;
  /** Per node (`null` = cluster-level): rows per status. */
  nodes: Record<string, Record<string, number>>;
  /** From the run's start to its end (or to now while it runs). */
  duration_s: number;
  /** The first task that failed, by time (reported failures before close-outs). */
  first_failure: FirstFailureDto | null;
  /** The 10 longest tasks that finished. */
  slowest: SlowTaskDto[];
}

export class ClusterRefDto {
  id: number;
  name: string;
  release: string;
}

/** One task's full record. */
export class TaskDetailDto extends HistoryRowDto {
  declare summary: Record<string, unknown> | null;
  custom: Record<string, unknown>;
  duration_s: number | null;
  /** The task as the run's graph defined it (type, parameters, requires, ...), when the run announced it. */
  definition: Record<string, unknown> | null;
  transaction: TransactionDto;
  cluster: ClusterRefDto;
}

export class DiffRowDto {
  node_id: string | null;
  task_name: string;
  /** Status in the first run. */
  @ApiTaskStatus()
  status: TaskStatus;
  /** Status in the other run. */
  @ApiTaskStatus()
  other_status: TaskStatus;
}

export class DiffOnlyRowDto {
  node_id: string | null;
  task_name: string;
  @ApiTaskStatus()
  status: TaskStatus;
}

/** What changed between two runs of a cluster. */
export class DiffDto {
  transaction: TransactionDto;
  other: TransactionDto;
  /** (node, task) pairs in both runs whose status differs. */
  changed: DiffRowDto[];
  only_in_transaction: DiffOnlyRowDto[];
  only_in_other: DiffOnlyRowDto[];
}
