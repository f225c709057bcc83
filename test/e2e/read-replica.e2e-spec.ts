import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { READ_DB } from '../../src/common/database/read-db';
import { castRunId, postCasts, startApp, TestApp } from '../support/app';
import { listen } from '../support/app-hooks';
import { resp, start, task } from '../support/casts';
import { DATABASE_URL, waitFor } from '../support/services';
import { openStream } from '../support/sse';

/**
 * DATABASE_READ_URL: the REST reads of history rows query the replica; writes and the live stream the
 * primary. The "replica" is a second database on the same server holding different data for the same
 * run id: whichever answers shows where a statement went.
 */
jest.setTimeout(60_000);

const graph = { '1': [{ id: 'netconfig' }] };
const cluster = { id: 31, release: 'mitaka-9.0' };

async function statuses(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query('SELECT status FROM deployment_history ORDER BY id')).rows.map((r: { status: string }) => r.status);
  } finally {
    await c.end();
  }
}

describe('DATABASE_READ_URL', () => {
  let replica: TestApp;
  let replicaUrl: string;
  let t: TestApp | undefined;
  let port: number;

  beforeAll(async () => {
    // The replica's data: the run with its task ready, written by an app of its own, then that app closed (its database kept).
    replica = await startApp();
    replicaUrl = replica.databaseUrl;
    await castRunId(replica, start('replica-run', cluster, graph));
    await postCasts(replica, resp('replica-run', [task('1', 'netconfig', 'ready')]));
    await replica.sql.end();
    await replica.app.close();
    t = await startApp({ env: { DATABASE_READ_URL: replicaUrl } });
    port = await listen(t);
  });
  afterAll(async () => {
    await t?.close();
    const c = new Client({ connectionString: DATABASE_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${new URL(replicaUrl).pathname.slice(1)} WITH (FORCE)`).catch(() => undefined);
    await c.end();
  });

  it('answers GET deployment_history from the replica, while POST /casts writes to the primary and the stream reads the primary', async () => {
    // The same run on the primary (the same id: both databases numbered it first), its task running there.
    const id = await castRunId(t!, start('replica-run', cluster, graph));
    await postCasts(t!, resp('replica-run', [task('1', 'netconfig', 'running')]));
    expect(await statuses(t!.databaseUrl)).toEqual(['running']);
    expect(await statuses(replicaUrl)).toEqual(['ready']); // nothing written there

    const listed = (await t!.http().get(`/api/v1/transactions/${id}/deployment_history`).expect(200)).body;
    expect(listed).toEqual([expect.objectContaining({ node_id: '1', task_name: 'netconfig', status: 'ready' })]);
    const summary = (await t!.http().get(`/api/v1/transactions/${id}/deployment_history/summary`).expect(200)).body;
    expect(summary.statuses).toMatchObject({ ready: 1, running: 0 });

    const s = openStream(port, `/api/v1/transactions/${id}/deployment_history/stream`);
    try {
      await waitFor(() => s.events.some((e) => e.type === 'rows'), "the stream's first rows");
      expect(s.events.find((e) => e.type === 'rows')!.data).toEqual([
        expect.objectContaining({ task_name: 'netconfig', status: 'running' }),
      ]);
    } finally {
      s.close();
    }
  });

  const readSessions = async () => {
    const c = new Client({ connectionString: DATABASE_URL });
    await c.connect();
    try {
      const r = await c.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'deployment-history-read'`,
        [new URL(replicaUrl).pathname.slice(1)],
      );
      return r.rows[0].n as number;
    } finally {
      await c.end();
    }
  };

  it('opens its sessions on the replica read-only, under a name of their own, and closes them with the app', async () => {
    expect(await readSessions()).toBeGreaterThan(0);
    // A write that strayed to the replica's sessions is refused by them (25006), even on a server that would take it.
    const db = t!.app.get<DataSource>(READ_DB);
    await expect(db.query("UPDATE transactions SET status = 'error'")).rejects.toMatchObject({
      driverError: expect.objectContaining({ code: '25006' }),
    });
    await t!.close();
    t = undefined;
    await waitFor(async () => (await readSessions()) === 0, 'the replica sessions to close');
  });
});
