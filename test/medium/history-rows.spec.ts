import { HistoryRowDto } from '../../src/history/dto/history-row.dto';
import { openStore, report, start, Store } from './history-store';

/** HistoryRowsRepository on real PostgreSQL: the lists, a run's list as JSON (the same rows as the DTO builds), the scan, one task. */
describe('HistoryRowsRepository on real PostgreSQL', () => {
  let store: Store;
  let run: number;
  beforeAll(async () => {
    store = await openStore();
    // Announced out of order: the lists put them in node order (cluster-level, master, nodes by number).
    await store.writer.apply([
      start('rows', 1, [
        ['11', 'b'],
        ['2', 'a'],
        ['master', 'm'],
        [null, 'sync'],
        ['2', 'c'],
      ]),
    ]);
    await store.writer.apply([
      report('rows', [
        {
          nodeId: '2',
          taskName: 'a',
          status: 'ready',
          time: new Date('2026-01-01T10:01:00Z'),
          custom: { attempt: 2 },
          summary: { ok: true },
        },
        { nodeId: '11', taskName: 'b', status: 'error', time: new Date('2026-01-01T10:02:00Z'), errorMessage: 'failed' },
      ]),
    ]);
    [{ id: run }] = await store.ds.query(`SELECT id FROM transactions WHERE uuid = 'rows'`);
    // As a read of the REST API does first (PlansMaterialized): the tasks never reported stored as pending rows.
    await store.materialize();
  });
  afterAll(() => store?.close());

  it('lists a run in node order, and pages across runs by time', async () => {
    const whole = await store.rows.list({ transactionId: run }, {}, { order: 'run', includeSummary: false });
    expect(whole.map((r) => [r.node_id, r.task_name])).toEqual([
      [null, 'sync'],
      ['master', 'm'],
      ['2', 'a'],
      ['2', 'c'],
      ['11', 'b'],
    ]);
    const page = await store.rows.list(
      { clusterId: 1 },
      { statuses: ['ready', 'error'] },
      { order: '-time_start', limit: 1, includeSummary: true },
    );
    expect(page).toEqual([expect.objectContaining({ node_id: '11', task_name: 'b', transaction_uuid: 'rows', epoch: 1 })]);
    expect(await store.rows.list({ clusterId: 1 }, { nodes: ['null'] }, { order: 'time_start', includeSummary: false })).toHaveLength(1);
  });

  it('builds the run’s list as JSON with the rows HistoryRowDto.from builds (the run row built once)', async () => {
    for (const shape of [
      { includeSummary: false, definitions: true },
      { includeSummary: true, definitions: false },
    ]) {
      const rows = await store.rows.list(
        { transactionId: run },
        {},
        { order: 'run', includeSummary: shape.includeSummary, definitions: shape.definitions },
      );
      const { body, version } = await store.rows.runJson(run, {}, shape, true);
      expect(JSON.parse(body)).toEqual(rows.map((r) => HistoryRowDto.from(r, shape.includeSummary)));
      expect(version).toEqual(expect.any(String));
    }
  });

  it('gives the rows written after a version, as JSON, for the live view', async () => {
    const all = await store.rows.rowJsonAbove(run, '0');
    expect(all).toHaveLength(5);
    const top = all.map((r) => BigInt(r.version)).reduce((a, b) => (a > b ? a : b));
    expect(await store.rows.rowJsonAbove(run, top.toString())).toEqual([]);
    expect(JSON.parse(all[2].json)).toEqual(expect.objectContaining({ node_id: '2', task_name: 'a', attempt: 2, summary: { ok: true } }));
  });

  it('scans a run for its summary, reads one task and every status', async () => {
    const scan = await store.rows.scan(run);
    expect(scan.counts).toEqual(expect.arrayContaining([{ node_id: '11', status: 'error', n: 1 }]));
    expect(scan.failure).toEqual(expect.objectContaining({ node_id: '11', task_name: 'b', error_message: 'failed' }));
    // Both took no time: the row stored first first (a, as its report came first).
    expect(scan.slowest!.map((r) => r.task_name)).toEqual(['a', 'b']);
    const detail = await store.rows.detail(run, '2', 'a');
    expect(detail).toEqual(expect.objectContaining({ task_name: 'a', cluster_id: 1, cluster_name: 'env-1', node_definition: null }));
    expect(await store.rows.detail(run, null, 'a')).toBeUndefined();
    expect(await store.rows.statuses(run)).toHaveLength(5);
  });

  it('reads the rows reports name and the open rows of runs that end', async () => {
    const rows = await store.rows.forReports(
      store.ds,
      [
        { txId: run, nodeId: '2', taskName: 'a' },
        { txId: run, nodeId: null, taskName: 'sync' },
      ],
      [run],
    );
    const keys = rows.map((r) => `${r.node_id}/${r.task_name}/${r.status}`).sort();
    // The two named, then the open ones again (pending), as the writer merges them by key.
    expect(keys).toEqual(['2/a/ready', '2/c/pending', 'master/m/pending', 'null/sync/pending', 'null/sync/pending']);
  });
});
