import { ApiProperty } from '@nestjs/swagger';
import type { CriticalPath, PathStep } from '../critical-path';
import type { RunStatus, TaskStatus } from '../task-state';
import { ApiRunStatus, ApiTaskStatus } from './status-property';

/** One (node, task) of the critical path. */
export class CriticalPathStepDto {
  /** A node id, `master`, or null for a cluster-level task. */
  node_id: string | null;
  task_name: string;
  @ApiTaskStatus()
  status: TaskStatus;
  /** ISO 8601, UTC. */
  time_start: string;
  /** ISO 8601, UTC; for a task still running, the time of the answer. */
  time_end: string;
  /** Seconds in the task. */
  duration_s: number;
  /**
   * Seconds between the end of the step before (the run's first task start for the first step) and this
   * step's start: time spent in the orchestrator, not in a task.
   */
  wait_s: number;
  /**
   * How the step before was found: `requires` (this task's dependency, on any node, that ended last
   * before it started), `node` (where the graph says nothing: the task before it on its node); null for the first step.
   */
  @ApiProperty({ enum: ['requires', 'node'], nullable: true, type: String })
  via: 'requires' | 'node' | null;
}

/** What a critical path answer keeps once computed (transactions.critical_path_cache): all but the run's status. */
export type KeptCriticalPath = Omit<CriticalPathDto, 'transaction_id' | 'status'>;

/**
 * The chain of (node, task) that determined a run's duration: from the row that ended last back through
 * the dependency that finished last before each step started (its `requires`, or the task before it on
 * its node where the graph says nothing), first step first.
 */
export class CriticalPathDto {
  transaction_id: number;
  /** The run's status. */
  @ApiRunStatus()
  status: RunStatus;
  /** The run's graph had no dependency: the path is the same-node chain only. */
  fallback: boolean;
  /** The run has not ended, or a task of it has not: the path so far, tasks still running counted up to the time of the answer. */
  running: boolean;
  /** The run's first task start (ISO 8601, UTC); null when no task started. */
  time_start: string | null;
  /** The end of the task that ended last (ISO 8601, UTC); null when no task started. */
  time_end: string | null;
  /** Seconds from `time_start` to `time_end`: `tasks_s + waiting_s`. */
  duration_s: number;
  /** Seconds in the path's tasks. */
  tasks_s: number;
  /** Seconds between the path's tasks (orchestrator time). */
  waiting_s: number;
  /** Dependency edges of the run's graph that were kept (both ends in the run). */
  edges: number;
  /** First step first. */
  steps: CriticalPathStepDto[];

  /** The answer kept of a computed path (dates as ISO 8601 text). */
  static keep(path: CriticalPath, edges: number, runEnded: boolean): KeptCriticalPath {
    return {
      fallback: path.fallback,
      running: path.running || !runEnded,
      time_start: path.time_start?.toISOString() ?? null,
      time_end: path.time_end?.toISOString() ?? null,
      duration_s: path.duration_s,
      tasks_s: path.tasks_s,
      waiting_s: path.waiting_s,
      edges,
      steps: path.steps.map(stepDto),
    };
  }

  /** The answer for the run, from a path computed now or kept (the same fields, in the same order either way). */
  static of(transactionId: number, status: RunStatus, kept: KeptCriticalPath): CriticalPathDto {
    return {
      transaction_id: transactionId,
      status,
      fallback: kept.fallback,
      running: kept.running,
      time_start: kept.time_start,
      time_end: kept.time_end,
      duration_s: kept.duration_s,
      tasks_s: kept.tasks_s,
      waiting_s: kept.waiting_s,
      edges: kept.edges,
      steps: kept.steps.map((s) => ({
        node_id: s.node_id,
        task_name: s.task_name,
        status: s.status,
        time_start: s.time_start,
        time_end: s.time_end,
        duration_s: s.duration_s,
        wait_s: s.wait_s,
        via: s.via,
      })),
    };
  }
}

const stepDto = (s: PathStep): CriticalPathStepDto => ({
  node_id: s.node,
  task_name: s.task,
  status: s.status,
  time_start: s.time_start.toISOString(),
  time_end: s.time_end.toISOString(),
  duration_s: s.duration_s,
  wait_s: s.wait_s,
  via: s.via,
});
