import { openStore, report, start, Store } from './history-store';

describe('ClusterStateRepository on real PostgreSQL', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore();
    await store.writer.apply([
      start(
        's1',
        1,
        [
          ['1', 'a'],
          ['2', 'a'],
          [null, 'sync'],
        ],
        { time: new Date('2026-01-01T10:00:00Z') },
      ),
    ]);
    await store.writer.apply([
      report('s1', [
        { nodeId: '1', taskName: 'a', status: 'ready', time: new Date('2026-01-01T10:01:00Z') },
        { nodeId: null, taskName: 'sync', status: 'ready', time: new Date('2026-01-01T10:01:00Z') },
      ]),
    ]);
    await store.writer.apply([start('s2', 1, [['1', 'a']], { time: new Date('2026-01-01T11:00:00Z') })]);
    await store.writer.apply([report('s2', [{ nodeId: '1', taskName: 'a', status: 'ready', time: new Date('2026-01-01T11:01:00Z') }])]);
  });
  afterAll(() => store?.close());

  it('holds the last ready row of each (node, task), filtered by node and task', async () => {
    const all = await store.state.current(1, {});
    expect(all.map((r) => `${r.node_id}/${r.task_name}/${r.transaction_name}`).sort()).toEqual(['1/a/deployment', 'null/sync/deployment']);
    const [one] = await store.state.current(1, { nodes: ['1'], tasks_names: ['a'] });
    expect(one).toEqual(expect.objectContaining({ transaction_uuid: 's2', status: 'ready', type: 'puppet' }));
    expect(await store.state.current(1, { nodes: ['null'] })).toEqual([expect.objectContaining({ node_id: null, task_name: 'sync' })]);
  });

  it('hands an emptied entry back to the best remaining ready row', async () => {
    const [{ id: s2 }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid = 's2'`);
    const holder = async () => (await store.state.current(1, { nodes: ['1'] }))[0]?.transaction_uuid;
    // Emptied while its row remains: the same row is the best again.
    await store.ds.transaction(async (m) => {
      const keys = await store.state.removeOfRuns(m, [s2]);
      expect(keys).toEqual([{ cluster_id: 1, epoch: 1, node_id: '1', task_name: 'a' }]);
      expect(await store.state.removeOfRows(m, [{ id: '0', txId: s2 }])).toEqual([]);
      await store.state.handBack(m, keys);
    });
    expect(await holder()).toBe('s2');
    // Its run deleted (RunChanges.remove empties and hands back): the older run's row holds it.
    await store.ds.transaction((m) => store.changes.remove(m, [s2]));
    expect(await holder()).toBe('s1');
  });
});
