import { Logger } from '@nestjs/common';
import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { sampleOf } from '../support/metrics';

/**
 * Issue 12, part 4: a cast (or a PUT) naming an older or an unreadable release must not switch a
 * cluster's history off, and history already recorded is never hidden by a later release change.
 * The real app on a fresh real database.
 */
describe('release changes never switch history off', () => {
  let t: TestApp;
  const warnings: string[] = [];
  const graph = {
    null: [{ id: 'post_deployment_start', type: 'stage' }],
    '1': [
      { id: 'hiera', type: 'puppet' },
      { id: 'netconfig', type: 'puppet' },
    ],
  };
  const c80 = { id: 80, name: 'prod', release: 'mitaka-9.0' };
  const at = (hms: string) => `2025-05-01T${hms}Z`;

  async function cast(...casts: unknown[]): Promise<Array<Record<string, any>>> {
    const res = await t.http().post('/api/v1/casts').send(casts);
    if (res.status !== 200) throw new Error(`POST /casts answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }
  const get = (path: string, accept = 'application/json') => t.http().get(`/api/v1${path}`).set('Accept', accept);
  const metric = async (labels: string): Promise<number> =>
    sampleOf((await t.http().get('/metrics').expect(200)).text, `dh_cast_warnings_total{${labels}}`) ?? 0;
  /** Every history route of cluster 80 and of the given run (compared with `other`): their statuses. */
  async function historyRoutes(run: number, other: number): Promise<Record<string, number>> {
    const paths: Array<[string, string?]> = [
      [`/transactions/${run}/deployment_history`],
      [`/transactions/${run}/deployment_history`, 'text/csv'],
      [`/transactions/${run}/deployment_history?limit=2`],
      [`/transactions/${run}/deployment_history/summary`],
      [`/transactions/${run}/deployment_history/1/netconfig`],
      [`/transactions/${run}/deployment_history/stream`, 'text/event-stream'],
      [`/transactions/${run}/diff/${other}`],
      [`/transactions/${other}/diff/${run}`],
      ['/clusters/80/deployment_history'],
      ['/clusters/80/deployment_history', 'text/csv'],
      ['/clusters/80/nodes/1/deployment_history'],
      ['/clusters/80/state'],
    ];
    const out: Record<string, number> = {};
    for (const [p, accept] of paths) out[`${accept ?? 'json'} ${p}`] = (await get(p, accept)).status;
    return out;
  }
  const all200 = (r: Record<string, number>) => Object.fromEntries(Object.keys(r).map((k) => [k, 200]));

  let recorded: number; // cluster 80's run on mitaka-9.0, finished, with its tasks

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(args.map(String).join(' '));
    });
    t = await startApp();
    const [started] = await cast(
      start('r80-a', c80, graph, { time: at('10:00:00') }),
      resp('r80-a', [
        task(null, 'post_deployment_start', 'ready', { time: at('10:00:01') }),
        task('1', 'hiera', 'ready', { time: at('10:00:02') }),
        task('1', 'netconfig', 'ready', { time: at('10:00:03') }),
      ]),
      finish('r80-a', 'ready', { time: at('10:00:04') }),
    );
    expect(started).toMatchObject({ outcome: 'started', history_recorded: true, rows_created: 3 });
    recorded = started.transaction_id;
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await t?.close();
  });

  it('a start naming an older release is applied to the cluster as it is, with a warning (outcome, log, metric)', async () => {
    const [started, report] = await cast(
      start('r80-b', { ...c80, release: 'liberty-8.0' }, graph, { time: at('11:00:00') }),
      resp('r80-b', [task('1', 'hiera', 'ready', { time: at('11:00:01') })]),
    );
    expect(started).toMatchObject({ outcome: 'started', history_recorded: true, rows_created: 3 });
    const older = /cluster 80 .*'liberty-8\.0' \(version 8\.0\).*older than.*'mitaka-9\.0' \(version 9\.0\).*cannot be downgraded/;
    expect(started.warnings).toEqual([expect.stringMatching(older)]);
    expect(report).toMatchObject({ outcome: 'applied', history_recorded: true, tasks_applied: 1 });

    // The cluster keeps its release, its history stays on; the new run's tasks are recorded.
    expect((await get('/clusters/80').expect(200)).body).toMatchObject({ release: 'mitaka-9.0', version: '9.0', history_enabled: true });
    const rows = (await get(`/transactions/${started.transaction_id}/deployment_history`).expect(200)).body;
    expect(rows.map((r: { node_id: string; task_name: string; status: string }) => `${r.node_id}/${r.task_name}/${r.status}`)).toEqual([
      'null/post_deployment_start/pending',
      '1/hiera/ready',
      '1/netconfig/pending',
    ]);
    // The run is recorded on the release the cluster runs, and what the cast claimed is kept for an audit.
    const run = await t.sql.query('SELECT release, announced_release, history_recorded FROM transactions WHERE id = $1', [
      started.transaction_id,
    ]);
    expect(run.rows).toEqual([{ release: 'mitaka-9.0', announced_release: 'liberty-8.0', history_recorded: true }]);

    expect(warnings).toContainEqual(expect.stringMatching(/r80-b.*cluster 80 .*'liberty-8\.0'.*older.*keeps 'mitaka-9\.0'/));
    expect(await metric('kind="older_release"')).toBe(1);
  });

  it("the earlier run's history, and the cluster's, stay readable on every route (JSON, CSV, paged, stream)", async () => {
    const later = (await t.sql.query(`SELECT id FROM transactions WHERE uuid = 'r80-b'`)).rows[0].id;
    const statuses = await historyRoutes(recorded, later);
    expect(statuses).toEqual(all200(statuses));
  });

  it('POST /transactions naming an older release: the same, the warning in its answer', async () => {
    const args = { task_uuid: 'r80-c', cluster: { id: 80, release: 'kilo-7.0' }, tasks_graph: { '1': [{ id: 'hiera', type: 'puppet' }] } };
    const res = await t.http().post('/api/v1/transactions').send(args).expect(201);
    expect(res.body).toMatchObject({ uuid: 'r80-c', cluster: 80, status: 'running' });
    await t.materialize();
    const rows = await t.sql.query('SELECT count(*)::int AS n FROM deployment_history WHERE transaction_id = $1', [res.body.id]);
    expect(rows.rows).toEqual([{ n: 1 }]);
    expect(res.body.warnings).toEqual([expect.stringMatching(/'kilo-7\.0' \(version 7\.0\) is older than.*'mitaka-9\.0'/)]);
    expect((await get('/clusters/80').expect(200)).body.release).toBe('mitaka-9.0');
    expect(await metric('kind="older_release"')).toBe(2);
  });

  it('PUT /clusters/:id with an older release: 409 saying why, nothing changed', async () => {
    const res = await t.http().put('/api/v1/clusters/80').send({ release: 'liberty-8.0' }).expect(409);
    expect(res.body).toEqual({
      statusCode: 409,
      message: expect.stringMatching(
        /^Cluster 80 \('[^']*'\): release 'liberty-8\.0' \(version 8\.0\) is older than 'mitaka-9\.0' \(version 9\.0\)/,
      ),
    });
    expect(res.body.message).toMatch(/a Fuel cluster cannot be downgraded; its release stays 'mitaka-9\.0'$/);
    expect((await get('/clusters/80').expect(200)).body).toMatchObject({ release: 'mitaka-9.0', history_enabled: true });
    // The same version under another name, and a newer one, are accepted.
    await t.http().put('/api/v1/clusters/80').send({ release: 'mitaka-9.0-rc1' }).expect(200);
    const newer = await t.http().put('/api/v1/clusters/80').send({ release: 'newton-10.0' }).expect(200);
    expect(newer.body).toMatchObject({ release: 'newton-10.0', version: '10.0' });
    await t.http().put('/api/v1/clusters/80').send({ release: 'mitaka-9.0' }).expect(409);
  });

  it('a start whose release has no readable version is not pre-9.0: its tasks are recorded, with a warning', async () => {
    const [started, report] = await cast(
      start('r81-a', { id: 81, name: 'odd', release: 'totally-unknown' }, graph, { time: at('12:00:00') }),
      resp('r81-a', [task('1', 'hiera', 'ready', { time: at('12:00:01') })]),
    );
    expect(started).toMatchObject({ outcome: 'started', history_recorded: true, rows_created: 3 });
    expect(started.warnings).toEqual([expect.stringMatching(/'totally-unknown' carries no readable version.*recorded/)]);
    expect(report).toMatchObject({ outcome: 'applied', history_recorded: true, tasks_applied: 1 });
    const cluster = (await get('/clusters/81').expect(200)).body;
    expect(cluster).toMatchObject({ release: 'totally-unknown', version: null, history_enabled: true });
    expect((await get(`/transactions/${started.transaction_id}/deployment_history`).expect(200)).body).toHaveLength(3);
    await get('/clusters/81/deployment_history').expect(200);
    expect(warnings).toContainEqual(expect.stringMatching(/r81-a.*'totally-unknown'/));
    expect(await metric('kind="unreadable_release"')).toBe(1);
  });

  it('an unreadable release never replaces a readable one (it cannot be shown not to be older)', async () => {
    const [started] = await cast(start('r80-d', { ...c80, release: 'banana' }, graph));
    expect(started).toMatchObject({ outcome: 'started', history_recorded: true, rows_created: 3 });
    // Cluster 80 runs newton-10.0 since the PUT above.
    expect(started.warnings).toEqual([expect.stringMatching(/'banana' carries no readable version.*keeps 'newton-10\.0'/)]);
    expect((await get('/clusters/80').expect(200)).body.release).toBe('newton-10.0');
    expect(await metric('kind="unreadable_release"')).toBe(2);
  });

  it('a cluster that moves up (8.0 → 9.0) records tasks from then on, as before', async () => {
    const [old] = await cast(start('r82-a', { id: 82, release: 'liberty-8.0' }, graph));
    expect(old).toMatchObject({ history_recorded: false, rows_created: 0 });
    expect(old.warnings).toBeUndefined();
    await get('/clusters/82/deployment_history').expect(409);
    const [up] = await cast(start('r82-b', { id: 82, release: 'mitaka-9.0' }, graph));
    expect(up).toMatchObject({ history_recorded: true, rows_created: 3 });
    expect(up.warnings).toBeUndefined();
    expect((await get('/clusters/82').expect(200)).body).toMatchObject({ release: 'mitaka-9.0', history_enabled: true });
    await get(`/transactions/${old.transaction_id}/deployment_history`).expect(409);
    await get('/clusters/82/deployment_history').expect(200);
  });

  it('within one batch, announcements apply in order: a later start naming an older release is kept out', async () => {
    const [up, back] = await cast(
      start('r83-a', { id: 83, release: 'newton-10.0' }, graph),
      start('r83-b', { id: 83, release: 'mitaka-9.0' }, graph),
    );
    expect(up.warnings).toBeUndefined();
    expect(back.warnings).toEqual([expect.stringMatching(/'mitaka-9\.0' \(version 9\.0\) is older than 'newton-10\.0'/)]);
    const runs = await t.sql.query(`SELECT uuid, release, announced_release FROM transactions WHERE cluster_id = 83 ORDER BY id`);
    expect(runs.rows).toEqual([
      { uuid: 'r83-a', release: 'newton-10.0', announced_release: null },
      { uuid: 'r83-b', release: 'newton-10.0', announced_release: 'mitaka-9.0' },
    ]);
  });

  it('concurrent starts naming different releases never move a cluster back (its release is compared and set)', async () => {
    const releases = ['mitaka-9.0', 'mitaka-9.0.1', 'newton-10.0', 'ocata-11.0', 'newton-10.0.1', 'mitaka-9.1', 'pike-12.0', 'ocata-11.1'];
    const clusters = [840, 841, 842, 843];
    for (const id of clusters) {
      await t.http().put(`/api/v1/clusters/${id}`).send({ release: 'mitaka-9.0' }).expect(201);
      const order = [...releases].sort(() => Math.random() - 0.5);
      const answers = await Promise.all(
        order.map((release, k) =>
          t
            .http()
            .post('/api/v1/casts')
            .send(start(`r${id}-${k}`, { id, release }, graph)),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(order.map(() => 200));
      // Whatever the order they committed in, the cluster ends on the newest release announced.
      expect((await get(`/clusters/${id}`).expect(200)).body.release).toBe('pike-12.0');
    }
    // Every run is recorded on a release at least as new as the one it announced, and with its tasks.
    const runs = await t.sql.query('SELECT release, announced_release, history_recorded FROM transactions WHERE cluster_id = ANY($1)', [
      clusters,
    ]);
    expect(runs.rows.filter((r) => !r.history_recorded)).toEqual([]);
    const { compareReleases } = await import('../../src/clusters/release');
    expect(runs.rows.filter((r) => r.announced_release !== null && compareReleases(r.announced_release, r.release)! >= 0)).toEqual([]);
  });

  it('history recorded before a release change is never hidden, even where a cluster was moved back by an earlier version', async () => {
    // A database written before this fix may hold a 9.0 cluster moved back to 8.0 by a cast.
    await t.sql.query(`UPDATE clusters SET release = 'liberty-8.0' WHERE id = 80`);
    const later = (await t.sql.query(`SELECT id FROM transactions WHERE uuid = 'r80-b'`)).rows[0].id;
    const statuses = await historyRoutes(recorded, later);
    expect(statuses).toEqual(all200(statuses));
    // A cluster with no recorded run at all still answers 409 on its own routes.
    await t.sql.query(`UPDATE clusters SET release = 'liberty-8.0' WHERE id = 82`);
    await t.sql.query(`DELETE FROM transactions WHERE uuid = 'r82-b'`);
    for (const path of ['/clusters/82/deployment_history', '/clusters/82/nodes/1/deployment_history', '/clusters/82/state']) {
      expect({ path, status: (await get(path)).status }).toEqual({ path, status: 409 });
    }
  });
});
