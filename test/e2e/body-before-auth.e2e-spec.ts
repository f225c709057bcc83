import { OwnService, startOwnService } from '../support/faults/own-service';
import type { ServiceProcess } from '../support/faults/service';
import { start } from '../support/casts';
import { percentile, postThenGetOnOneConnection, rawRequest, watchService } from '../support/raw-http';

/**
 * Issue #12, part 1: request bodies were read and parsed before authentication. With tokens on and no
 * token sent, one 62 MB `POST /api/v1/casts` blocked the event loop 6.7 s and took RSS to 820 MB before
 * its 401; 20 at once took 68 s, `/health` waited up to 15.7 s, RSS 3.07 GB.
 *
 * The built service runs as its own process (its RSS is its own, from /proc), with tokens configured.
 * 20 unauthenticated 60 MB posts at once must all be answered 401 within 2 s, while `/health` keeps a
 * p95 under 100 ms and RSS stays under 400 MB, whether the clients stop sending once answered (as curl
 * does) or send their whole body anyway (then read and thrown away, their connections usable after).
 * An authenticated 60 MB `POST /casts` is still accepted, and `/health` is answered meanwhile (its
 * latencies are printed).
 *
 * The machine is shared and noisy: the times are bounds on a quiet machine, scaled by how slow `/health`
 * is here, idle, just before (`slowness`: its p95 over 20 requests against 5 ms, never below 1). The
 * faults these tests guard against cost 100 times more (seconds, not milliseconds).
 */
jest.setTimeout(180_000);

const READ = 'read-0123456789abcdef0123';
const ADMIN = 'admin-0123456789abcdef0123456789';
const MB = 2 ** 20;

/**
 * A `POST /casts` body of about `mb` MB: one transaction_start whose 200 nodes × 150 tasks carry the
 * definitions Fuel sends (groups, requirements, parameters): object-heavy JSON, the costly kind to parse.
 */
function largeStart(uuid: string, clusterId: number, mb: number): Buffer {
  const task = (i: number, vars: number) => ({
    id: `task-${String(i).padStart(3, '0')}`,
    type: 'puppet',
    version: '2.1.0',
    groups: ['primary-controller', 'controller', 'compute'],
    requires: [`task-${String(i - 1).padStart(3, '0')}`],
    required_for: ['post_deployment_end'],
    condition: { yaql_exp: 'changed($.network_scheme)' },
    parameters: {
      puppet_manifest: `/etc/puppet/modules/osnailyfacter/modular/task-${i}.pp`,
      puppet_modules: '/etc/puppet/modules',
      timeout: 3600,
      env: Array.from({ length: vars }, (_, k) => ({ name: `VAR_${k}`, value: `value-${k}` })),
    },
  });
  // Sized from one task: what the others add per variable.
  const size = (vars: number) => JSON.stringify(task(100, vars)).length + 1;
  const vars = Math.max(0, Math.round(((mb * MB) / 30_000 - size(0)) / ((size(100) - size(0)) / 100)));
  const tasks = Array.from({ length: 150 }, (_, i) => task(i, vars));
  const graph = Object.fromEntries(Array.from({ length: 200 }, (_, n) => [String(n + 1), tasks]));
  return Buffer.from(JSON.stringify([start(uuid, { id: clusterId, name: 'large', release: 'mitaka-9.0' }, graph)]));
}

/** How much slower than a quiet machine this one answers `/health` now, idle: ≥ 1. */
async function slowness(port: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < 20; i++) {
    const a = await rawRequest(port, '/health', { timeoutMs: 5000 });
    ms.push(a.status === 200 ? a.ms : 5000);
  }
  return Math.max(1, percentile(ms, 0.95) / 5);
}

