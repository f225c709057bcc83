import type { RunStatus } from '../task-state';
import { Transaction } from '../entities/transaction.entity';
import { ApiRunStatus } from './status-property';

/**
 * A run, with Fuel's field names: every key of Nailgun 10's TransactionSerializer (id, cluster, uuid,
 * name, result, message, status, progress, dry_run, graph_type, time_start, time_end), plus parent_id
 * and epoch, which are ours.
 */
export class TransactionDto {
  id: number;
  /** The cluster's id. */
  cluster: number;
  uuid: string;
  /** Run name, e.g. `deployment`, `dry_run_deployment`, `provision`. */
  name: string;
  /**
   * Nailgun's `result` of a task, which only its checks filled (network verification...); a deployment's
   * stays `{}`, Nailgun's default, and the orchestrator's casts carry none: always `{}` here.
   */
  result: Record<string, unknown>;
  @ApiRunStatus()
  status: RunStatus;
  /** 0 to 100. */
  progress: number;
  message: string | null;
  dry_run: boolean;
  graph_type: string;
  /** ISO 8601, UTC. */
  time_start: string;
  time_end: string | null;
  parent_id: number | null;
  /** The cluster's epoch when the run started; runs of an epoch before the last reset are history. */
  epoch: number;

  static from(t: Transaction): TransactionDto {
    return {
      id: t.id,
      cluster: t.clusterId,
      uuid: t.uuid,
      name: t.name,
      result: {},
      status: t.status,
      progress: t.progress,
      message: t.message,
      dry_run: t.dryRun,
      graph_type: t.graphType,
      time_start: t.timeStart.toISOString(),
      time_end: t.timeEnd?.toISOString() ?? null,
      parent_id: t.parentId,
      epoch: t.epoch,
    };
  }
}
