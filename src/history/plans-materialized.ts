import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { from, Observable, switchMap } from 'rxjs';
import { DataSource } from 'typeorm';
import { lockClusters, lockRuns } from '../common/database/lock-order';
import { retryingTransaction } from '../common/database/retrying-transaction';
import { selectRows } from '../common/database/sql';
import { RunChanges } from './persistence/run-changes';

/** Plans materialized per transaction: a bounded statement and lock set, however many runs are in progress. */
const PLANS_PER_TRANSACTION = 200;

/**
 * Before a read of the history, the runs' plans are stored as pending rows (RunChanges.materialize), so that
 * every read sees each planned task of every run, reported or not, as it did when pending rows were stored
 * at a run's start (migration RunPlans1765100000000 says why they no longer are). The cost moves from every
 * run's start to the first read after it, and is never more than it was: a run nobody reads while it runs
 * (the ingest's common case) gets its rows at their first reports and at its end only.
 *
 * Every plan at the read's start, of any cluster: plans are only those of runs in progress (a run that ends
 * materializes its own), few next to the rows a read reads; one indexed look at an empty table when there
 * are none. Written on the primary: with DATABASE_READ_URL, a replica shows them once it has replayed them.
 */
@Injectable()
export class PlanMaterializer {
  private readonly logger = new Logger('PlanMaterializer');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly changes: RunChanges,
  ) {}

  async materializeAll(): Promise<void> {
    const [{ last }] = await selectRows<{ last: number | null }>(this.db, `SELECT max(transaction_id) AS last FROM run_plans`);
    if (last === null) return;
    // Those there now, in chunks of ascending id; plans made meanwhile are the next read's.
    for (let after = 0; ;) {
      const plans = await selectRows<{ id: number; cluster_id: number }>(
        this.db,
        `SELECT transaction_id AS id, cluster_id FROM run_plans WHERE transaction_id > $1 AND transaction_id <= $2
         ORDER BY transaction_id LIMIT ${PLANS_PER_TRANSACTION}`,
        [after, last],
      );
      if (!plans.length) return;
      await retryingTransaction(
        this.db,
        async (m) => {
          // The lock order (lock-order.ts): their clusters shared, as a writer does, then the runs.
          await lockClusters(m, 'shared', { clusters: [...new Set(plans.map((p) => p.cluster_id))] });
          const runs = await lockRuns<{ id: number }>(m, 'id', 'id = ANY($1::int[])', [plans.map((p) => p.id)]);
          const done = await this.changes.materialize(
            m,
            runs.map((r) => r.id),
          );
          await this.changes.commit(m, { changed: done });
        },
        { logger: this.logger, what: 'plans materialized' },
      );
      if (plans.length < PLANS_PER_TRANSACTION) return;
      after = plans[plans.length - 1].id;
    }
  }
}

/** PlanMaterializer before the reads (GET, HEAD) of a controller's routes. */
@Injectable()
export class PlansMaterialized implements NestInterceptor {
  constructor(private readonly plans: PlanMaterializer) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const method = context.switchToHttp().getRequest<Request>().method;
    if (method !== 'GET' && method !== 'HEAD') return next.handle();
    return from(this.plans.materializeAll()).pipe(switchMap(() => next.handle()));
  }
}
