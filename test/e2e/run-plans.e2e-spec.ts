import { resp, start, task } from '../support/casts';
import { castRunId, startApp, TestApp } from '../support/app';
import { PlanMaterializer } from '../../src/history/plans-materialized';

/**
 * Issue #17: a run's tasks are kept as its plan until reported; every read of the history lists them, as pending
 * rows stored from the plan before the read, for the clusters the read is about (the real app, a real database).
 */
describe('runs’ plans and the reads of the history', () => {
  let t: TestApp;
  const graph = {
    null: [{ id: 'post_deployment_start', type: 'stage' }],
    '1': [
      { id: 'hiera', type: 'puppet' },
      { id: 'netconfig', type: 'puppet' },
    ],
  };
  const plans = async (): Promise<number[]> =>
    (await t.sql.query(`SELECT transaction_id FROM run_plans ORDER BY 1`)).rows.map((r: { transaction_id: number }) => r.transaction_id);
  const get = (path: string) => t.http().get(`/api/v1${path}`).expect(200);

  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.close());

  it('lists a run’s unreported tasks as pending; a read of one cluster leaves another’s plans', async () => {
    const a = await castRunId(t, [start('plans-a', { id: 21, name: 'a', release: 'mitaka-9.0' }, graph)]);
    const b = await castRunId(t, [start('plans-b', { id: 22, name: 'b', release: 'mitaka-9.0' }, graph)]);
    await t
      .http()
      .post('/api/v1/casts')
      .send([resp('plans-a', [task('1', 'hiera', 'running')])])
      .expect(200);
    expect(await plans()).toEqual([a, b]);

    // Cluster 21's history: its run's three tasks, one running, two pending; cluster 22's plan is left. The
    // last plan of the cluster is the one the upgrade guard read with the cluster, not looked up again.
    const materialize = jest.spyOn(t.app.get(PlanMaterializer), 'materialize');
    const rows = (await get('/clusters/21/deployment_history')).body as Array<{ task_name: string; status: string }>;
    expect(rows.map((r) => `${r.task_name}:${r.status}`).sort()).toEqual([
      'hiera:running',
      'netconfig:pending',
      'post_deployment_start:pending',
    ]);
    expect(await plans()).toEqual([b]);
    expect(materialize.mock.calls).toEqual([[{ clusters: [21] }, a]]);
    materialize.mockClear();

    // Run b's list (fuel2's read): its tasks, all pending, in Fuel's order; its plan stored. The last plan of
    // its cluster is the one the upgrade guard read with the run, as well.
    const list = (await get(`/transactions/${b}/deployment_history`)).body as Array<{ task_name: string; status: string; type?: string }>;
    expect(list.map((r) => `${r.task_name}:${r.status}`)).toEqual(['post_deployment_start:pending', 'hiera:pending', 'netconfig:pending']);
    expect(await plans()).toEqual([]);
    expect(materialize.mock.calls).toEqual([[{ runs: [b] }, b]]);
    // With no plan left, the next read of it knows so from the guard's statement too.
    await get(`/transactions/${b}/deployment_history/summary`);
    expect(materialize.mock.calls[1]).toEqual([{ runs: [b] }, null]);
    materialize.mockRestore();
  });
});
