import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { Response } from 'supertest';
import { expressErrorHandler } from '../../src/common/errors/error-answer.filter';
import { start } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { DATABASE_URL, waitFor } from '../support/services';

/**
 * Every error answer is JSON in one shape — `{"statusCode", "message", "details"?}` — never an HTML page,
 * never a stack or a server path, whatever NODE_ENV says (Express renders its error page with the stack
 * unless NODE_ENV is 'production'). The database unavailable is a 503 with Retry-After, not a 500.
 */
describe.each([
  ['NODE_ENV unset', undefined],
  ['NODE_ENV=development', 'development'],
])('error answers with %s', (_name, nodeEnv) => {
  let t: TestApp;
  let uiDir: string;
  beforeAll(async () => {
    // A page directory that lacks its stylesheet: serving it fails inside an Express middleware, outside Nest's routes.
    uiDir = mkdtempSync(join(tmpdir(), 'dh-ui-'));
    for (const f of ['index.html', 'main.0123456789abcdef.js']) writeFileSync(join(uiDir, f), '');
    writeFileSync(
      join(uiDir, 'manifest.json'),
      JSON.stringify({ 'main.js': 'main.0123456789abcdef.js', 'main.css': 'main.0123456789abcdef.css' }),
    );
    t = await startApp({ env: { NODE_ENV: nodeEnv, UI_DIR: uiDir } });
    await t.http().put('/api/v1/clusters/5').send({ release: 'mitaka-9.0' }).expect(201);
  });
  afterAll(async () => {
    await t?.close();
    rmSync(uiDir, { recursive: true, force: true });
  });

  /** The one shape: JSON, the status in the body, a message, nothing of the server's insides. */
  function expectErrorAnswer(res: Response, status: number, message?: RegExp): void {
    const what = `${res.status} ${res.headers['content-type']} ${res.text.slice(0, 300)}`;
    const json = expect.stringMatching(/^application\/json/);
    expect({ status: res.status, type: res.headers['content-type'], what }).toEqual({ status, type: json, what });
    expect(Object.keys(res.body).filter((k) => !['statusCode', 'message', 'details'].includes(k))).toEqual([]);
    expect(res.body.statusCode).toBe(status);
    expect(res.body.message).toEqual(expect.any(String));
    if (message) expect(res.body.message).toMatch(message);
    expect(res.text).not.toMatch(/\bat \S+ \(|node_modules|\/work\/|\/tmp\/|"stack"|<html/i);
    expect(res.headers['x-powered-by']).toBeUndefined();
  }

  it('runs with the NODE_ENV under test (Express reads it when the app is built)', () => {
    expect(t.app.getHttpAdapter().getInstance().get('env')).toBe(nodeEnv ?? 'development');
  });

  it('does not say what serves it: no X-Powered-By', async () => {
    const res = await t.http().get('/api/v1/version').expect(200);
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it("ends Express's stack with the JSON error handler, after Nest's routes and error layer", () => {
    const express = t.app.getHttpAdapter().getInstance() as unknown as { router: { stack: Array<{ handle: unknown }> } };
    expect(express.router.stack.at(-1)?.handle).toBe(expressErrorHandler);
  });

  it('an unknown route: 404 naming it', async () => {
    expectErrorAnswer(await t.http().get('/api/v1/no-such-thing'), 404, /Cannot GET \/api\/v1\/no-such-thing/);
  });

  it('a body that is not JSON: 400', async () => {
    expectErrorAnswer(await t.http().post('/api/v1/casts').set('Content-Type', 'application/json').send('{"method": '), 400);
  });

  it('a body over the 64 MB limit: 413', async () => {
    const body = `{"method":"transaction_resp","args":{"task_uuid":"${'x'.repeat(64 * 2 ** 20)}"}}`;
    expectErrorAnswer(await t.http().post('/api/v1/casts').set('Content-Type', 'application/json').send(body), 413, /too large/);
  });

  it('a charset the JSON parser does not read: 415', async () => {
    const res = await t.http().post('/api/v1/casts').set('Content-Type', 'application/json; charset=klingon').send('{}');
    expectErrorAnswer(res, 415, /charset/);
  });

  it('a path parameter that is not valid percent-encoding: 400', async () => {
    expectErrorAnswer(await t.http().get('/api/v1/transactions/%E0%A4%A'), 400);
  });

  it('an error inside an Express middleware (a file of the page missing): JSON without the server path', async () => {
    expectErrorAnswer(await t.http().get('/ui/main.0123456789abcdef.css'), 404);
  });

  it('an internal error (a table gone behind the service): 500 "internal error" with the request id, no stack', async () => {
    await t.sql.query('ALTER TABLE cluster_state RENAME TO cluster_state_gone');
    try {
      const res = await t.http().get('/api/v1/clusters/5/state').set('X-Request-Id', 'req-broken-1');
      expectErrorAnswer(res, 500, /^internal error/);
      expect(res.headers['x-request-id']).toBe('req-broken-1');
      expect(res.body.details).toEqual({ request_id: 'req-broken-1' });
      expect(res.text).not.toMatch(/cluster_state|relation|QueryFailedError/);
    } finally {
      await t.sql.query('ALTER TABLE cluster_state_gone RENAME TO cluster_state');
    }
  });

  it('the database unavailable: 503 with Retry-After on POST /casts and POST /transactions, then 2xx once it is back', async () => {
    const db = new URL(t.databaseUrl).pathname.slice(1);
    const args = { task_uuid: 'outage-1', cluster: { id: 5, release: 'mitaka-9.0' }, tasks_graph: { '1': [{ id: 'a' }] } };
    const mine = (await t.sql.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    // The app's database refuses new connections and the app's open ones are cut (done from the server's
    // default database: a database cannot refuse connections from inside); this test's own connection stays.
    const admin = new Client({ connectionString: DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS false`);
      try {
        await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> $2`, [db, mine]);
        const answers = [
          await t
            .http()
            .post('/api/v1/casts')
            .send(start('outage-1', args.cluster, args.tasks_graph)),
          await t.http().post('/api/v1/transactions').send(args),
        ];
        for (const res of answers) {
          expectErrorAnswer(res, 503, /database is unavailable.*retry/i);
          expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        }
      } finally {
        await admin.query(`ALTER DATABASE ${db} WITH ALLOW_CONNECTIONS true`);
      }
    } finally {
      await admin.end();
    }
    const res = await waitFor(async () => {
      const r = await t.http().post('/api/v1/transactions').send(args);
      return r.status === 201 ? r : null;
    }, 'the start to be accepted once the database is back');
    expect(res.body.uuid).toBe('outage-1');
  });
});
