import { finish, resp, start, task } from '../support/casts';
import { castRunId, startApp, TestApp } from '../support/app';

/** Hostile and odd input: a clear 4xx or a reported skip, never a 500, nothing half-applied. */
describe('hostile input', () => {
  let t: TestApp;
  const graph = {
    '1': [
      { id: 'a', type: 'puppet' },
      { id: 'b', type: 'puppet' },
    ],
  };
  let txId: number;

  beforeAll(async () => {
    t = await startApp();
    txId = await castRunId(t, start('hostile-1', { id: 40, release: 'mitaka-9.0' }, graph));
  });
  afterAll(() => t?.close());

  const deep = (n: number) => {
    let o: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < n; i++) o = { o };
    return o;
  };

  it.each([
    ['a NUL in a task name', task('1', 'a\u0000x', 'ready'), /NUL character/],
    ['a lone surrogate in a task name', task('1', 'a\ud800', 'ready'), /lone surrogate/],
    ['a NUL in error_msg', task('1', 'a', 'error', { error_msg: 'x\u0000' }), /NUL character/],
    ['a NUL inside summary', task('1', 'a', 'ready', { summary: { k: '\u0000' } }), /NUL character/],
    ['custom nested 1,000 deep', task('1', 'a', 'ready', { custom: deep(1000) }), /nested deeper than 32/],
    ['an impossible UTC offset', task('1', 'a', 'ready', { time: '2026-01-01T10:00:00+99:00' }), /impossible UTC offset/],
    ['minutes out of range in the offset', task('1', 'a', 'ready', { time: '2026-01-01T10:00:00-12:60' }), /impossible UTC offset/],
  ])('skips and reports %s, applying the other entries of the cast', async (_what, bad, reason) => {
    const res = await t
      .http()
      .post('/api/v1/casts')
      .send(resp('hostile-1', [bad, task('1', 'b', 'running')]))
      .expect(200);
    expect(res.body[0].skipped).toEqual([{ entry: 'nodes[0]', reason: expect.stringMatching(reason) }]);
    expect(res.body[0].tasks_applied).toBe(1);
    await t.materialize();
    const row = await t.sql.query(`SELECT status FROM deployment_history WHERE transaction_id = $1 AND task_name = 'a'`, [txId]);
    expect(row.rows[0].status).toBe('pending');
  });

  it.each([
    ['a NUL in task_uuid', resp('nu\u0000l', [])],
    [
      'a lone surrogate in the graph',
      start('hostile-graph', { id: 40, release: 'mitaka-9.0' }, { '1': [{ id: 'x', parameters: { s: '\udfff' } }] }),
    ],
    ['a NUL in the cluster release', start('hostile-release', { id: 41, release: 'mitaka-9.0\u0000' }, {})],
    ['a message time out of range', { method: 'transaction_resp', args: { task_uuid: 'hostile-1', time: '2026-13-01T00:00:00Z' } }],
  ])('answers 400, not 500, for %s', async (_what, cast) => {
    const res = await t.http().post('/api/v1/casts').send(cast);
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(expect.any(String));
  });

  it('skips an entry nested 100,000 deep and applies the good one (no 500)', async () => {
    const deepList = '['.repeat(100000) + ']'.repeat(100000);
    const body = `{"method":"transaction_resp","args":{"task_uuid":"hostile-1","nodes":[${JSON.stringify(task('1', 'b', 'running'))},${deepList}]}}`;
    const res = await t.http().post('/api/v1/casts').set('Content-Type', 'application/json').send(body).expect(200);
    expect(res.body[0].skipped).toEqual([{ entry: 'nodes[1]', reason: expect.stringMatching(/a node entry must be an object/) }]);
    expect(res.body[0].tasks_applied).toBe(1);
  });

  it('refuses a summary over 1 MB or an error message over 64 K characters, with the limit named', async () => {
    const big = { blob: 'x'.repeat(1_100_000) };
    const res = await t
      .http()
      .post('/api/v1/casts')
      .send(resp('hostile-1', [task('1', 'a', 'ready', { summary: big }), task('1', 'b', 'error', { error_msg: 'e'.repeat(70_000) })]))
      .expect(200);
    expect(res.body[0].skipped).toEqual([
      { entry: 'nodes[0]', reason: expect.stringMatching(/summary is too large: \d+ bytes of JSON, the limit is 1048576/) },
      { entry: 'nodes[1]', reason: expect.stringMatching(/error_msg is too large: 70000 characters, the limit is 65536/) },
    ]);
  });

  it('answers one 201 and 200s to the same start sent 8 times at once', async () => {
    const args = { task_uuid: 'hostile-race', cluster: { id: 42, release: 'mitaka-9.0' }, tasks_graph: graph };
    const codes = await Promise.all(
      Array.from({ length: 8 }, () =>
        t
          .http()
          .post('/api/v1/transactions')
          .send(args)
          .then((r) => r.status),
      ),
    );
    expect(codes.sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    await t.materialize();
    const rows = await t.sql.query(
      `SELECT count(*)::int AS n FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id WHERE t.uuid = 'hostile-race'`,
    );
    expect(rows.rows[0].n).toBe(2);
  });

  it('does not deadlock into a 500 when two requests start runs on the same clusters in opposite orders', async () => {
    for (let round = 0; round < 5; round++) {
      const a = [
        start(`dl-${round}-a1`, { id: 51, release: 'mitaka-9.0' }, graph),
        start(`dl-${round}-a2`, { id: 52, release: 'mitaka-9.0' }, graph),
      ];
      const b = [
        start(`dl-${round}-b1`, { id: 52, release: 'mitaka-9.0' }, graph),
        start(`dl-${round}-b2`, { id: 51, release: 'mitaka-9.0' }, graph),
      ];
      const codes = await Promise.all(
        [a, b].map((body) =>
          t
            .http()
            .post('/api/v1/casts')
            .send(body)
            .then((r) => r.status),
        ),
      );
      expect(codes).toEqual([200, 200]);
    }
  });

  it('closes out rows with the final status that wins, whatever the order of the final reports', async () => {
    const reasons: string[] = [];
    for (const order of [
      ['ready', 'error'],
      ['error', 'ready'],
    ]) {
      const uuid = `hostile-final-${order.join('-')}`;
      const id = await castRunId(t, start(uuid, { id: 43, release: 'mitaka-9.0' }, graph));
      const times: Record<string, string> = { ready: '2026-05-01T00:10:00Z', error: '2026-05-01T00:20:00Z' };
      for (const status of order)
        await t
          .http()
          .post('/api/v1/casts')
          .send(finish(uuid, status as 'ready', { time: times[status] }))
          .expect(200);
      const tx = (await t.http().get(`/api/v1/transactions/${id}`).expect(200)).body;
      expect(tx.status).toBe('error');
      const rows = (await t.http().get(`/api/v1/transactions/${id}/deployment_history`).expect(200)).body;
      expect(rows.map((r: { status: string; time_end: string }) => [r.status, r.time_end])).toEqual([
        ['skipped', '2026-05-01T00:20:00.000Z'],
        ['skipped', '2026-05-01T00:20:00.000Z'],
      ]);
      reasons.push(...rows.map((r: { closed_reason: string }) => r.closed_reason));
    }
    expect(new Set(reasons)).toEqual(new Set(['not reached: transaction ended with error']));
  });

  it('judges a run by the release it ran on, not the cluster release of today', async () => {
    const on80 = await castRunId(t, start('hostile-g2', { id: 44, release: 'liberty-8.0' }, graph));
    const refused = await t.http().get(`/api/v1/transactions/${on80}/deployment_history`).expect(409);
    expect(refused.body.message).toMatch(/ran on release 'liberty-8.0' \(version 8\.0\)/);
    await t.http().put('/api/v1/clusters/44').send({ release: 'mitaka-9.0' }).expect(200);
    const on90 = await castRunId(t, start('hostile-g1', { id: 44, release: 'mitaka-9.0' }, graph));
    await t.http().get(`/api/v1/transactions/${on90}/deployment_history`).expect(200);
    // Upgraded since: the run of 8.0 days still has no history, and says so instead of an empty list.
    await t.http().get(`/api/v1/transactions/${on80}/deployment_history`).expect(409);
  });

  it('parses ids strictly: 0x1, 1e0 and +1 are not ids', async () => {
    for (const id of ['0x1', '1e0', '+1', ' 1', '1.0']) {
      const res = await t.http().get(`/api/v1/transactions/${encodeURIComponent(id)}`);
      expect({ id, status: res.status }).toEqual({ id, status: 400 });
      expect(res.body.message).toContain(`got '${id}'`);
    }
    expect((await t.http().get('/api/v1/transactions?cluster_id=0x8').expect(400)).body.message).toMatch(/cluster_id/);
    const all = (await t.http().get('/api/v1/transactions?cluster_id=').expect(200)).body;
    expect(all.length).toBeGreaterThan(1);
  });

  it('does not let a custom key named summary pose as the summary', async () => {
    await t
      .http()
      .post('/api/v1/casts')
      .send(resp('hostile-1', [task('1', 'b', 'ready', { custom: { summary: 'leak', attempt: 3 }, summary: { real: 1 } })]))
      .expect(200);
    const plain = (await t.http().get(`/api/v1/transactions/${txId}/deployment_history?tasks_names=b`).expect(200)).body[0];
    expect(plain).not.toHaveProperty('summary');
    expect(plain.attempt).toBe(3);
    const withSummary = (
      await t.http().get(`/api/v1/transactions/${txId}/deployment_history?tasks_names=b&include_summary=true`).expect(200)
    ).body[0];
    expect(withSummary.summary).toEqual({ real: 1 });
  });

  it.each([
    ['application/json, text/csv;q=0.1', /application\/json/],
    ['text/csv, application/json;q=0.5', /text\/csv/],
  ])('honours Accept quality values: %s', async (accept, type) => {
    const res = await t.http().get(`/api/v1/transactions/${txId}/deployment_history`).set('Accept', accept).expect(200);
    expect(res.headers['content-type']).toMatch(type);
  });
});
