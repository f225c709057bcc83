import { request as httpRequest } from 'node:http';
import { AddressInfo, connect, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Metrics } from '../../src/common/metrics/metrics.service';
import { LARGE_BODIES_AT_ONCE, LARGE_BODIES_WAITING } from '../../src/common/http/request-body';
import { start } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { rawRequest } from '../support/raw-http';
import { waitFor } from '../support/services';

/**
 * Issue #12, part 1: every route took JSON bodies of 64 MB. Now 1 MB, except POST /casts and POST
 * /transactions (also under /api/), which take BODY_MAX_CASTS_BYTES (here 4 MB). Over a limit: 413
 * naming it, at once when Content-Length says so. Bodies over 1 MB wait for their turn,
 * LARGE_BODIES_AT_ONCE at once and LARGE_BODIES_WAITING more; past that, 503 with Retry-After.
 * Authentication still comes first: without a token, 401 whatever the body.
 */
const READ = 'read-0123456789abcdef0123';
const ADMIN = 'admin-0123456789abcdef0123456789';
const MB = 1_048_576;
const admin = { Authorization: `Bearer ${ADMIN}` };

/** A transaction_start of about `bytes` of JSON (a graph of many small tasks). */
function startOfSize(uuid: string, cluster: number, bytes: number) {
  const tasks = Array.from({ length: 100 }, (_, i) => ({ id: `task-${i}`, type: 'puppet', parameters: { timeout: 3600 } }));
  const perNode = JSON.stringify(tasks).length + 10;
  const graph = Object.fromEntries(Array.from({ length: Math.ceil(bytes / perNode) }, (_, n) => [String(n + 1), tasks]));
  return start(uuid, { id: cluster, name: 'limits', release: 'mitaka-9.0' }, graph);
}

/**
 * Opens a connection and sends a request's head and the first `sent` bytes of a body said to be
 * `declared` bytes long; keeps the connection open. `answer` resolves with the status and body of the
 * answer if one comes.
 */
