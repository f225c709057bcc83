import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { ClusterRegistry, preHistoryReason } from '../../src/clusters/cluster-registry';
import { lockClusters } from '../../src/common/database/lock-order';
import { runMigrationsLocked } from '../../src/common/database/migrate';
import { RetryableWriteError } from '../../src/common/database/retrying-transaction';
import { selectOne } from '../../src/common/database/sql';
import { NotFoundError } from '../../src/common/errors/domain-errors';
import { createTestDatabase } from '../support/database';

/** The clusters aggregate's repository on a fresh database with the migrations run: no HTTP, no Nest. */
describe('ClusterRegistry on real PostgreSQL', () => {
  let drop: () => Promise<void>;
  let db: DataSource;
  let registry: ClusterRegistry;
  const silent = { log: () => undefined } as unknown as Parameters<typeof runMigrationsLocked>[1];

  beforeAll(async () => {
    const fresh = await createTestDatabase('dh_medium_clusters');
    drop = fresh.drop;
    db = new DataSource({ type: 'postgres', url: fresh.url, migrations: MIGRATIONS });
    await db.initialize();
    await runMigrationsLocked(db, silent);
    registry = new ClusterRegistry(db);
  });
  afterAll(async () => {
    await db?.destroy();
    await drop?.();
  });

  /** Each test starts from no clusters and no releases, and release ids from 1. */
  beforeEach(() => db.query('TRUNCATE clusters, releases RESTART IDENTITY CASCADE'));

  const inTx = <T>(work: (m: EntityManager) => Promise<T>): Promise<T> => db.transaction(work);
  const register = (id: number, name: string, release: string) => inTx((m) => registry.register(m, { id, name, release }));
  const row = async (id: number) => {
    const c = await registry.get(id);
    return { id: c.id, name: c.name, release: c.release, epoch: c.epoch };
  };

  it('registers a new cluster as announced, with epoch 1 and timestamps', async () => {
    expect(await register(7, 'env-7', 'mitaka-9.0')).toEqual({ release: 'mitaka-9.0', announced: null });
    const c = await registry.get(7);
    expect({ id: c.id, name: c.name, release: c.release, epoch: c.epoch }).toEqual({
      id: 7,
      name: 'env-7',
      release: 'mitaka-9.0',
      epoch: 1,
    });
    expect(c.createdAt).toBeInstanceOf(Date);
    expect(c.updatedAt).toBeInstanceOf(Date);
    expect([await registry.exists(7), await registry.exists(8)]).toEqual([true, false]);
  });

  it('renames a cluster and moves its release forward, never back', async () => {
    await register(1, 'one', 'mitaka-9.0');
    expect(await register(1, 'uno', 'mitaka-9.0')).toEqual({ release: 'mitaka-9.0', announced: null });
    expect(await row(1)).toEqual({ id: 1, name: 'uno', release: 'mitaka-9.0', epoch: 1 });

    expect(await register(1, 'uno', 'newton-10.0')).toEqual({ release: 'newton-10.0', announced: null });
    expect(await row(1)).toEqual({ id: 1, name: 'uno', release: 'newton-10.0', epoch: 1 });

    expect(await register(1, 'uno', 'liberty-8.0')).toEqual({
      release: 'newton-10.0',
      announced: 'liberty-8.0',
      warning: {
        kind: 'older_release',
        message:
          "cluster 1 ('uno'): release 'liberty-8.0' (version 8.0) is older than 'newton-10.0' (version 10.0), " +
          "and a Fuel cluster cannot be downgraded; the cluster keeps 'newton-10.0' (version 10.0)",
      },
    });
    expect(await row(1)).toEqual({ id: 1, name: 'uno', release: 'newton-10.0', epoch: 1 });
  });

  it('warns of unreadable releases: kept out of a readable cluster, taken by a new one', async () => {
    expect(await register(2, 'two', 'mitaka-9.0')).toEqual({ release: 'mitaka-9.0', announced: null });
    expect(await register(2, 'two', 'custom')).toEqual({
      release: 'mitaka-9.0',
      announced: 'custom',
      warning: {
        kind: 'unreadable_release',
        message:
          "cluster 2 ('two'): release 'custom' carries no readable version, so it cannot be shown not to be older than " +
          "'mitaka-9.0' (version 9.0); the cluster keeps 'mitaka-9.0' (version 9.0)",
      },
    });
    expect(await register(3, 'three', 'custom')).toEqual({
      release: 'custom',
      announced: null,
      warning: {
        kind: 'unreadable_release',
        message: "cluster 3 ('three'): release 'custom' carries no readable version; it is not taken as before 9.0",
      },
    });
    expect(await row(3)).toEqual({ id: 3, name: 'three', release: 'custom', epoch: 1 });
  });

  it('applies a batch of announcements in the order given and writes the last of each cluster', async () => {
    await register(5, 'five', 'mitaka-9.0');
    const done = await inTx((m) =>
      registry.registerAll(m, [
        { id: 6, name: 'six', release: 'newton-10.0' },
        { id: 5, name: 'five', release: 'newton-10.0' },
        { id: 5, name: 'cinq', release: 'mitaka-9.0' },
      ]),
    );
    expect(done.map((d) => [d.release, d.announced, d.warning?.kind])).toEqual([
      ['newton-10.0', null, undefined],
      ['newton-10.0', null, undefined],
      ['newton-10.0', 'mitaka-9.0', 'older_release'],
    ]);
    expect(await Promise.all([row(5), row(6)])).toEqual([
      { id: 5, name: 'cinq', release: 'newton-10.0', epoch: 1 },
      { id: 6, name: 'six', release: 'newton-10.0', epoch: 1 },
    ]);
    expect(await inTx((m) => registry.registerAll(m, []))).toEqual([]);
  });

  it('writes nothing for an announcement that changes nothing', async () => {
    await register(8, 'eight', 'mitaka-9.0');
    await db.query(`UPDATE clusters SET updated_at = '2020-01-01T00:00:00Z' WHERE id = 8`);
    await register(8, 'eight', 'mitaka-9.0');
    expect((await registry.get(8)).updatedAt.toISOString()).toBe('2020-01-01T00:00:00.000Z');
  });

  it('writes over the release read only (compare and set): a stale read is retried', async () => {
    await register(9, 'nine', 'mitaka-9.0');
    const stale = { id: 9, name: 'nine', release: 'liberty-8.0' };
    await expect(inTx((m) => registry.register(m, { id: 9, name: 'nine', release: 'newton-10.0' }, [stale]))).rejects.toBeInstanceOf(
      RetryableWriteError,
    );
    expect(await row(9)).toEqual({ id: 9, name: 'nine', release: 'mitaka-9.0', epoch: 1 });
  });

  it('starts new epochs; an unknown cluster is not found', async () => {
    await register(4, 'four', 'mitaka-9.0');
    expect(await inTx((m) => registry.nextEpoch(m, 4))).toBe(2);
    expect(await inTx((m) => registry.nextEpoch(m, 4))).toBe(3);
    expect(await row(4)).toEqual({ id: 4, name: 'four', release: 'mitaka-9.0', epoch: 3 });
    await expect(inTx((m) => registry.nextEpoch(m, 404))).rejects.toBeInstanceOf(NotFoundError);
    await expect(registry.get(404)).rejects.toThrow('Cluster 404 not found');
  });

  it('lists clusters by id and releases by first appearance, with the clusters on each now', async () => {
    await register(3, 'c', 'newton-10.0');
    await register(1, 'a', 'mitaka-9.0');
    await register(2, 'b', 'newton-10.0');
    await register(1, 'a', 'ocata-11.0');
    expect((await registry.list()).map((c) => [c.id, c.name, c.release, c.epoch])).toEqual([
      [1, 'a', 'ocata-11.0', 1],
      [2, 'b', 'newton-10.0', 1],
      [3, 'c', 'newton-10.0', 1],
    ]);
    expect(await registry.releases()).toEqual([
      { id: 1, name: 'newton-10.0', clusters: [2, 3] },
      { id: 2, name: 'mitaka-9.0', clusters: [] },
      { id: 3, name: 'ocata-11.0', clusters: [1] },
    ]);
    expect(await registry.releases(3)).toEqual([{ id: 3, name: 'ocata-11.0', clusters: [1] }]);
    expect(await registry.releases(99)).toEqual([]);
    expect(await registry.releaseIds(['ocata-11.0', 'newton-10.0', 'ocata-11.0', 'unknown-1.0'])).toEqual(
      new Map([
        ['newton-10.0', 1],
        ['ocata-11.0', 3],
      ]),
    );
    expect(await registry.releaseIds([])).toEqual(new Map());
  });

  it('explains why a cluster before 9.0 has no history', async () => {
    await register(1, 'old', 'liberty-8.0');
    await register(2, 'new', 'mitaka-9.0');
    await register(3, 'odd', 'custom');
    expect(preHistoryReason(await registry.get(1))).toBe(
      "Cluster 1 ('old') runs release 'liberty-8.0' (version 8.0); deployment history requires release 9.0 or later",
    );
    expect(preHistoryReason(await registry.get(2))).toBeNull();
    expect(preHistoryReason(await registry.get(3))).toBeNull();
    expect(preHistoryReason(null)).toBeNull();
    expect([registry.historySupported('liberty-8.0'), registry.historySupported('mitaka-9.0')]).toEqual([false, true]);
  });

  describe('locks', () => {
    let other: QueryRunner;
    beforeEach(async () => {
      other = db.createQueryRunner();
      await other.connect();
      await other.startTransaction();
      // A lock that cannot be had at once fails fast instead of waiting: no sleeps, no timing.
      await other.query(`SET LOCAL lock_timeout = '100ms'`);
    });
    afterEach(async () => {
      if (other.isTransactionActive) await other.rollbackTransaction();
      await other.release();
    });
    const lockNotAvailable = (p: Promise<unknown>) => expect(p).rejects.toMatchObject({ driverError: { code: '55P03' } });

    it('locks a cluster exclusively until the transaction ends: shared and exclusive lockers wait', async () => {
      await register(1, 'one', 'mitaka-9.0');
      await register(2, 'two', 'mitaka-9.0');
      await inTx(async (m) => {
        expect(await registry.lock(m, 1)).toEqual({ id: 1, name: 'one', release: 'mitaka-9.0', epoch: 1 });
        await lockNotAvailable(lockClusters(other.manager, 'shared', { clusters: [1] }));
      });
      await other.rollbackTransaction();
      await other.startTransaction();
      await other.query(`SET LOCAL lock_timeout = '100ms'`);
      await inTx(async (m) => {
        await registry.lockIfExists(m, 1);
        // Another cluster is free meanwhile.
        expect(await lockClusters(other.manager, 'exclusive', { clusters: [2] })).toEqual([
          { id: 2, name: 'two', release: 'mitaka-9.0', epoch: 1 },
        ]);
      });
      // Once the holder committed, the cluster can be had again.
      expect(await lockClusters(other.manager, 'exclusive', { clusters: [1] })).toHaveLength(1);
    });

    it('lets shared lockers (the writers) hold a cluster together, and keeps an exclusive locker out', async () => {
      await register(1, 'one', 'mitaka-9.0');
      await inTx(async (m) => {
        expect(await lockClusters(m, 'shared', { clusters: [1] })).toHaveLength(1);
        expect(await lockClusters(other.manager, 'shared', { clusters: [1] })).toHaveLength(1);
        await lockNotAvailable(registry.lock(other.manager, 1));
      });
    });

    it('answers an unknown cluster: lock refuses, lockIfExists says none', async () => {
      await inTx(async (m) => {
        await expect(registry.lock(m, 404)).rejects.toBeInstanceOf(NotFoundError);
        expect(await registry.lockIfExists(m, 404)).toBeUndefined();
      });
    });

    it('holds the row it locked: a rename waits for the holder', async () => {
      await register(1, 'one', 'mitaka-9.0');
      await inTx(async (m) => {
        await registry.lock(m, 1);
        await lockNotAvailable(registry.register(other.manager, { id: 1, name: 'renamed', release: 'mitaka-9.0' }));
      });
      expect(await selectOne<{ name: string }>(db, 'SELECT name FROM clusters WHERE id = 1')).toEqual({ name: 'one' });
    });
  });
});
