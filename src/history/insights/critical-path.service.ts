import { Injectable } from '@nestjs/common';
import { criticalPath } from '../critical-path';
import { CriticalPathDto, type KeptCriticalPath } from '../dto/critical-path.dto';
import { RunCache } from '../persistence/run-cache';
import { RunGraphRepository } from '../persistence/run-graph.repository';
import { RunNodesRepository } from '../persistence/run-nodes.repository';
import { buildTaskGraph } from '../task-graph';
import { isFinalRun } from '../task-state';
import { TransactionsService } from '../transactions.service';

/**
 * A run's critical path (issue #15 §1): its graph as stored at its start (RunGraphRepository, the nodes'
 * roles from run_nodes), the rules of task-graph.ts and critical-path.ts. A finished run's is computed
 * once and kept (RunCache: kept only if no row changed meanwhile; a late report forgets it); a running
 * run's is computed at each request, the path so far.
 */
@Injectable()
export class CriticalPathService {
  constructor(
    private readonly transactions: TransactionsService,
    private readonly graphs: RunGraphRepository,
    private readonly nodes: RunNodesRepository,
    private readonly cache: RunCache,
  ) {}

  async criticalPath(transactionId: number): Promise<CriticalPathDto> {
    const run = await this.transactions.find(transactionId);
    const ended = isFinalRun(run.status);
    if (ended) {
      const kept = await this.cache.kept<KeptCriticalPath>(transactionId, 'critical_path_cache');
      if (kept) return CriticalPathDto.of(transactionId, run.status, kept);
    }
    const [{ rows, graph, version }, roles] = await Promise.all([this.graphs.load(transactionId), this.nodes.rolesOf(transactionId)]);
    const dependencies = buildTaskGraph(graph, roles);
    // An ended run's rows all have ended (its end closes the open ones): its end, not the clock, bounds the
    // path, so the answer kept is the one computed at any time. A running run's open tasks count up to now.
    const path = criticalPath(rows, dependencies, (ended ? run.timeEnd : null) ?? new Date());
    const answer = CriticalPathDto.keep(path, dependencies.edges, ended);
    if (ended) await this.cache.keepIfUnchanged(transactionId, 'critical_path_cache', JSON.stringify(answer), version);
    return CriticalPathDto.of(transactionId, run.status, answer);
  }
}
