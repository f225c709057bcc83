import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { ADMIN, READ, TOKENS_ENV } from '../support/tokens';
import { useAppWithBus, useListeningApp } from '../support/app-hooks';
import { Bus } from '../support/bus';
import { waitFor } from '../support/services';
import { sampleOf } from '../support/metrics';
import { openStream } from '../support/sse';

/**
 * `fuel2 task delete ID [-f]`: it sends `DELETE /api/v1/transactions/ID/?force=0|1` (python-fuelclient
 * 10.0.0, fuelclient/objects/task.py) and prints the answer's `message` when refused. Nailgun: 204 for a
 * finished run or with force=1, 400 "You cannot delete running task manually" otherwise, 404 for an
 * unknown id. The run goes with its rows and cluster state entries through the one deletion path
 * (run-deletion.service.ts), which the history deletion and retention take too.
 */

const RUNNING = 'You cannot delete running task manually';
const GRAPH = {
  '1': [
    { id: 'netconfig', type: 'puppet' },
    { id: 'hiera', type: 'puppet' },
  ],
  null: [{ id: 'deploy_start', type: 'stage' }],
};
const at = (hm: string, day = '01') => `2026-03-${day}T${hm}:00.000Z`;

async function metric(t: TestApp, series: string): Promise<number> {
  return sampleOf((await t.http().get('/metrics').expect(200)).text, series) ?? 0;
}