function startUpload(port: number, path: string, declared: number, sent: number, headers: Record<string, string> = admin) {
  const socket: Socket = connect(port, '127.0.0.1');
  let text = '';
  const answer = new Promise<{ status: number; headers: string; body: string }>((resolve) => {
    const done = () => {
      const m = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(text);
      resolve(m ? { status: Number(m[1]), headers: m[2], body: m[3] } : { status: 0, headers: '', body: text });
    };
    socket.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      const m = /\r\n\r\n/.exec(text);
      const length = /content-length: (\d+)/i.exec(text);
      if (m && length && text.length - m.index - 4 >= Number(length[1])) done();
    });
    socket.on('close', done);
    socket.on('error', () => undefined);
  });
  const head = Object.entries({ 'Content-Type': 'application/json', ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${head}Content-Length: ${declared}\r\n\r\n`);
  socket.write(Buffer.alloc(sent, 0x20));
  return { socket, answer };
}

describe('request body limits and the line of large bodies (BODY_MAX_CASTS_BYTES=4 MB, tokens on)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startApp({ env: { AUTH_READ_TOKENS: READ, AUTH_ADMIN_TOKENS: ADMIN, BODY_MAX_CASTS_BYTES: String(4 * MB) } });
    await new Promise<void>((resolve) => t.app.getHttpServer().listen(0, '127.0.0.1', resolve));
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(async () => {
    await t?.close();
  });
  /** A POST with the admin token: every write route takes one here. */
  const adminPost = (path: string) => t.http().post(path).set(admin);

  const largeBodies = async () => {
    const metric = t.app.get(Metrics).registry.getSingleMetric('dh_http_large_bodies')!;
    const values = (await metric.get()).values;
    return Object.fromEntries(values.map((v) => [v.labels.state, v.value]));
  };

  it('a 2 MB body on another write route is 413, naming the 1 MB limit; without a token it is 401', async () => {
    const body = { name: 'x'.repeat(2 * MB), release: 'mitaka-9.0' };
    const res = await t.http().put('/api/v1/clusters/1').set(admin).send(body).expect(413);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const limits =
      /too large: this route takes up to 1 MB \(1048576 bytes\); only POST \/casts and POST \/transactions take more \(up to 4 MB\)$/;
    expect(res.body).toEqual({ statusCode: 413, message: expect.stringMatching(limits) });
    await adminPost('/api/v1/retention?older_than_days=1')
      .send({ x: 'x'.repeat(2 * MB) })
      .expect(413);
    // Authentication first: a stranger learns nothing of the limits.
    await t.http().put('/api/v1/clusters/1').send(body).expect(401);
    await t.http().put('/api/v1/clusters/1').set('X-Auth-Token', READ).send(body).expect(403);
    // Just under the limit: read, and answered by the route.
    await t
      .http()
      .put('/api/v1/clusters/1')
      .set(admin)
      .send({ name: 'x'.repeat(MB - 100), release: 'mitaka-9.0' })
      .expect(400);
  });

  it('POST /casts and POST /transactions take more than 1 MB, under /api/v1/ and /api/', async () => {
    const cast = startOfSize('limits-1', 11, 2 * MB);
    expect(JSON.stringify(cast).length).toBeGreaterThan(2 * MB);
    const started = [expect.objectContaining({ outcome: 'started' })];
    expect((await adminPost('/api/v1/casts').send(cast).expect(200)).body).toEqual(started);
    // The /api/ alias, and POST /transactions (whose body is a start's args).
    const more: Array<[string, () => object, number]> = [
      ['/api/casts/', () => startOfSize('limits-2', 11, 2 * MB), 200],
      ['/api/v1/transactions', () => startOfSize('limits-3', 11, 3 * MB).args, 201],
      ['/api/transactions/', () => startOfSize('limits-4', 11, 3 * MB).args, 201],
    ];
    for (const [path, body, status] of more) await adminPost(path).send(body()).expect(status);
    // gzip: the limit is on the body as decoded.
    const zipped = gzipSync(JSON.stringify(startOfSize('limits-5', 11, 3 * MB)));
    expect(zipped.length).toBeLessThan(MB);
    const unzipped = await rawRequest(port, '/api/v1/casts', { body: zipped, headers: { ...admin, 'Content-Encoding': 'gzip' } });
    expect({ status: unzipped.status, body: JSON.parse(unzipped.text) }).toEqual({ status: 200, body: started });
  });

  it('over BODY_MAX_CASTS_BYTES: 413 naming it; at once, unread, when Content-Length says so', async () => {
    const res = await adminPost('/api/v1/casts')
      .send(startOfSize('limits-6', 11, 5 * MB))
      .expect(413);
    expect(res.body.message).toMatch(/too large: this route takes up to 4 MB \(4194304 bytes\)$/);
    // 100 MB announced, 1 KB sent: the answer does not wait for the rest.
    const upload = startUpload(port, '/api/v1/casts', 100 * MB, 1024);
    const early = await upload.answer;
    upload.socket.destroy();
    expect(early.status).toBe(413);
    expect(JSON.parse(early.body)).toEqual({ statusCode: 413, message: expect.stringMatching(/4 MB/) });
    // Without Content-Length (chunked): read up to the limit, then 413.
    const chunked = await new Promise<number>((resolve, reject) => {
      const headers = { ...admin, 'Content-Type': 'application/json' };
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/casts', headers }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      });
      req.on('error', reject);
      req.write('[');
      const piece = Buffer.alloc(MB, 0x20);
      for (let i = 0; i < 6; i++) req.write(piece);
      req.end(']');
    });
    expect(chunked).toBe(413);
    // gzip: on the decoded size, whatever the compressed one.
    const bomb = gzipSync(Buffer.alloc(8 * MB, 0x20));
    expect(bomb.length).toBeLessThan(MB);
    const zipped = await rawRequest(port, '/api/v1/casts', { body: bomb, headers: { ...admin, 'Content-Encoding': 'gzip' } });
    expect({ status: zipped.status, body: JSON.parse(zipped.text) }).toEqual({
      status: 413,
      body: { statusCode: 413, message: expect.stringMatching(/4 MB/) },
    });
    const notGzip = Buffer.from('{"not": "gzip"}');
    const garbage = await rawRequest(port, '/api/v1/casts', { body: notGzip, headers: { ...admin, 'Content-Encoding': 'gzip' } });
    expect({ status: garbage.status, body: JSON.parse(garbage.text) }).toEqual({
      status: 400,
      body: { statusCode: 400, message: expect.stringMatching(/^the body is not valid gzip data/) },
    });
  });

  it('Expect: 100-continue: the client is told to send its body only once the body is to be read', async () => {
    const ask = (headers: Record<string, string>) => {
      const socket = connect(port, '127.0.0.1');
      const head = Object.entries({ 'Content-Type': 'application/json', 'Content-Length': '2', Expect: '100-continue', ...headers });
      socket.write(`POST /api/v1/casts HTTP/1.1\r\nHost: 127.0.0.1\r\n${head.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
      let text = '';
      const first = new Promise<string>((resolve) => socket.on('data', (d: Buffer) => resolve((text += d.toString()).split('\r\n')[0])));
      return { socket, first, text: () => text };
    };
    // A stranger: the 401 at once, and no invitation to send anything.
    const stranger = ask({});
    expect(await stranger.first).toBe('HTTP/1.1 401 Unauthorized');
    stranger.socket.destroy();
    // An admin: 100 Continue, then the answer to the body it sends.
    const known = ask(admin);
    expect(await known.first).toBe('HTTP/1.1 100 Continue');
    known.socket.write('[]');
    await waitFor(() => / 400 Bad Request\r\n/.test(known.text()), 'the answer to the body sent after 100 Continue');
    expect(known.text()).toMatch(/expected a cast or a non-empty list of casts/);
    known.socket.destroy();
  });

  it('a large body that is not JSON: 400 saying where', async () => {
    const text = JSON.stringify(startOfSize('limits-7', 11, 2 * MB));
    const broken = `${text.slice(0, MB)}}${text.slice(MB)}`;
    const res = await adminPost('/api/v1/casts').set('Content-Type', 'application/json').send(broken).expect(400);
    expect(res.body.message).toMatch(/^the body is not valid JSON: .*byte/);
  });

  it('only UTF-8: another charset is 415', async () => {
    const utf16 = 'application/json; charset=utf-16';
    const res = await adminPost('/api/v1/casts').set('Content-Type', utf16).send('{}').expect(415);
    expect(res.body.message).toMatch(/unsupported charset "utf-16"/);
  });

  it(`bodies over 1 MB: ${LARGE_BODIES_AT_ONCE} at once, ${LARGE_BODIES_WAITING} waiting, then 503; turns end with answers`, async () => {
    const held = Array.from({ length: LARGE_BODIES_AT_ONCE + LARGE_BODIES_WAITING }, (_, i) =>
      startUpload(port, i % 2 ? '/api/casts' : '/api/v1/transactions', 2 * MB, 1024),
    );
    try {
      await waitFor(async () => {
        const n = await largeBodies();
        return n.active === LARGE_BODIES_AT_ONCE && n.waiting === LARGE_BODIES_WAITING;
      }, 'the uploads to hold every turn and every place in line');
      const over = startUpload(port, '/api/v1/casts', 2 * MB, 0);
      const refused = await over.answer;
      over.socket.destroy();
      expect(refused.status).toBe(503);
      expect(refused.headers).toMatch(/^retry-after: 5$/im);
      const busy =
        `${LARGE_BODIES_AT_ONCE} large request bodies are being handled ` + `and ${LARGE_BODIES_WAITING} more are waiting: retry in 5 s`;
      expect(JSON.parse(refused.body)).toEqual({ statusCode: 503, message: busy });
      expect(await t.app.get(Metrics).registry.getSingleMetricAsString('dh_http_large_bodies_refused_total')).toMatch(/ 1$/m);
      // Small bodies do not wait in that line; strangers are still told 401 at once.
      await adminPost('/api/v1/casts')
        .send(startOfSize('limits-8', 12, 100_000))
        .expect(200);
      const stranger = startUpload(port, '/api/v1/casts', 2 * MB, 0, {});
      expect((await stranger.answer).status).toBe(401);
      stranger.socket.destroy();
    } finally {
      held.forEach((h) => h.socket.destroy());
    }
    await waitFor(async () => {
      const n = await largeBodies();
      return n.active === 0 && n.waiting === 0;
    }, 'the turns of closed connections to end');
    await adminPost('/api/v1/casts')
      .send(startOfSize('limits-9', 12, 2 * MB))
      .expect(200);
  });
});
