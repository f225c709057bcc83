import { Injectable } from '@nestjs/common';
import { ClusterLocator, Located } from '../clusters/cluster-locator.port';
import { InvalidInputError, NotFoundError } from '../common/errors/domain-errors';
import { parseId } from '../common/http/id.pipe';
import { ListTransactionsQueryDto } from './dto/list-transactions-query.dto';
import { TransactionDto } from './dto/transaction.dto';
import { Transaction } from './entities/transaction.entity';
import { HistoryWriter } from './history-writer.service';
import { RunNodeDto } from './dto/run-node.dto';
import { RunNodesRepository } from './persistence/run-nodes.repository';
import { RunsRepository } from './persistence/runs.repository';
import { RunDeletion } from './run-deletion.service';
import { noteLastPlan } from './plans-materialized';
import { isFinalRun } from './task-state';

/** Nailgun's answer (TaskValidator.validate_delete) to deleting a run in progress without force; fuel2 prints it. */
export const RUNNING_RUN_MESSAGE = 'You cannot delete running task manually';

@Injectable()
export class TransactionsService implements ClusterLocator {
  constructor(
    private readonly deletion: RunDeletion,
    private readonly runs: RunsRepository,
    private readonly writer: HistoryWriter,
    private readonly runNodes: RunNodesRepository,
  ) {}

  /** The run's nodes (run_nodes) in node order; NotFoundError for an unknown run. */
  async nodes(id: number): Promise<RunNodeDto[]> {
    await this.find(id);
    return (await this.runNodes.ofRuns([id])).map((n) => ({ node_id: n.node_id, roles: n.roles, hostname: n.hostname }));
  }

  async list(q: ListTransactionsQueryDto): Promise<TransactionDto[]> {
    return (await this.runs.list(q)).map((t) => TransactionDto.from(t));
  }

  async get(id: number): Promise<TransactionDto> {
    return TransactionDto.from(await this.find(id));
  }

  async getByUuid(uuid: string): Promise<TransactionDto> {
    const t = await this.runs.find({ uuid });
    if (!t) throw new NotFoundError('Transaction not found');
    return TransactionDto.from(t);
  }

  /**
   * Deletes a run with its rows (`fuel2 task delete ID [-f]`), through the one deletion path. A run in
   * progress only with `force`: it is stopped first (its open rows closed out, as a forced reset does),
   * then deleted; a late report for it is then refused as for any run never started (unknown task_uuid).
   */
  async delete(id: number, force: boolean): Promise<void> {
    // Its cluster first, unlocked (a run never changes cluster): the lock order takes the cluster before the run.
    const clusterId = await this.runs.clusterOf(id);
    if (clusterId === undefined) throw new NotFoundError('Transaction not found');
    const why = `DELETE /transactions/${id}${force ? '?force=1' : ''}`;
    await this.deletion.inCluster(clusterId, 'request', why, async (m, remove) => {
      const held = await this.runs.lockOne(m, id, clusterId);
      // Deleted by someone else meanwhile.
      if (!held) throw new NotFoundError('Transaction not found');
      if (isFinalRun(held.status)) return remove([held.id]);
      if (!force) {
        throw new InvalidInputError(RUNNING_RUN_MESSAGE, {
          status: held.status,
          hint: 'force=1 (fuel2 task delete -f) stops the run, then deletes it',
        });
      }
      await this.writer.stop(m, [held.uuid], 'stopped by a forced deletion of the run', new Date());
      return remove([held.id], `it was ${held.status}: stopped first`);
    });
  }

  /** The run, or NotFoundError with Fuel's message. */
  async find(id: number): Promise<Transaction> {
    const t = await this.runs.find({ id });
    if (!t) throw new NotFoundError('Transaction not found');
    return t;
  }

  /** ClusterLocator: the cluster of `:transaction_id`, or `:cluster_id`. */
  async locate(params: Record<string, string>): Promise<Located | null> {
    if (params.cluster_id !== undefined) {
      const clusterId = parseId(params.cluster_id);
      if (clusterId === null) return null;
      const { cluster, lastPlan } = await this.runs.locatedCluster(clusterId);
      // What the read's PlanMaterializer would look up next, read in the same statement (PlansMaterialized).
      noteLastPlan(params, { clusters: [clusterId] }, lastPlan);
      return { clusterId, cluster };
    }
    const id = parseId(params.transaction_id);
    if (id === null) return null;
    const t = await this.runs.located(id);
    if (!t) return null;
    noteLastPlan(params, { runs: [t.id] }, t.lastPlan);
    return { clusterId: t.clusterId, run: { id: t.id, historyRecorded: t.historyRecorded, release: t.release } };
  }

  /** ClusterLocator: whether any run of the cluster had its tasks recorded. */
  async hasRecordedHistory(clusterId: number): Promise<boolean> {
    return this.runs.hasRecordedHistory(clusterId);
  }
}
