import { gzipSync } from 'node:zlib';
import { postCasts, startApp, TestApp } from '../support/app';
import { listen } from '../support/app-hooks';
import { rawRequest } from '../support/raw-http';
import { finish, resp, SMALL_GRAPH, start, task } from '../support/casts';
import { ADMIN, READ, TOKENS_ENV } from '../support/tokens';

/**
 * POST /casts served in front of Express and Nest (receiver/casts-fast-path.ts) answers as the full way
 * does: the same outcomes, the one JSON error shape, the request id, the metric; and what it does not
 * take (refused tokens, query strings, encoded bodies) is answered by Nest as before. Express puts an
 * `ETag` on every JSON answer and the fast path does not: that is how a test tells which way a request went.
 */
const CLUSTER = { id: 31, name: 'fast', release: 'mitaka-9.0' };
const ETAG = 'etag';

async function metric(t: TestApp, labels: string): Promise<number> {
  const text = (await t.http().get('/metrics').expect(200)).text;
  const line = text.split('\n').find((l) => l.startsWith(`dh_http_request_duration_seconds_count{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('POST /casts fast path (no tokens)', () => {
  let t: TestApp;
  let port: number;
  /** A gzip-encoded body, sent as is (supertest would serialize the Buffer as JSON). */
  const postZipped = (cast: object) =>
    rawRequest(port, '/api/v1/casts', { body: gzipSync(JSON.stringify(cast)), headers: { 'Content-Encoding': 'gzip' } });
  beforeAll(async () => {
    t = await startApp();
    port = await listen(t);
    await postCasts(t, start('fast-1', CLUSTER, SMALL_GRAPH));
  });
  afterAll(() => t?.close());

  it('applies one plain JSON cast without the framework: outcomes, request id, JSON type, Vary', async () => {
    const res = await t
      .http()
      .post('/api/v1/casts')
      .set('X-Request-Id', 'fast-req-1')
      .send(resp('fast-1', [task('1', 'netconfig', 'running', { time: '2026-01-01T10:00:00Z' })]))
      .expect(200);
    expect(res.headers[ETAG]).toBeUndefined();
    expect(res.headers['x-request-id']).toBe('fast-req-1');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(res.body).toEqual([
      expect.objectContaining({ method: 'transaction_resp', task_uuid: 'fast-1', outcome: 'applied', tasks_applied: 1, skipped: [] }),
    ]);
    const fresh = await t.http().post('/api/casts/').send(resp('fast-1', [])).expect(200);
    expect(fresh.headers[ETAG]).toBeUndefined();
    expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a bad cast, an unknown run and a body that is not JSON in the one error shape', async () => {
    const bad = await t.http().post('/api/v1/casts').send({ method: 'transaction_resp' }).expect(400);
    expect(bad.headers[ETAG]).toBeUndefined();
    expect(bad.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(bad.body).toEqual({ statusCode: 400, message: expect.any(String), details: expect.any(Array) });
    const unknown = await t.http().post('/api/v1/casts').send(finish('fast-nobody', 'ready')).expect(404);
    expect(unknown.body).toEqual({ statusCode: 404, message: expect.stringContaining('fast-nobody'), details: expect.any(Array) });
    const notJson = await t.http().post('/api/v1/casts').set('Content-Type', 'application/json').send('{"method":').expect(400);
    expect(notJson.headers[ETAG]).toBeUndefined();
    expect(notJson.body).toEqual({ statusCode: 400, message: expect.stringMatching(/^the body is not valid JSON/) });
  });

  it('leaves to Nest a query string (its 400 names the parameter) and an encoded body (applied)', async () => {
    const query = await t.http().post('/api/v1/casts?dry_run=1').send(resp('fast-1', [])).expect(400);
    expect(query.headers[ETAG]).toBeDefined();
    expect(query.body.message).toMatch(/unknown query parameter 'dry_run'/);
    const zipped = await postZipped(resp('fast-1', []));
    expect(zipped.status).toBe(200);
    expect(zipped.headers[ETAG]).toBeDefined();
    expect((JSON.parse(zipped.text) as Array<{ outcome: string }>)[0].outcome).toBe('applied');
  });

  it('times both ways under the route name, and compresses an answer of 1 KB or more', async () => {
    const labels = 'method="POST",route="/api/v1/casts",status="200"';
    const before = await metric(t, labels);
    await t.http().post('/api/v1/casts').send(resp('fast-1', [])).expect(200); // fast
    expect((await postZipped(resp('fast-1', []))).status).toBe(200); // Nest
    expect(await metric(t, labels)).toBe(before + 2);
    const many = await t
      .http()
      .post('/api/v1/casts')
      .set('Accept-Encoding', 'gzip')
      .send(Array.from({ length: 20 }, () => resp('fast-1', [])))
      .expect(200);
    expect(many.headers[ETAG]).toBeUndefined();
    expect(many.headers['content-encoding']).toBe('gzip');
    expect(many.body).toHaveLength(20);
  });
});

describe('POST /casts fast path (tokens on)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ env: TOKENS_ENV });
  });
  afterAll(() => t?.close());

  it("takes an admin token's request; answers no token 401 and a read token 403 as the guard does", async () => {
    const ok = await t
      .http()
      .post('/api/v1/casts')
      .set('X-Auth-Token', ADMIN)
      .send(start('fast-auth', CLUSTER, SMALL_GRAPH))
      .expect(200);
    expect(ok.headers[ETAG]).toBeUndefined();
    expect(ok.body[0].outcome).toBe('started');
    const none = await t.http().post('/api/v1/casts').send(resp('fast-auth', [])).expect(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="deployment-history"');
    expect(none.body).toEqual({ statusCode: 401, message: expect.stringMatching(/^Authentication required/) });
    const read = await t.http().post('/api/v1/casts').set('Authorization', `Bearer ${READ}`).send(resp('fast-auth', [])).expect(403);
    expect(read.headers['www-authenticate']).toBe('Bearer realm="deployment-history", error="insufficient_scope"');
    expect(read.body.message).toBe('Forbidden: POST /api/v1/casts changes data and needs an admin token; the token sent is a read token');
  });
});
