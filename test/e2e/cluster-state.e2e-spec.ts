import { resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';

/** The maintained cluster state follows history, including when a ready row stops being ready. */
describe('cluster state upkeep', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.close());

  const state = async () =>
    (await t.http().get('/api/v1/clusters/70/state').expect(200)).body.map((r: Record<string, unknown>) => [
      r.node_id,
      r.task_name,
      r.transaction_uuid,
      r.time_end,
    ]);
  const graph = { '1': [{ id: 'a' }], null: [{ id: 'stage' }] };

  it('takes the latest ready, falls back when it turns into a failure, ignores dry runs, and matches a recomputation', async () => {
    await t
      .http()
      .post('/api/v1/casts')
      .send([
        start('s-1', { id: 70, release: 'mitaka-9.0' }, graph),
        resp('s-1', [
          task('1', 'a', 'ready', { time: '2026-01-01T01:00:00Z' }),
          task(null, 'stage', 'ready', { time: '2026-01-01T01:00:00Z' }),
        ]),
        start('s-2', { id: 70, release: 'mitaka-9.0' }, graph),
        resp('s-2', [task('1', 'a', 'ready', { time: '2026-01-02T01:00:00Z' })]),
        start('s-dry', { id: 70, release: 'mitaka-9.0' }, graph, { dry_run: true }),
        resp('s-dry', [task('1', 'a', 'ready', { time: '2026-01-03T01:00:00Z' })]),
      ])
      .expect(200);
    expect(await state()).toEqual([
      [null, 'stage', 's-1', '2026-01-01T01:00:00.000Z'],
      ['1', 'a', 's-2', '2026-01-02T01:00:00.000Z'],
    ]);
    // A later failure report wins on s-2's row: the state falls back to s-1's ready.
    await t
      .http()
      .post('/api/v1/casts')
      .send(resp('s-2', [task('1', 'a', 'error', { time: '2026-01-02T02:00:00Z' })]))
      .expect(200);
    expect(await state()).toEqual([
      [null, 'stage', 's-1', '2026-01-01T01:00:00.000Z'],
      ['1', 'a', 's-1', '2026-01-01T01:00:00.000Z'],
    ]);
    // The maintained table equals a recomputation from history.
    const recomputed = await t.sql.query(
      `SELECT DISTINCT ON (h.node_id, h.task_name) h.node_id, h.task_name, t.uuid FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE h.cluster_id = 70 AND h.status = 'ready' AND NOT t.dry_run ORDER BY h.node_id, h.task_name, h.time_end DESC, h.id DESC`,
    );
    const kept = await t.sql.query(
      `SELECT s.node_id, s.task_name, t.uuid FROM cluster_state s JOIN transactions t ON t.id = s.transaction_id WHERE s.cluster_id = 70 ORDER BY 1, 2`,
    );
    expect(kept.rows).toEqual(recomputed.rows);
    // Retention removing the run behind an entry removes the entry with it.
    await t.sql.query(`UPDATE transactions SET status = 'ready', time_end = '2026-01-01T02:00:00Z' WHERE uuid IN ('s-1', 's-2', 's-dry')`);
    await t.http().post('/api/v1/retention?keep_runs=1').expect(200);
    expect(await state()).toEqual([]);
  });
});