describe('DELETE /transactions/:id (fuel2 task delete)', () => {
  let t: TestApp;
  let port: number;
  useListeningApp((started) => ({ t, port } = started));

  const post = (casts: unknown[]) => t.http().post('/api/v1/casts').send(casts).expect(200);
  const idOf = async (uuid: string): Promise<number> =>
    (await t.http().get('/api/v1/transactions').expect(200)).body.find((x: { uuid: string }) => x.uuid === uuid).id;
  const count = async (sql: string, params: unknown[]) =>
    (await t.sql.query(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0].n as number;
  type StateRow = { node_id: string | null; task_name: string; transaction_id: number; time_end: string };
  /** GET /clusters/:id/state, as [node, task, run, end] per entry. */
  const state = async (cluster: number) =>
    ((await t.http().get(`/api/v1/clusters/${cluster}/state`).expect(200)).body as StateRow[]).map((r) => [
      r.node_id,
      r.task_name,
      r.transaction_id,
      r.time_end,
    ]);

  /** A run of cluster `cluster` whose tasks ended ready at the times given, then the run itself. */
  type Times = { netconfig: string; hiera: string; end: string };
  const finished = async (uuid: string, cluster: number, day: string, times: Times, status: 'ready' | 'error' | 'stopped' = 'ready') => {
    await post([
      start(uuid, { id: cluster, name: `c${cluster}`, release: 'mitaka-9.0' }, GRAPH, { time: at('09:00', day) }),
      resp(uuid, [
        task(null, 'deploy_start', 'ready', { time: at('09:00', day) }),
        task('1', 'netconfig', 'ready', { time: at(times.netconfig, day) }),
        task('1', 'hiera', 'ready', { time: at(times.hiera, day) }),
      ]),
      finish(uuid, status, { time: at(times.end, day) }),
    ]);
    return idOf(uuid);
  };

  it('204 for a finished run (ready, error, stopped): the run, its rows and its cluster state entries are gone, the state handed back', async () => {
    const a = await finished('del-a', 40, '01', { netconfig: '10:05', hiera: '10:06', end: '10:10' });
    const b = await finished('del-b', 40, '02', { netconfig: '10:05', hiera: '10:06', end: '10:10' }, 'error');
    const c = await finished('del-c', 40, '03', { netconfig: '10:05', hiera: '10:06', end: '10:10' }, 'stopped');
    // c holds every entry of the state (its rows are the last ready ones).
    expect(await state(40)).toEqual([
      [null, 'deploy_start', c, at('09:00', '03')],
      ['1', 'hiera', c, at('10:06', '03')],
      ['1', 'netconfig', c, at('10:05', '03')],
    ]);

    // fuel2 task delete C: DELETE /api/v1/transactions/C/?force=0
    const res = await t.http().delete(`/api/v1/transactions/${c}/?force=0`).expect(204);
    expect(res.text).toBe('');
    await t.http().get(`/api/v1/transactions/${c}/`).expect(404);
    expect(await count('transactions WHERE id = $1', [c])).toBe(0);
    expect(await count('deployment_history WHERE transaction_id = $1', [c])).toBe(0);
    expect(await count('cluster_state WHERE transaction_id = $1', [c])).toBe(0);
    // Each entry c held goes back to the best remaining ready row of its key: b's.
    expect(await state(40)).toEqual([
      [null, 'deploy_start', b, at('09:00', '02')],
      ['1', 'hiera', b, at('10:06', '02')],
      ['1', 'netconfig', b, at('10:05', '02')],
    ]);

    await t.http().delete(`/api/v1/transactions/${b}/?force=0`).expect(204);
    expect(await state(40)).toEqual([
      [null, 'deploy_start', a, at('09:00', '01')],
      ['1', 'hiera', a, at('10:06', '01')],
      ['1', 'netconfig', a, at('10:05', '01')],
    ]);
    // Without the trailing slash, without force (Nailgun's default is 0), and under /api/ as well.
    await t.http().delete(`/api/transactions/${a}`).expect(204);
    expect(await state(40)).toEqual([]);
    expect((await t.http().get('/api/v1/transactions/?cluster_id=40').expect(200)).body).toEqual([]);
    expect(await count('deployment_history WHERE cluster_id = $1', [40])).toBe(0);
    // The cluster's counts follow.
    expect((await t.http().get('/api/v1/clusters/40').expect(200)).body).toMatchObject({ transactions: 0, history_rows: 0 });
  });

  it("400 with Nailgun's message for a run in progress without force; nothing removed", async () => {
    await post([start('del-run', { id: 41, release: 'mitaka-9.0' }, GRAPH), resp('del-run', [task('1', 'netconfig', 'running')])]);
    const id = await idOf('del-run');
    for (const path of [`/api/v1/transactions/${id}/?force=0`, `/api/v1/transactions/${id}/`, `/api/v1/transactions/${id}?force=false`]) {
      const res = await t.http().delete(path).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, message: RUNNING });
    }
    expect((await t.http().get(`/api/v1/transactions/${id}/`).expect(200)).body.status).toBe('running');
    // Its tasks not yet reported stored from its plan, as a read of its history does first: all three still there.
    await t.materialize();
    expect(await count('deployment_history WHERE transaction_id = $1', [id])).toBe(3);
  });

  it('force=1 stops a run in progress and deletes it; force takes 0|1|true|false and nothing else; 404, 400 for a bad id', async () => {
    await post([start('del-force', { id: 42, release: 'mitaka-9.0' }, GRAPH), resp('del-force', [task('1', 'netconfig', 'running')])]);
    await post([start('del-true', { id: 42, release: 'mitaka-9.0' }, GRAPH)]);
    const [forced, viaTrue] = [await idOf('del-force'), await idOf('del-true')];

    const banana = await t.http().delete(`/api/v1/transactions/${forced}/?force=banana`).expect(400);
    expect(banana.body.message).toMatch(/force must be one of/);
    const typo = await t.http().delete(`/api/v1/transactions/${forced}/?forse=1`).expect(400);
    expect(typo.body.details).toMatchObject({ parameters: ['forse'], allowed: ['force'] });
    await t.http().get(`/api/v1/transactions/${forced}/`).expect(200);

    await t.http().delete(`/api/v1/transactions/${forced}/?force=1`).expect(204);
    await t.http().delete(`/api/v1/transactions/${viaTrue}/?force=true`).expect(204);
    expect(await count('transactions WHERE id = ANY($1)', [[forced, viaTrue]])).toBe(0);
    expect(await count('deployment_history WHERE transaction_id = ANY($1)', [[forced, viaTrue]])).toBe(0);

    // Gone: a second delete, or any unknown id, is Nailgun's 404 (fuel2 prints the message).
    for (const id of [forced, 999999]) {
      const gone = await t.http().delete(`/api/v1/transactions/${id}/?force=1`).expect(404);
      expect(gone.body).toEqual({ statusCode: 404, message: 'Transaction not found' });
    }
    expect((await t.http().delete('/api/v1/transactions/abc/?force=0').expect(400)).body.message).toMatch(/transaction id/);
    // A report for the deleted run over HTTP: refused as for any run never started.
    const late = await t
      .http()
      .post('/api/v1/casts')
      .send(resp('del-force', [task('1', 'netconfig', 'ready')]))
      .expect(404);
    expect(late.body.message).toMatch(/unknown transaction/);
  });

  it('a live stream open on the run is told it was deleted, then ends; a new one is a 404', async () => {
    await post([start('del-live', { id: 43, release: 'mitaka-9.0' }, GRAPH), resp('del-live', [task('1', 'netconfig', 'running')])]);
    const id = await idOf('del-live');
    const path = `/api/v1/transactions/${id}/deployment_history/stream`;
    const [s1, s2] = [openStream(port, path), openStream(port, path)];
    await waitFor(
      () => s1.events.some((e) => e.type === 'transaction') && s2.events.some((e) => e.type === 'transaction'),
      'both streams to start',
    );

    await t.http().delete(`/api/v1/transactions/${id}/?force=1`).expect(204);
    await waitFor(() => s1.ended() && s2.ended(), 'both streams to end');
    for (const s of [s1, s2]) {
      expect(s.events[s.events.length - 1]).toEqual({ type: 'deleted', data: { id, message: `Transaction ${id} was deleted` } });
      expect(s.events.some((e) => e.type === 'end')).toBe(false);
    }
    const again = openStream(port, path);
    await waitFor(() => again.ended(), 'the refused stream');
    expect(again.status()).toBe(404);
  });

  it('is counted (dh_runs_deleted_total) by cause, as history deletion and retention are', async () => {
    const before = await metric(t, 'dh_runs_deleted_total{cause="request"}');
    const id = await finished('del-m', 44, '01', { netconfig: '10:05', hiera: '10:06', end: '10:10' });
    await t.http().delete(`/api/v1/transactions/${id}/?force=0`).expect(204);
    expect(await metric(t, 'dh_runs_deleted_total{cause="request"}')).toBe(before + 1);
    expect(await metric(t, 'dh_history_rows_deleted_total{cause="request"}')).toBeGreaterThanOrEqual(3);

    await finished('del-m2', 44, '02', { netconfig: '10:05', hiera: '10:06', end: '10:10' });
    await t.http().delete('/api/v1/clusters/44/deployment_history?before=2030-01-01T00:00:00Z').expect(200);
    expect(await metric(t, 'dh_runs_deleted_total{cause="history_deletion"}')).toBe(1);
  });

  it('history deletion and retention take the same path: the state entries of what they remove are handed back', async () => {
    // Run h1 ended later than h2, but h2's netconfig finished later: h2 holds netconfig, h1 holds hiera.
    const h1 = await finished('del-h1', 45, '01', { netconfig: '10:05', hiera: '11:30', end: '12:00' });
    const h2 = await finished('del-h2', 45, '01', { netconfig: '10:30', hiera: '10:31', end: '10:40' });
    expect(await state(45)).toEqual([
      [null, 'deploy_start', h2, at('09:00')],
      ['1', 'hiera', h1, at('11:30')],
      ['1', 'netconfig', h2, at('10:30')],
    ]);
    // Runs that ended before 11:00: h2 only; its entries go back to h1's rows.
    const res = (
      await t
        .http()
        .delete(`/api/v1/clusters/45/deployment_history?before=${at('11:00')}`)
        .expect(200)
    ).body;
    expect(res.removed.map((r: { id: number }) => r.id)).toEqual([h2]);
    expect(await state(45)).toEqual([
      [null, 'deploy_start', h1, at('09:00')],
      ['1', 'hiera', h1, at('11:30')],
      ['1', 'netconfig', h1, at('10:05')],
    ]);

    // Retention keeps the last run of each cluster (by id): r1 goes, and it held hiera (finished later than r2's).
    const r1 = await finished('del-r1', 46, '01', { netconfig: '10:05', hiera: '11:30', end: '12:00' });
    const r2 = await finished('del-r2', 46, '01', { netconfig: '10:30', hiera: '10:31', end: '10:40' }, 'error');
    expect((await state(46)).find((s: unknown[]) => s[1] === 'hiera')).toEqual(['1', 'hiera', r1, at('11:30')]);
    const kept = (await t.http().post('/api/v1/retention?keep_runs=1').expect(200)).body;
    expect(kept.clusters).toEqual(expect.arrayContaining([{ cluster_id: 46, transactions: 1, rows: 3 }]));
    expect(await count('transactions WHERE id = $1', [r1])).toBe(0);
    expect((await state(46)).find((s: unknown[]) => s[1] === 'hiera')).toEqual(['1', 'hiera', r2, at('10:31')]);
    expect(await metric(t, 'dh_runs_deleted_total{cause="retention"}')).toBeGreaterThanOrEqual(1);
  });
});

