import { plainToInstance } from 'class-transformer';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { RunHistoryQueryDto } from '../../src/history/dto/page-query.dto';
import { ROW_SHAPE } from '../../src/history/persistence/history-rows.sql';
import { isKeptList } from '../../src/history/persistence/run-cache';
import { openStore, report, start, Store } from './history-store';

describe('RunCache: what a finished run keeps', () => {
  let store: Store;
  let cluster = 0;
  beforeAll(async () => {
    store = await openStore();
  });
  afterAll(() => store?.close());

  const run = async (uuid: string, finished: boolean): Promise<number> => {
    await store.writer.apply([start(uuid, ++cluster, [['1', 'a']])]);
    if (finished)
      await store.writer.apply([report(uuid, [{ nodeId: '1', taskName: 'a', status: 'ready' }], { status: 'ready', time: new Date() })]);
    const [{ id }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid = $1`, [uuid]);
    return id as number;
  };
  const version = async (id: number): Promise<string> =>
    (await store.rows.runJson(id, {}, { includeSummary: false, definitions: true }, true)).version!;

  it('keeps a finished run’s list and summary when no row changed since they were built', async () => {
    const id = await run('kept', true);
    expect(await store.cache.list(id)).toEqual({ status: 'ready', list_cache: null });
    expect(await store.cache.summary(id)).toBeNull();
    const v = await version(id);
    await store.cache.keepIfUnchanged(id, 'list_cache', { gzip: gzipSync('[{"kept":1}]'), br: brotliCompressSync('[{"kept":2}]') }, v);
    await store.cache.keepIfUnchanged(id, 'summary_cache', '{"total":1}', v);
    // The list as it was kept, in the encoding asked: gzip (by default) or brotli.
    const kept = await store.cache.list(id);
    expect(kept).toEqual({ status: 'ready', list_cache: expect.any(Buffer) });
    expect(gunzipSync(kept!.list_cache!).toString()).toBe('[{"kept":1}]');
    expect(brotliDecompressSync((await store.cache.list(id, 'br'))!.list_cache!).toString()).toBe('[{"kept":2}]');
    expect(await store.cache.summary(id)).toEqual({ total: 1 });
  });

  it('keeps a critical path in its own column, forgotten when a row changes, as the others', async () => {
    const id = await run('path', true);
    expect(await store.cache.kept(id, 'critical_path_cache')).toBeNull();
    await store.cache.keepIfUnchanged(id, 'critical_path_cache', '{"steps":[]}', await version(id));
    expect(await store.cache.kept(id, 'critical_path_cache')).toEqual({ steps: [] });
    expect(await store.cache.summary(id)).toBeNull();
    await store.writer.apply([report('path', [{ nodeId: '1', taskName: 'a', status: 'error', time: new Date(Date.now() + 60_000) }])]);
    expect(await store.cache.kept(id, 'critical_path_cache')).toBeNull();
  });

  it('keeps nothing built before a row changed, nor for a run in progress', async () => {
    const id = await run('raced', true);
    const stale = await version(id);
    await store.writer.apply([report('raced', [{ nodeId: '1', taskName: 'a', status: 'error', time: new Date(Date.now() + 60_000) }])]);
    await store.cache.keepIfUnchanged(id, 'list_cache', { gzip: gzipSync('[]'), br: brotliCompressSync('[]') }, stale);
    expect(await store.cache.list(id)).toEqual({ status: 'ready', list_cache: null });
    expect(await store.cache.list(id, 'br')).toEqual({ status: 'ready', list_cache: null });

    const running = await run('running', false);
    await store.cache.keepIfUnchanged(running, 'summary_cache', '{}', await version(running));
    expect(await store.cache.summary(running)).toBeNull();
  });

  it('does not serve a list kept in another row shape, and says when the run does not exist', async () => {
    const id = await run('old-shape', true);
    await store.ds.query(`UPDATE transactions SET list_cache = '[]', list_cache_shape = $2 WHERE id = $1`, [id, ROW_SHAPE - 1]);
    expect(await store.cache.list(id)).toEqual({ status: 'ready', list_cache: null });
    expect(await store.cache.list(999_999)).toBeUndefined();
  });
});

describe('which whole-run lists are kept (an explicit list)', () => {
  const q = (query: Record<string, string>) => plainToInstance(RunHistoryQueryDto, query);

  it('keeps only the default list', () => {
    expect(isKeptList(q({}))).toBe(true);
    expect(isKeptList({ include_definition: true, include_summary: false })).toBe(true);
    expect(isKeptList({ include_definition: false })).toBe(false);
    expect(isKeptList({ include_summary: true })).toBe(false);
    expect(isKeptList({ nodes: ['1'] })).toBe(false);
    expect(isKeptList({ statuses: ['error'] })).toBe(false);
    expect(isKeptList({ tasks_names: ['a'] })).toBe(false);
  });

  it('keeps no list asked with a parameter it does not name', () => {
    expect(isKeptList({ ...new RunHistoryQueryDto(), surprise: 1 } as RunHistoryQueryDto)).toBe(false);
    expect(isKeptList({ surprise: undefined } as unknown as RunHistoryQueryDto)).toBe(true);
  });
});
