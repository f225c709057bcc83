import { readFileSync } from 'node:fs';
import { IncomingHttpHeaders, request } from 'node:http';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { finish, Graph, resp, start, task } from '../support/casts';
import { startApp, TestApp, postCasts } from '../support/app';

// web/build.js is plain CommonJS (run by node at build time): its naming function, as the build uses it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { hashedName } = require('../../web/build.js') as { hashedName: (name: string, content: string | Buffer) => string };

/**
 * Issue #16 item 11 ("Transfer"): answers compressed as the client accepts (brotli, else gzip, else
 * none), never the live stream; the page's assets named after their content and cached `immutable`,
 * index.html revalidated by its ETag; the page's script under 60 KB gzipped. The real app on a fresh
 * database, listening on a port, read with node:http so that the bytes on the wire are what is checked
 * (supertest would decompress them).
 */
describe('transfer: compression and caching', () => {
  let t: TestApp;
  let port: number;
  const NODES = 70;
  const TASKS = 103; // 70 × 103 = 7,210 rows, the size of the run the issue measured
  let bigRun: number;
  let liveRun: number;

  interface Answer {
    status: number;
    headers: IncomingHttpHeaders;
    body: Buffer;
  }
  /** One request, its answer's bytes as sent (not decoded). */
  function raw(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }
  const decode = (a: Answer): Buffer =>
    a.headers['content-encoding'] === 'br'
      ? brotliDecompressSync(a.body)
      : a.headers['content-encoding'] === 'gzip'
        ? gunzipSync(a.body)
        : a.body;

  const cast = async (...casts: unknown[]): Promise<Array<Record<string, any>>> => postCasts(t, casts);

  beforeAll(async () => {
    t = await startApp();
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as { port: number }).port;
    const cluster = { id: 401, name: 'transfer', release: 'mitaka-9.0' };
    const graph: Graph = {};
    for (let n = 1; n <= NODES; n++)
      graph[String(n)] = Array.from({ length: TASKS }, (_, i) => ({
        id: `task_${i}`,
        type: 'puppet',
        requires: i ? [`task_${i - 1}`] : [],
        parameters: { puppet_manifest: `/etc/puppet/modules/osnailyfacter/modular/task_${i}.pp`, timeout: 3600 },
      }));
    const t0 = Date.parse('2025-07-01T10:00:00Z');
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    [{ transaction_id: bigRun }] = await cast(start('transfer-big', cluster, graph, { time: at(0) }));
    const reports = [];
    for (let n = 1; n <= NODES; n++)
      for (let i = 0; i < TASKS; i++) {
        const failed = n === 7 && i === 50;
        reports.push(task(String(n), `task_${i}`, 'running', { time: at(i * 10 + (n % 3)) }));
        reports.push(
          task(String(n), `task_${i}`, failed ? 'error' : 'ready', {
            time: at(i * 10 + 5 + (n % 4)),
            ...(failed ? { error_msg: 'Puppet run failed on node-7' } : {}),
          }),
        );
      }
    await cast(resp('transfer-big', reports), finish('transfer-big', 'error', { time: at(TASKS * 10 + 10) }));
    [{ transaction_id: liveRun }] = await cast(
      start('transfer-live', cluster, { '1': [{ id: 'hiera', type: 'puppet' }] }, { time: at(0) }),
      resp('transfer-live', [task('1', 'hiera', 'running', { time: at(1) })]),
    );
  }, 120_000);

  afterAll(() => t?.close());

  /** The run's JSON and CSV, uncompressed, as the reference each compressed answer must decode to. */
  const ANSWERS = [
    ['JSON', {}],
    ['CSV', { Accept: 'text/csv' }],
  ] as const;

  it.each(ANSWERS)("compresses a 7,210-row run's %s with brotli or gzip as asked, to at most 1/8", async (what, accept) => {
    const path = `/api/v1/transactions/${bigRun}/deployment_history`;
    const plain = await raw(path, { ...accept });
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined(); // no Accept-Encoding: identity
    expect(plain.headers['vary']).toMatch(/Accept-Encoding/i);
    if (what === 'JSON') expect(JSON.parse(plain.body.toString())).toHaveLength(NODES * TASKS);
    else expect(plain.body.toString().trimEnd().split('\n')).toHaveLength(NODES * TASKS + 1);

    const sizes: Record<string, number> = { identity: plain.body.length };
    for (const [asked, got] of [
      ['gzip, deflate, br', 'br'], // brotli preferred when offered
      ['br', 'br'],
      ['gzip', 'gzip'],
      ['gzip, deflate', 'gzip'],
      ['br;q=0, gzip', 'gzip'],
    ] as const) {
      const a = await raw(path, { ...accept, 'Accept-Encoding': asked });
      expect({ asked, status: a.status, encoding: a.headers['content-encoding'] }).toEqual({ asked, status: 200, encoding: got });
      expect(a.headers['vary']).toMatch(/Accept-Encoding/i);
      expect(a.headers['content-type']).toBe(plain.headers['content-type']);
      expect(decode(a).equals(plain.body)).toBe(true);
      expect(a.body.length).toBeLessThanOrEqual(plain.body.length / 8);
      sizes[got] = a.body.length;
    }
    const unknown = await raw(path, { ...accept, 'Accept-Encoding': 'compress' });
    expect(unknown.headers['content-encoding']).toBeUndefined();
    expect(unknown.body.equals(plain.body)).toBe(true);
    console.log(`7,210-row run ${what}: ${JSON.stringify(sizes)} bytes`);
  });

  it('never compresses a live stream: its first event arrives before the stream ends', async () => {
    const path = `/api/v1/transactions/${liveRun}/deployment_history/stream`;
    const got = await new Promise<{ headers: IncomingHttpHeaders; first: string; ended: boolean }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path, headers: { Accept: 'text/event-stream', 'Accept-Encoding': 'br, gzip' }, agent: false },
        (res) => {
          let text = '';
          let ended = false;
          res.on('end', () => (ended = true));
          res.on('data', (c: Buffer) => {
            text += c.toString('latin1');
            // The first whole event, read as text: it was not compressed.
            if (text.includes('\n\n')) {
              resolve({ headers: res.headers, first: text.slice(0, text.indexOf('\n\n')), ended });
              req.destroy();
            }
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(got.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(got.headers['content-encoding']).toBeUndefined();
    expect(got.ended).toBe(false);
    expect(got.first).toMatch(/^event: \w+/m);
  });

  it('still answers errors as JSON, compressed or not', async () => {
    for (const enc of [undefined, 'gzip', 'br']) {
      const a = await raw('/api/v1/transactions/99999/deployment_history', enc ? { 'Accept-Encoding': enc } : {});
      expect(a.status).toBe(404);
      expect(a.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(decode(a).toString())).toMatchObject({ statusCode: 404, message: 'Transaction not found' });
    }
    const bad = await raw('/api/v1/clusters/401/runs?limit=0', { 'Accept-Encoding': 'br' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(decode(bad).toString()).message).toMatch(/limit/);
  });

  /** The asset names index.html links, as the browser reads them. */
  async function linked(): Promise<{ js: string; css: string; html: Answer }> {
    const html = await raw('/ui/');
    const text = html.body.toString();
    const js = /<script src="\/ui\/(main\.[0-9a-f]{16}\.js)"><\/script>/.exec(text)?.[1];
    const css = /<link rel="stylesheet" href="\/ui\/(main\.[0-9a-f]{16}\.css)" \/>/.exec(text)?.[1];
    expect({ js, css }).toEqual({ js: expect.any(String), css: expect.any(String) });
    return { js: js!, css: css!, html };
  }

  it('serves the assets index.html links under their content hash, immutable, compressed', async () => {
    const { js, css } = await linked();
    for (const [name, type] of [
      [js, /^text\/javascript/],
      [css, /^text\/css/],
      [`${js}.map`, /^application\/json/],
    ] as const) {
      const a = await raw(`/ui/${name}`, { 'Accept-Encoding': 'gzip, deflate, br' });
      expect({ name, status: a.status, cache: a.headers['cache-control'], encoding: a.headers['content-encoding'] }).toEqual({
        name,
        status: 200,
        cache: 'public, max-age=31536000, immutable',
        encoding: 'br',
      });
      expect(a.headers['content-type']).toMatch(type);
      expect(a.headers['content-security-policy']).toMatch(/^default-src 'self'/);
      expect(a.headers['vary']).toMatch(/Accept-Encoding/i);
      // The name is the content's hash: the stylesheet's; the script's code and map's (its last line names the map).
      const body = decode(a);
      if (name === css) expect(hashedName('main.css', body)).toBe(name);
      if (name === js) {
        const code = body.toString().replace(new RegExp(`//# sourceMappingURL=${js}\\.map\\n$`), '');
        expect(hashedName('main.js', code + readFileSync(join(distWeb(), `${js}.map`), 'utf8'))).toBe(name);
      }
      // Revalidation and ranges still work on an asset: 304 and 206 (identity: a range counts the file's bytes).
      const etag = (await raw(`/ui/${name}`)).headers['etag']!;
      expect((await raw(`/ui/${name}`, { 'If-None-Match': etag, 'Accept-Encoding': 'br' })).status).toBe(304);
      const range = await raw(`/ui/${name}`, { Range: 'bytes=0-99', 'Accept-Encoding': 'gzip, br' });
      expect({ status: range.status, encoding: range.headers['content-encoding'], length: range.body.length }).toEqual({
        status: 206,
        encoding: undefined,
        length: 100,
      });
      expect(range.body.equals(body.subarray(0, 100))).toBe(true);
      const head = await raw(`/ui/${name}`, { 'Accept-Encoding': 'br' }, 'HEAD');
      expect({ status: head.status, body: head.body.length }).toEqual({ status: 200, body: 0 });
    }
    // The old names and any other are a JSON 404, not cached.
    for (const name of ['main.js', 'main.css', 'main.0123456789abcdef.js', 'missing.js']) {
      const a = await raw(`/ui/${name}`);
      expect({ name, status: a.status, type: a.headers['content-type'], cache: a.headers['cache-control'] }).toEqual({
        name,
        status: 404,
        type: expect.stringMatching(/^application\/json/),
        cache: undefined,
      });
    }
  });

  it('revalidates index.html with a strong ETag: no-cache, 304 when unchanged', async () => {
    const { html } = await linked();
    const etag = html.headers['etag']!;
    expect(etag).toMatch(/^"[^"]+"$/); // strong: not W/
    expect(html.headers['cache-control']).toBe('no-cache');
    expect(html.headers['content-security-policy']).toMatch(/^default-src 'self'/);
    for (const path of ['/ui/', '/ui', '/ui/index.html']) {
      const again = await raw(path);
      expect({ path, status: again.status, etag: again.headers['etag'] }).toEqual({ path, status: 200, etag });
      const revalidated = await raw(path, { 'If-None-Match': etag });
      expect({ path, status: revalidated.status, body: revalidated.body.length }).toEqual({ path, status: 304, body: 0 });
      expect(revalidated.headers['x-frame-options']).toBe('DENY');
    }
    expect((await raw('/ui/', { 'If-None-Match': '"something-else"' })).status).toBe(200);
    expect((await raw('/ui/', { 'If-None-Match': `"x", ${etag}` })).status).toBe(304);
  });

  it('names an asset after its content: another content, another name', () => {
    const a = hashedName('main.js', 'console.log(1)');
    expect(a).toMatch(/^main\.[0-9a-f]{16}\.js$/);
    expect(hashedName('main.js', 'console.log(1)')).toBe(a);
    expect(hashedName('main.js', 'console.log(2)')).not.toBe(a);
    expect(hashedName('main.css', 'body{}')).toMatch(/^main\.[0-9a-f]{16}\.css$/);
  });

  it('keeps the page script under 60 KB gzipped', async () => {
    const { js, css } = await linked();
    const script = readFileSync(join(distWeb(), js));
    const gzipped = gzipSync(script, { level: 9 }).length;
    const sent = await raw(`/ui/${js}`, { 'Accept-Encoding': 'gzip' });
    const stylesheet = readFileSync(join(distWeb(), css));
    console.log(
      `page script: ${script.length} bytes minified, ${gzipped} gzipped (-9), ${sent.body.length} as served gzipped; ` +
        `stylesheet ${stylesheet.length} bytes, ${gzipSync(stylesheet, { level: 9 }).length} gzipped`,
    );
    expect(gzipped).toBeLessThan(60 * 1024);
    expect(sent.body.length).toBeLessThan(60 * 1024);
  });
});

/** The built page the app serves (npm run build writes it). */
function distWeb(): string {
  return join(__dirname, '..', '..', 'dist', 'web');
}
