import { PlanCache, planKey, RunPlan } from '../../src/history/persistence/run-plans';

const plan = (tasks: number): RunPlan => ({
  createdAt: new Date(0),
  types: new Map(Array.from({ length: tasks }, (_, i) => [planKey(String(i), 'task'), 'puppet'])),
});

/** The writer's memory of runs' plans is bounded by the tasks it holds (a run counts one more), oldest runs forgotten first. */
describe('PlanCache', () => {
  it('forgets the oldest runs past its bound, never the run just kept', () => {
    const cache = new PlanCache(100);
    for (let id = 1; id <= 10; id++) cache.set(id, plan(9)); // 10 each: 100 in all
    expect(cache.size).toBe(10);
    cache.set(11, plan(9));
    expect(cache.get(1)).toBeUndefined();
    expect(cache.get(2)).toBeDefined();
    expect(cache.get(11)).toBeDefined();
    // A plan larger than the bound is kept alone.
    cache.set(12, plan(500));
    expect(cache.size).toBe(1);
    expect(cache.get(12)!.types.size).toBe(500);
  });

  it('counts runs without a plan, so that they cannot grow it without bound', () => {
    const cache = new PlanCache(1000);
    for (let id = 1; id <= 5000; id++) cache.set(id, plan(0));
    expect(cache.size).toBe(1000);
  });

  it('forgets a run on demand and when it is set again', () => {
    const cache = new PlanCache(30);
    cache.set(1, plan(9));
    cache.set(1, plan(19));
    cache.set(2, plan(9));
    expect(cache.size).toBe(2);
    cache.forget(1);
    expect(cache.get(1)).toBeUndefined();
    cache.set(3, plan(19));
    expect(cache.size).toBe(2);
  });

  it('keys a cluster-level task apart from any node’s', () => {
    for (const node of ['', '\u0001', 'null', 'master', '1']) expect(planKey(null, 'a')).not.toBe(planKey(node, 'a'));
    expect(planKey('1', 'a')).not.toBe(planKey('1a', ''));
  });
});