describe('DELETE /transactions/:id with auth on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ env: TOKENS_ENV });
  });
  afterAll(() => t?.close());

  it('needs an admin token: none → 401, a read token → 403 (nothing removed), an admin token (X-Auth-Token, as fuel2 sends it) → 204', async () => {
    const casts = [start('auth-del', { id: 50, release: 'mitaka-9.0' }, GRAPH), finish('auth-del', 'ready')];
    const started = await t.http().post('/api/v1/casts').set('X-Auth-Token', ADMIN).send(casts).expect(200);
    const id = started.body[0].transaction_id;
    await t.http().delete(`/api/v1/transactions/${id}/?force=0`).expect(401);
    const refused = await t.http().delete(`/api/v1/transactions/${id}/?force=0`).set('X-Auth-Token', READ).expect(403);
    expect(refused.body.message).toMatch(/admin token/);
    await t.http().get(`/api/v1/transactions/${id}/`).set('X-Auth-Token', READ).expect(200);
    await t.http().delete(`/api/v1/transactions/${id}/?force=0`).set('X-Auth-Token', ADMIN).expect(204);
    await t.http().get(`/api/v1/transactions/${id}/`).set('X-Auth-Token', READ).expect(404);
  });
});

describe('DELETE /transactions/:id?force=1, then a late report over the bus', () => {
  let t: TestApp;
  let bus: Bus;
  useAppWithBus((started) => ({ t, bus } = started));

  it('the late report for the deleted run is dead-lettered as an unknown transaction', async () => {
    const publish = (body: unknown) => bus.publish(t.config.amqpExchange, 'nailgun', body);
    const dlq = `${t.config.amqpQueue}.dead-letter`;
    await publish(start('bus-del', { id: 60, release: 'mitaka-9.0' }, GRAPH));
    await publish(resp('bus-del', [task('1', 'netconfig', 'running')]));
    const run = await waitFor(async () => {
      const list = (await t.http().get('/api/v1/transactions/?cluster_id=60').expect(200)).body;
      const rows = list.length ? (await t.http().get(`/api/v1/transactions/${list[0].id}/deployment_history/`).expect(200)).body : [];
      return rows.some((r: { status: string }) => r.status === 'running') && list[0];
    }, 'the run and its running task');
    expect((await t.http().delete(`/api/v1/transactions/${run.id}/?force=0`).expect(400)).body.message).toBe(RUNNING);
    await t.http().delete(`/api/v1/transactions/${run.id}/?force=1`).expect(204);

    await publish(resp('bus-del', [task('1', 'netconfig', 'ready')]));
    await publish(finish('bus-del', 'ready'));
    await waitFor(async () => (await bus.queueDepth(dlq)).messages >= 2, 'the late reports to be dead-lettered');
    const reasons = (await bus.drain(dlq)).map((m) => String(m.properties.headers?.['x-dead-letter-reason']));
    expect(reasons).toEqual([
      "unknown transaction: no transaction_start was recorded for task_uuid 'bus-del'",
      "unknown transaction: no transaction_start was recorded for task_uuid 'bus-del'",
    ]);
    expect((await t.http().get('/api/v1/transactions/?cluster_id=60').expect(200)).body).toEqual([]);
  });
});
