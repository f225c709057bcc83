import type { Response } from 'supertest';
import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { waitFor } from '../support/services';

/**
 * Reset, deletion and retention take their locks in the writer's order (src/common/database/lock-order.ts):
 * run alongside ingestion into the same cluster, they neither deadlock into a 500 nor leave the data inconsistent.
 */
describe('locks: reset, deletions and retention alongside ingestion', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t?.close());

  const RELEASE = 'mitaka-9.0';
  const graph = {
    '1': [{ id: 'netconfig' }, { id: 'hiera' }, { id: 'ceph' }],
    '2': [{ id: 'netconfig' }, { id: 'hiera' }, { id: 'ceph' }],
    '3': [{ id: 'netconfig' }, { id: 'hiera' }, { id: 'ceph' }],
    null: [{ id: 'post_deployment_start' }],
  };

  /** True once a backend of the app's database waits for a lock. */
  const someoneWaitsForALock = async () =>
    (await t.sql.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))
      .rows[0].n > 0;

  it('a run started while a reset holds the cluster belongs to the epoch the reset starts', async () => {
    await t.http().put('/api/v1/clusters/91').send({ release: RELEASE }).expect(201);
    // A reset in progress, in ClustersService.reset's steps: the cluster locked (then its runs in progress
    // looked up and stopped); the start arrives; the reset moves the epoch on and commits.
    await t.sql.query('BEGIN');
    await t.sql.query('SELECT id FROM clusters WHERE id = 91 FOR UPDATE');
    const started = t
      .http()
      .post('/api/v1/casts')
      .send(start('epoch-race', { id: 91, release: RELEASE }, graph))
      .then((r) => r);
    try {
      await waitFor(someoneWaitsForALock, 'the start to wait for the reset');
      await t.sql.query('UPDATE clusters SET epoch = epoch + 1 WHERE id = 91');
    } finally {
      await t.sql.query('COMMIT');
    }
    expect((await started).status).toBe(200);
    const run = await t.sql.query(
      `SELECT t.epoch, c.epoch AS cluster_epoch FROM transactions t JOIN clusters c ON c.id = t.cluster_id WHERE t.uuid = 'epoch-race'`,
    );
    // Started after the reset committed: in the new epoch (an older one would hide it from the cluster's state).
    expect(run.rows).toEqual([{ epoch: 2, cluster_epoch: 2 }]);
  });

  it('20 s of forced resets, history and run deletions and retention while 4 loops ingest into the cluster: no 500, the data consistent', async () => {
    const CLUSTER = 90;
    const SECONDS = 20;
    await t.http().put(`/api/v1/clusters/${CLUSTER}`).send({ release: RELEASE }).expect(201);
    const until = Date.now() + SECONDS * 1000;
    const answers: Record<string, Record<number, number>> = {};
    const unexpected: string[] = [];
    const resetEpochs: number[] = [];
    const removedStatuses = new Set<string>();
    let runsDone = 0;

    /** Counts an answer; anything but the expected status (or a documented alternative) is kept to show. */
    const answer = (kind: string, res: Response, ok: (r: Response) => boolean): Response => {
      const byStatus = (answers[kind] ??= {});
      byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
      if (!ok(res)) unexpected.push(`${kind}: ${res.status} ${res.headers['content-type']} ${res.text.slice(0, 400)}`);
      return res;
    };
    // A report on a run that a reset stopped and a deletion then removed is refused as for any unknown run (404).
    const castOk = (r: Response) => r.status === 200 || (r.status === 404 && /unknown transaction/.test(r.body?.message));
    const post = (kind: string, body: object) =>
      t
        .http()
        .post('/api/v1/casts')
        .send(body)
        .then((r) => answer(kind, r, kind === 'start' ? (x) => x.status === 200 : castOk));

    const ingest = async (loop: number) => {
      for (let i = 0; Date.now() < until; i++) {
        const uuid = `ingest-${loop}-${i}`;
        const now = () => new Date().toISOString();
        await post('start', start(uuid, { id: CLUSTER, release: RELEASE }, graph));
        await post(
          'report',
          resp(
            uuid,
            ['1', '2', '3'].map((n) => task(n, 'netconfig', 'running', { time: now() })),
          ),
        );
        const time = now();
        const nodeTasks = ['1', '2', '3'].flatMap((n) => ['netconfig', 'hiera', 'ceph'].map((x) => task(n, x, 'ready', { time })));
        await post('report', resp(uuid, [...nodeTasks, task(null, 'post_deployment_start', 'ready', { time })]));
        // Now and then a later failure wins over a success: the row hands its place in the cluster state back.
        if (i % 3 === loop % 3) await post('report', resp(uuid, [task('2', 'ceph', 'error', { time: now() })]));
        await post('report', finish(uuid, 'ready', { time: now() }));
        runsDone++;
      }
    };
    const resets = async () => {
      for (let i = 0; Date.now() < until; i++) {
        const res = answer('reset', await t.http().post(`/api/v1/clusters/${CLUSTER}/reset?force=true`), (r) => r.status === 200);
        if (res.status === 200) resetEpochs.push(res.body.epoch);
        if (i % 5 === 4) {
          answer('put', await t.http().put(`/api/v1/clusters/${CLUSTER}`).send({ release: RELEASE }), (r) => r.status === 200);
        }
      }
    };
    const deletions = async () => {
      while (Date.now() < until) {
        const before = new Date().toISOString();
        const res = await t.http().delete(`/api/v1/clusters/${CLUSTER}/deployment_history?before=${before}`);
        answer('delete', res, (r) => r.status === 200);
        for (const r of res.body?.removed ?? []) removedStatuses.add(r.status);
      }
    };
    const retention = async () => {
      while (Date.now() < until) answer('retention', await t.http().post('/api/v1/retention?keep_runs=1'), (r) => r.status === 200);
    };

    // fuel2 task delete ID [-f] on any run of the cluster: finished ones go (204), one in progress is refused
    // (400) unless forced (every third: it is stopped, then deleted), one already gone is a 404.
    const taskDeletions = async () => {
      for (let i = 0; Date.now() < until; i++) {
        const runs: Array<{ id: number }> = (await t.http().get(`/api/v1/transactions/?cluster_id=${CLUSTER}`)).body ?? [];
        if (!runs.length) continue;
        const force = i % 3 === 2 ? 1 : 0;
        const res = await t.http().delete(`/api/v1/transactions/${runs[i % runs.length].id}/?force=${force}`);
        answer(
          'task-delete',
          res,
          (r) => r.status === 204 || r.status === 404 || (!force && r.status === 400 && /running task/.test(r.body?.message)),
        );
      }
    };

    // Reads of the history: each first stores the runs' tasks not yet reported as pending rows (PlansMaterialized),
    // a writer of its own in the lock order (clusters, then runs).
    const reads = async () => {
      for (let i = 0; Date.now() < until; i++) {
        const path = i % 2 ? `/api/v1/clusters/${CLUSTER}/deployment_history?limit=50` : `/api/v1/clusters/${CLUSTER}/runs`;
        answer('read', await t.http().get(path), (r) => r.status === 200);
      }
    };

    await Promise.all([...[0, 1, 2, 3].map(ingest), resets(), deletions(), retention(), taskDeletions(), reads()]);
    console.log(`${SECONDS} s: ${runsDone} runs ingested; answers by kind and status: ${JSON.stringify(answers)}`);

    expect(unexpected).toEqual([]);
    expect(runsDone).toBeGreaterThan(4);
    for (const kind of ['start', 'report', 'reset', 'put', 'delete', 'retention', 'read']) expect(answers[kind]?.[200]).toBeGreaterThan(0);
    expect(answers['task-delete']?.[204]).toBeGreaterThan(0);

    // Every reset started exactly one epoch: none lost, none doubled.
    const cluster = (await t.sql.query('SELECT epoch FROM clusters WHERE id = $1', [CLUSTER])).rows[0];
    expect(cluster.epoch).toBe(1 + resetEpochs.length);
    expect([...resetEpochs].sort((a, b) => a - b)).toEqual(resetEpochs.map((_, i) => i + 2));
    // Deletions removed finished runs only; every run got its final report: none is left in progress.
    expect([...removedStatuses].filter((s) => !['ready', 'error', 'stopped'].includes(s))).toEqual([]);
    const open = await t.sql.query(`SELECT uuid FROM transactions WHERE cluster_id = $1 AND status IN ('pending', 'running')`, [CLUSTER]);
    expect(open.rows).toEqual([]);
    // A finished run has no open row, and every run kept has all its announced rows.
    const openRows = await t.sql.query(
      `SELECT t.uuid, h.node_id, h.task_name, h.status FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE t.cluster_id = $1 AND h.status IN ('pending', 'running')`,
      [CLUSTER],
    );
    expect(openRows.rows).toEqual([]);
    const partial = await t.sql.query(
      `SELECT t.uuid, count(h.id)::int AS rows FROM transactions t LEFT JOIN deployment_history h ON h.transaction_id = t.id
       WHERE t.cluster_id = $1 GROUP BY t.uuid HAVING count(h.id) <> 10`,
      [CLUSTER],
    );
    expect(partial.rows).toEqual([]);
    // Each cluster state entry points at a ready row of its own key, of a real run of its cluster and epoch...
    const broken = await t.sql.query(
      `SELECT s.* FROM cluster_state s
       LEFT JOIN deployment_history h ON h.id = s.history_id LEFT JOIN transactions t ON t.id = s.transaction_id
       WHERE h.id IS NULL OR t.id IS NULL OR h.transaction_id <> s.transaction_id OR h.status <> 'ready' OR t.dry_run
          OR t.epoch <> s.epoch OR t.cluster_id <> s.cluster_id OR h.node_id IS DISTINCT FROM s.node_id OR h.task_name <> s.task_name
          OR h.time_end IS DISTINCT FROM s.time_end`,
    );
    expect(broken.rows).toEqual([]);
    // ...and no ready row of the same key and epoch is later: the entry is the last ready one.
    const beaten = await t.sql.query(
      `SELECT s.* FROM cluster_state s WHERE EXISTS (
         SELECT 1 FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
         WHERE h.cluster_id = s.cluster_id AND t.epoch = s.epoch AND NOT t.dry_run AND h.node_id IS NOT DISTINCT FROM s.node_id
           AND h.task_name = s.task_name AND h.status = 'ready' AND (h.time_end, h.id) > (s.time_end, s.history_id))`,
    );
    expect(beaten.rows).toEqual([]);
    // ...and every key with a ready row of a real run has its entry: a deletion hands a removed run's entries back.
    const missing = await t.sql.query(
      `SELECT DISTINCT h.cluster_id, t.epoch, h.node_id, h.task_name FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE h.cluster_id = $1 AND h.status = 'ready' AND h.time_end IS NOT NULL AND NOT t.dry_run AND NOT EXISTS (
         SELECT 1 FROM cluster_state s WHERE s.cluster_id = h.cluster_id AND s.epoch = t.epoch
           AND s.node_id IS NOT DISTINCT FROM h.node_id AND s.task_name = h.task_name)`,
      [CLUSTER],
    );
    expect(missing.rows).toEqual([]);
    // The API answers the state of the current epoch.
    await t.http().get(`/api/v1/clusters/${CLUSTER}/state`).expect(200);
  });
});