describe('request bodies are read after authentication (service process, tokens on)', () => {
  let own: OwnService | undefined;
  let svc: ServiceProcess;
  let body: Buffer;

  beforeAll(async () => {
    own = await startOwnService('dh_bodies', { name: 'service with tokens', env: { AUTH_READ_TOKENS: READ, AUTH_ADMIN_TOKENS: ADMIN } });
    svc = own.svc;
    body = largeStart('large-1', 71, 60);
    expect(body.length).toBeGreaterThan(58 * MB);
    expect(body.length).toBeLessThan(62 * MB);
  }, 120_000);

  afterAll(async () => {
    await own?.remove();
  });

  it('20 unauthenticated 60 MB posts at once: all 401 within 2 s; /health p95 under 100 ms; RSS under 400 MB', async () => {
    const k = await slowness(svc.port);
    const watch = await watchService(svc.port, svc.child.pid!);
    const paths = ['/api/v1/casts', '/api/casts', '/api/v1/transactions', '/api/v1/casts/'];
    // No token, a wrong one, a read token (403), a token without its scheme.
    const kinds: Array<Record<string, string>> = [
      {},
      { 'x-auth-token': `wrong-${ADMIN}` },
      { authorization: `Bearer ${READ}` },
      { authorization: ADMIN.slice(1) },
      {},
    ];
    const posts = Array.from({ length: 20 }, (_, i) =>
      rawRequest(svc.port, paths[i % 4], { body, headers: kinds[i % 5], timeoutMs: 20_000 }),
    );
    const answers = await Promise.all(posts).finally(() => watch.stop());
    const seen = await watch.stop();
    const slowest = Math.max(...answers.map((a) => a.ms));
    console.log(
      `20 unauthenticated 60 MB posts: answered in ${answers.map((a) => a.ms.toFixed(0)).join(', ')} ms; ${seen.summary}; slowness ${k.toFixed(1)}`,
    );

    // A read token on a write is a 403; anything else a 401. Both JSON in the one shape.
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 5 === 2 ? 403 : 401)));
    for (const a of answers) {
      expect(a.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(a.text)).toEqual({ statusCode: a.status, message: expect.any(String) });
    }
    expect(slowest).toBeLessThan(2000 * k);
    expect(seen.p95).toBeLessThan(100 * k);
    expect(seen.peakRssMb).toBeLessThan(400);
  });

  it('20 clients that send their 60 MB anyway: all 401 within 2 s; /health p95 under 500 ms; RSS under 400 MB', async () => {
    // The service reads what they send and throws it away (1.2 GB here); each connection then serves the next request.
    const k = await slowness(svc.port);
    const watch = await watchService(svc.port, svc.child.pid!);
    const posts = Array.from({ length: 20 }, () => postThenGetOnOneConnection(svc.port, '/api/v1/casts', body, '/health'));
    const answers = await Promise.all(posts).finally(() => watch.stop());
    const seen = await watch.stop();
    const shown = answers.map(([a, b]) => `${a.status} in ${a.ms.toFixed(0)} ms, then ${b.status} in ${b.ms.toFixed(0)} ms`);
    console.log(
      `20 × 60 MB sent whole on their connections, then GET /health on each: ${shown.join('; ')}; ${seen.summary}; slowness ${k.toFixed(1)}`,
    );
    expect(answers.map(([a, b]) => [a.status, b.status])).toEqual(Array(20).fill([401, 200]));
    expect(Math.max(...answers.map(([a]) => a.ms))).toBeLessThan(2000 * k);
    // These clients push 1.2 GB through the loopback on the same 2 cores while /health is probed: it shares
    // the CPU with them (seen in CI: p95 180 ms). Parsing the bodies before refusing them cost 15.7 s.
    expect(seen.p95).toBeLessThan(500 * k);
    expect(seen.peakRssMb).toBeLessThan(400);
  });

  it('an authenticated 60 MB POST /casts is accepted, and /health is answered meanwhile', async () => {
    const k = await slowness(svc.port);
    const watch = await watchService(svc.port, svc.child.pid!);
    const post = rawRequest(svc.port, '/api/v1/casts', { body, headers: { authorization: `Bearer ${ADMIN}` }, timeoutMs: 120_000 });
    const answer = await post.finally(() => watch.stop());
    const seen = await watch.stop();
    console.log(`authenticated 60 MB POST /casts: ${answer.status} in ${answer.ms.toFixed(0)} ms; ${seen.summary}`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual([expect.objectContaining({ outcome: 'started', rows_created: 30_000 })]);
    // Not stalled for seconds (issue #12: up to 15.7 s). The writer's own work on 30,000 rows runs meanwhile.
    expect(seen.max).toBeLessThan(1000 * k);
  });
});
