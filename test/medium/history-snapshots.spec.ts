import { openStore, start, Store } from './history-store';

describe('RunSnapshotsRepository on real PostgreSQL', () => {
  let store: Store;
  let run: number;
  beforeAll(async () => {
    store = await openStore();
    const nodes = ['11', 'master', '2'].map((uid) => ({ uid, json: `{"uid":"${uid}"}` }));
    await store.writer.apply([
      start('snap', 1, [['1', 'a']], { snapshots: { deploymentInfo: { common: '{"a":1}', nodes }, settings: '{"s": 1}' } }),
    ]);
    [{ id: run }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid = 'snap'`);
  });
  afterAll(() => store?.close());

  it('puts the deployment info together, nodes in node order, and gives the others as sent', async () => {
    expect(await store.snapshots.json(run, 'deployment_info')).toEqual({
      body: '{"common":{"a":1},"nodes":{"master":{"uid":"master"},"2":{"uid":"2"},"11":{"uid":"11"}}}',
    });
    expect(await store.snapshots.json(run, 'settings')).toEqual({ body: '{"s": 1}' });
    expect(await store.snapshots.json(run, 'network_configuration')).toEqual({ body: null });
    expect(await store.snapshots.json(999_999, 'settings')).toBeUndefined();
  });
});
