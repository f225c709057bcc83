import { openStore, start, Store } from './history-store';

describe('RunNodesRepository on real PostgreSQL', () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore();
  });
  afterAll(() => store?.close());

  it('keeps each run its own nodes (roles, host name), read back in node order, and nothing for a run that named none', async () => {
    const nodes = [
      { uid: '11', roles: ['compute'], hostname: 'node-11' },
      { uid: 'master', roles: [], hostname: null },
      { uid: '2', roles: ['primary-controller', 'ceph-osd'], hostname: 'node-2.domain.tld' },
    ];
    await store.writer.apply([start('nodes-a', 1, [['2', 'netconfig']], { nodes }), start('nodes-b', 1, [['2', 'netconfig']])]);
    const [{ id: a }, { id: b }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid IN ('nodes-a', 'nodes-b') ORDER BY uuid`);
    expect(await store.runNodes.ofRuns([a, b])).toEqual([
      { transaction_id: a, node_id: 'master', roles: [], hostname: null },
      { transaction_id: a, node_id: '2', roles: ['primary-controller', 'ceph-osd'], hostname: 'node-2.domain.tld' },
      { transaction_id: a, node_id: '11', roles: ['compute'], hostname: 'node-11' },
    ]);
    expect(await store.runNodes.rolesOf(b)).toEqual(new Map());
    // A start sent again (at-least-once delivery) changes nothing.
    await store.writer.apply([start('nodes-a', 1, [['2', 'netconfig']], { nodes: [{ uid: '2', roles: ['other'], hostname: null }] })]);
    expect((await store.runNodes.rolesOf(a)).get('2')).toEqual(['primary-controller', 'ceph-osd']);
  });
});
