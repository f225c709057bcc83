import { DataSource } from 'typeorm';
import { classifyDbError } from '../../src/common/database/db-errors';
import { HistoryWriter } from '../../src/history/history-writer.service';
import { openStore, report, start, Store, writerOn } from './history-store';

/**
 * A small batch's statements are prepared on their connection (prepared.ts). When that connection's prepared
 * statements are no longer what it was sent (a pooler that does not keep them, `DEALLOCATE`, a migration that
 * changed what a statement returns while this instance ran), the failure is the store's, never the casts':
 * the batch is written all the same (before: the batch failed with an error of no known class, and a bus
 * cast failing alone that way is dead-lettered after two retries).
 */
describe('a small batch whose prepared statements went stale', () => {
  let store: Store;
  let single: DataSource;
  let writer: HistoryWriter;
  const uuid = 'stale-prepared';

  beforeAll(async () => {
    store = await openStore();
    // One connection: the statements a batch prepares are those the next batch finds (or does not).
    single = new DataSource({ ...store.ds.options, extra: { max: 1 } });
    await single.initialize();
    writer = writerOn(single, store);
    const tasks: Array<[string, string]> = [];
    for (let t = 1; t <= 6; t++) tasks.push(['1', `task-${t}`]);
    await writer.apply([start(uuid, 1, tasks)]);
    await writer.apply([report(uuid, [{ nodeId: '1', taskName: 'task-1', status: 'running' }])]);
    const [{ n }] = await single.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'dh\\_%'`,
    );
    expect(n).toBeGreaterThan(0);
  }, 60_000);
  afterAll(async () => {
    await single?.destroy();
    await store?.close();
  });

  const status = async (task: string) =>
    (
      await store.ds.query<Array<{ status: string }>>(
        `SELECT h.status FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id WHERE t.uuid = $1 AND h.task_name = $2`,
        [uuid, task],
      )
    )[0]?.status;

  it('is written when its connection no longer holds them (26000)', async () => {
    await single.query('DEALLOCATE ALL');
    await expect(writer.apply([report(uuid, [{ nodeId: '1', taskName: 'task-2', status: 'running' }])])).resolves.toMatchObject([
      { outcome: 'applied' },
    ]);
    expect(await status('task-2')).toBe('running');
  });

  it('is written when a statement it holds would now return another type (0A000)', async () => {
    // A fresh connection prepares again; then a migration (here by hand) changes a column the lookup returns.
    await single.destroy();
    await single.initialize();
    await writer.apply([report(uuid, [{ nodeId: '1', taskName: 'task-3', status: 'running' }])]);
    await store.ds.query('ALTER TABLE deployment_history ALTER COLUMN error_message TYPE varchar(100000)');
    try {
      await expect(writer.apply([report(uuid, [{ nodeId: '1', taskName: 'task-4', status: 'running' }])])).resolves.toMatchObject([
        { outcome: 'applied' },
      ]);
      expect(await status('task-4')).toBe('running');
    } finally {
      await store.ds.query('ALTER TABLE deployment_history ALTER COLUMN error_message TYPE text');
    }
  });

  it('still fails as before for a fault of the statement itself, unnamed too', async () => {
    // A failure that is not about prepared statements keeps its class (here the content's: a NUL in a text,
    // which the cast's parser refuses before it reaches the writer).
    const failing = writer.apply([report(uuid, [{ nodeId: '1', taskName: 'task-5', status: 'error', errorMessage: 'a\u0000b' }])]);
    const e = await failing.then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).not.toBeNull();
    expect(classifyDbError(e)).toBe('content');
  });
});
