import { INTERCEPTORS_METADATA, MODULE_METADATA } from '@nestjs/common/constants';
import { ExecutionContext } from '@nestjs/common';
import { lastValueFrom, of } from 'rxjs';
import { HistoryModule } from '../../src/history/history.module';
import { noteLastPlan, PlanMaterializer, PlansMaterialized, scopeOfRoute } from '../../src/history/plans-materialized';
import { RetentionController } from '../../src/history/retention.controller';
import { RunSnapshotsController } from '../../src/history/run-snapshots.controller';
import { TransactionsController } from '../../src/history/transactions.controller';

const contextOf = (method: string, params: Record<string, string> = {}) =>
  ({ switchToHttp: () => ({ getRequest: () => ({ method, params }) }) }) as unknown as ExecutionContext;

/**
 * Every read of the history sees a run's tasks not yet reported as pending rows: they are stored from the
 * run's plan before the read (PlansMaterialized), on every controller of the history module that reads rows.
 */
describe('PlansMaterialized', () => {
  it('is on every controller of the history module that reads history rows', () => {
    const controllers = Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, HistoryModule) as Array<new (...a: never[]) => unknown>;
    // Snapshots (deployment info, settings) hold no rows; the runs themselves (fuel2's task list and task
    // show, polled during a deployment) are read without their rows; retention only deletes (plans go with runs).
    const without = new Set<unknown>([RunSnapshotsController, TransactionsController, RetentionController]);
    const missing = controllers
      .filter((c) => !without.has(c))
      .filter((c) => !((Reflect.getMetadata(INTERCEPTORS_METADATA, c) ?? []) as unknown[]).includes(PlansMaterialized))
      .map((c) => c.name);
    expect(controllers.length).toBeGreaterThan(6);
    expect(missing).toEqual([]);
  });

  it('stores the plans before a read (GET, HEAD), and not before a write', async () => {
    const order: string[] = [];
    const plans = { materialize: jest.fn(async () => void order.push('materialized')) } as unknown as PlanMaterializer;
    const interceptor = new PlansMaterialized(plans);
    const handler = { handle: () => (order.push('handled'), of('answer')) };
    for (const method of ['GET', 'HEAD']) {
      order.length = 0;
      expect(await lastValueFrom(interceptor.intercept(contextOf(method), handler))).toBe('answer');
      expect(order).toEqual(['materialized', 'handled']);
    }
    for (const method of ['POST', 'PUT', 'DELETE']) {
      order.length = 0;
      await lastValueFrom(interceptor.intercept(contextOf(method), handler));
      expect(order).toEqual(['handled']);
    }
  });

  it('fails the read when the plans cannot be stored (a read never answers without its pending rows)', async () => {
    const plans = { materialize: jest.fn(async () => Promise.reject(new Error('database down'))) } as unknown as PlanMaterializer;
    const handle = jest.fn(() => of('answer'));
    await expect(lastValueFrom(new PlansMaterialized(plans).intercept(contextOf('GET'), { handle }))).rejects.toThrow('database down');
    expect(handle).not.toHaveBeenCalled();
  });

  it('stores the plans of the clusters a read is about: its cluster, its runs’ clusters, or every cluster', async () => {
    expect(scopeOfRoute({ cluster_id: '3' })).toEqual({ clusters: [3] });
    expect(scopeOfRoute({ cluster_id: '3', node_id: '1' })).toEqual({ clusters: [3] });
    expect(scopeOfRoute({ transaction_id: '12', other_id: '7' })).toEqual({ runs: [12, 7] });
    expect(scopeOfRoute({ transaction_id: '12', node_id: 'master', task_name: 'x' })).toEqual({ runs: [12] });
    expect(scopeOfRoute({})).toEqual({});
    // Not an id: its handler refuses the request (400), nothing to store.
    for (const bad of ['-1', 'abc', '1.5', '2147483648', '99999999999', ' 1'])
      expect(scopeOfRoute({ transaction_id: bad })).toBeUndefined();
    expect(scopeOfRoute({ cluster_id: '2147483647' })).toEqual({ clusters: [2147483647] });
    // Read as the route's handler reads it (IdPipe): /clusters/007 is cluster 7, 0 an id of nothing (its 404).
    expect(scopeOfRoute({ cluster_id: '007' })).toEqual({ clusters: [7] });
    expect(scopeOfRoute({ transaction_id: '0' })).toEqual({ runs: [0] });

    const materialize = jest.fn(async () => undefined);
    const interceptor = new PlansMaterialized({ materialize } as unknown as PlanMaterializer);
    const handle = jest.fn(() => of('answer'));
    await lastValueFrom(interceptor.intercept(contextOf('GET', { cluster_id: '4' }), { handle }));
    await lastValueFrom(interceptor.intercept(contextOf('GET', { transaction_id: 'x' }), { handle }));
    expect(materialize.mock.calls).toEqual([[{ clusters: [4] }]]);
    expect(handle).toHaveBeenCalledTimes(2);
  });

  it('takes the last plan the upgrade guard read with the run or the cluster, for a read of that run or cluster only (one statement less)', async () => {
    const materialize = jest.fn(async () => undefined);
    const interceptor = new PlansMaterialized({ materialize } as unknown as PlanMaterializer);
    const handle = jest.fn(() => of('answer'));
    const read = async (params: Record<string, string>) => {
      materialize.mockClear();
      await lastValueFrom(interceptor.intercept(contextOf('GET', params), { handle }));
      return materialize.mock.calls[0] as unknown[];
    };
    // Noted by the guard for these very parameters: taken as read, null (no plans) as well as an id.
    const run = { transaction_id: '12' };
    noteLastPlan(run, { runs: [12] }, null);
    expect(await read(run)).toEqual([{ runs: [12] }, null]);
    const planned = { transaction_id: '12', node_id: '1', task_name: 'x' };
    noteLastPlan(planned, { runs: [12] }, 40);
    expect(await read(planned)).toEqual([{ runs: [12] }, 40]);
    // Another request's parameters (not noted), a comparison of two runs, another run: looked up.
    expect(await read({ transaction_id: '12' })).toEqual([{ runs: [12] }, undefined]);
    const diff = { transaction_id: '12', other_id: '7' };
    noteLastPlan(diff, { runs: [12] }, null);
    expect(await read(diff)).toEqual([{ runs: [12, 7] }, undefined]);
    const other = { transaction_id: '13' };
    noteLastPlan(other, { runs: [12] }, null);
    expect(await read(other)).toEqual([{ runs: [13] }, undefined]);
    // A cluster's read, as noted by the guard for its cluster: taken; for another cluster, or as a run's: looked up.
    const cluster = { cluster_id: '4', node_id: '7' };
    noteLastPlan(cluster, { clusters: [4] }, 31);
    expect(await read(cluster)).toEqual([{ clusters: [4] }, 31]);
    const elsewhere = { cluster_id: '5' };
    noteLastPlan(elsewhere, { clusters: [4] }, null);
    expect(await read(elsewhere)).toEqual([{ clusters: [5] }, undefined]);
    const asRun = { cluster_id: '4' };
    noteLastPlan(asRun, { runs: [4] }, null);
    expect(await read(asRun)).toEqual([{ clusters: [4] }, undefined]);
  });
});
