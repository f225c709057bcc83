import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Request } from 'express';
import { from, Observable, switchMap } from 'rxjs';
import { DataSource } from 'typeorm';
import { lockClusters, lockRuns } from '../common/database/lock-order';
import { retryingTransaction } from '../common/database/retrying-transaction';
import { selectRows } from '../common/database/sql';
import { parseId } from '../common/http/id.pipe';
import { RunChanges } from './persistence/run-changes';
import { lastPlanSql } from './persistence/run-plans';

/** Plans materialized per transaction: a bounded statement and lock set, however many runs are in progress. */
const PLANS_PER_TRANSACTION = 200;

/**
 * Before a read of the history, the runs' plans are stored as pending rows (RunChanges.materialize), so that
 * every read sees each planned task of every run, reported or not, as it did when pending rows were stored
 * at a run's start (migration RunPlans1765100000000 says why they no longer are). The cost moves from every
 * run's start to the first read after it, and is never more than it was: a run nobody reads while it runs
 * (the ingest's common case) gets its rows at their first reports and at its end only.
 *
 * The plans of the clusters a read is about (its route's cluster, or its runs' clusters: a run's reads also
 * compare it with its cluster's other runs), of every cluster for a read that names none (the clusters list,
 * which counts each cluster's rows): a cluster nobody reads keeps the saving while its runs are in progress. Plans are only those
 * of runs in progress (a run that ends materializes its own), few next to the rows a read reads; one look at a
 * small table when there are none. Written on the primary: with DATABASE_READ_URL, a replica shows them once
 * it has replayed them.
 */
@Injectable()
export class PlanMaterializer {
  private readonly logger = new Logger('PlanMaterializer');

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly changes: RunChanges,
  ) {}

  /** Every plan (of every cluster). */
  materializeAll(): Promise<void> {
    return this.materialize({});
  }

  /**
   * The plans of the clusters given, and of the clusters of the runs given; with neither, every plan.
   * `known`: the highest run id among those plans (null: none), when the request has read it already.
   */
  async materialize(scope: PlanScope, known?: number | null): Promise<void> {
    const params: unknown[] = [];
    const where = scopeSql(scope, params);
    const last = known !== undefined ? known : await this.lastPlan(where, params);
    if (last === null) return;
    // Those there now, in chunks of ascending id; plans made meanwhile are the next read's.
    for (let after = 0; ;) {
      const plans = await selectRows<{ id: number; cluster_id: number }>(
        this.db,
        `SELECT transaction_id AS id, cluster_id FROM run_plans
         WHERE ${where} AND transaction_id > $${params.length + 1} AND transaction_id <= $${params.length + 2}
         ORDER BY transaction_id LIMIT ${PLANS_PER_TRANSACTION}`,
        [...params, after, last],
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

  /** The highest run id among the plans `where` picks (null: none). */
  private async lastPlan(where: string, params: unknown[]): Promise<number | null> {
    const [{ last }] = await selectRows<{ last: number | null }>(this.db, `SELECT ${lastPlanSql(where)} AS last`, params);
    return last;
  }
}

/** Which plans to store: those of these clusters, and of these runs' clusters; neither: every plan. */
export interface PlanScope {
  clusters?: number[];
  runs?: number[];
}

function scopeSql(scope: PlanScope, params: unknown[]): string {
  const parts: string[] = [];
  if (scope.clusters?.length) parts.push(`cluster_id = ANY($${params.push(scope.clusters)}::int[])`);
  if (scope.runs?.length)
    parts.push(`cluster_id IN (SELECT cluster_id FROM transactions WHERE id = ANY($${params.push(scope.runs)}::int[]))`);
  return parts.length ? `(${parts.join(' OR ')})` : 'TRUE';
}

/**
 * A read's scope from its route: `cluster_id`, `transaction_id` and `other_id` (two runs compared). A read
 * naming neither is about every cluster; one whose id is not an id is answered 400 or 404 by its handler,
 * with nothing to store (undefined).
 */
export function scopeOfRoute(params: Record<string, string | string[] | undefined>): PlanScope | undefined {
  const scope: PlanScope = {};
  for (const [name, key] of [
    ['cluster_id', 'clusters'],
    ['transaction_id', 'runs'],
    ['other_id', 'runs'],
  ] as const) {
    if (params[name] === undefined) continue;
    // As the route's handler reads it (IdPipe): the same run or cluster, or none (refused by the handler).
    const id = parseId(params[name]);
    if (id === null) return undefined;
    (scope[key] ??= []).push(id);
  }
  return scope;
}

/**
 * The highest run id among the plans of the cluster a request is about (its `:cluster_id`, or its
 * `:transaction_id`'s cluster), as the upgrade guard read it with the cluster or the run
 * (TransactionsService.locate), by the request's route parameters: the read's PlansMaterialized need not
 * look again. Weak: it goes with the request. Plans made after it are the next read's, as in materialize.
 */
const lastPlanOfRoute = new WeakMap<object, { scope: string; last: number | null }>();

/** A scope as a key: the same clusters and runs, in the same order. */
const scopeKey = (scope: PlanScope) => `${scope.clusters?.join(',') ?? ''}/${scope.runs?.join(',') ?? ''}`;

/** What the request with these route parameters has read of the plans of one cluster or one run (see lastPlanOfRoute). */
export function noteLastPlan(params: object, scope: { clusters: [number] } | { runs: [number] }, last: number | null): void {
  lastPlanOfRoute.set(params, { scope: scopeKey(scope), last });
}

/**
 * The last plan already read for this scope of this request, or undefined (to be looked up): only for a read
 * of that very cluster or run (not, say, a comparison of that run with another).
 */
function knownLastPlan(params: object, scope: PlanScope): number | null | undefined {
  const known = lastPlanOfRoute.get(params);
  return known?.scope === scopeKey(scope) ? known.last : undefined;
}

/** PlanMaterializer before the reads (GET, HEAD) of a controller's routes, for the clusters each is about. */
@Injectable()
export class PlansMaterialized implements NestInterceptor {
  constructor(private readonly plans: PlanMaterializer) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Request>();
    if (req.method !== 'GET' && req.method !== 'HEAD') return next.handle();
    const params = req.params ?? {};
    const scope = scopeOfRoute(params);
    if (!scope) return next.handle();
    return from(this.plans.materialize(scope, knownLastPlan(params, scope))).pipe(switchMap(() => next.handle()));
  }
}
