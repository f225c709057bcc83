import { Logger } from '@nestjs/common';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'supertest';
import { startApp, TestApp } from '../support/app';
import { Bus } from '../support/bus';
import { finish, oneTaskRun, resp, start, task } from '../support/casts';
import { waitFor } from '../support/services';

/**
 * Token authentication on the real app: every route of the Swagger document (and every route the
 * server registered, so a new one cannot slip through) checked with no token, a wrong one, a read
 * token and an admin token, in both header forms; the service open without tokens; tokens from a
 * file; the RabbitMQ consumer untouched by it; a bad token configuration stopping the boot.
 */
const READ = 'read-0123456789abcdef';
const READ_2 = 'read-fedcba9876543210';
const ADMIN = 'admin-0123456789abcdef0123456789';
const WRONG = 'wrong-0123456789abcdef';

/** A token in both header forms fuel2 and other clients send: `Authorization: Bearer` and `X-Auth-Token` (another token there, if given). */
const headerForms = (bearer: string, xAuthToken = bearer): Array<[string, string]> => [
  ['Authorization', `Bearer ${bearer}`],
  ['X-Auth-Token', xAuthToken],
];

/** Routes anyone may call. Anything else needs a token: add a route here only on purpose. */
const PUBLIC = new Set(['GET /api/v1/version', 'GET /health', 'GET /health/ready', 'POST /keystone/v2.0/tokens']);
/** Swagger UI and its documents (served by SwaggerModule, outside Nest's routes and guards). */
const isDocs = (path: string) => /^\/api\/docs(\/|-|$)/.test(path);

interface Op {
  method: string;
  /** False for a route the server serves but the document hides (e.g. @ApiExcludeController). */
  documented: boolean;
  /** As in the Swagger document: /api/v1/clusters/{cluster_id} */
  path: string;
  /** A callable URL: parameters filled with values that name nothing (a write then changes nothing). */
  url: string;
  key: string;
  isPublic: boolean;
  isWrite: boolean;
}

type Doc = {
  paths: Record<string, Record<string, { security?: Array<Record<string, string[]>> }>>;
  components: { securitySchemes?: Record<string, unknown> };
};

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function operations(doc: Doc): Op[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => HTTP_METHODS.includes(m))
      .map((m) => {
        return makeOp(m.toUpperCase(), path, true);
      }),
  );
}

function makeOp(method: string, path: string, documented: boolean): Op {
  const key = `${method} ${path}`;
  return {
    method,
    path,
    documented,
    url: path.replace(/\{[^}]+\}/g, '999999'),
    key,
    isPublic: PUBLIC.has(key) || isDocs(path),
    isWrite: method !== 'GET' && method !== 'HEAD',
  };
}

/** Every route the Express app registered, as `METHOD /path/{param}`, to compare with the document. */
function registeredRoutes(t: TestApp): string[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> } };
  const express = t.app.getHttpAdapter().getInstance() as unknown as { router?: { stack: Layer[] }; _router?: { stack: Layer[] } };
  const stack = express.router?.stack ?? express._router?.stack ?? [];
  const routes = stack
    // Middleware applied with forRoutes() is registered once for each of Express's ~35 methods: not a route.
    .filter((l) => l.route && Object.keys(l.route.methods).length < 20)
    .flatMap((l) =>
      Object.keys(l.route!.methods)
        // An @All() route: tried as a read and as a write.
        .flatMap((m) => (m === '_all' ? ['get', 'post'] : [m]))
        // Nest may register `/path{/}` (optional trailing slash) in Express 5.
        .map((m) => `${m.toUpperCase()} ${l.route!.path.replace(/\{\/\}$/, '').replace(/:(\w+)/g, '{$1}')}`),
    );
  return [...new Set(routes)];
}

/** The request of an operation, by its method name (supertest has one function per method). */
const send = (t: TestApp, op: { method: string; url: string }): Test => {
  const agent = t.http() as unknown as Record<string, (url: string) => Test>;
  return agent[op.method.toLowerCase()](op.url);
};

describe('auth: tokens configured', () => {
  let t: TestApp;
  let doc: Doc;
  let ops: Op[];
  const logged: string[] = [];

  beforeAll(async () => {
    for (const level of ['log', 'warn', 'error', 'debug', 'verbose'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation(function (this: Logger, ...args: unknown[]) {
        logged.push(args.map(String).join(' '));
      });
    }
    t = await startApp({ env: { AUTH_READ_TOKENS: `${READ}, ${READ_2}`, AUTH_ADMIN_TOKENS: ADMIN } });
    doc = (await t.http().get('/api/docs-json').expect(200)).body;
    ops = operations(doc);
    // Routes the server serves but the document hides are checked too: none escapes the table.
    const documented = new Set(ops.map((o) => o.key));
    for (const r of registeredRoutes(t)) if (!documented.has(r)) ops.push(makeOp(r.split(' ')[0], r.split(' ')[1], false));
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await t?.close();
  });

  it('the Swagger UI and its JSON are public and document both header forms', async () => {
    await t.http().get('/api/docs').redirects(1).expect(200);
    expect(doc.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      'x-auth-token': expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Auth-Token' }),
    });
  });

  it('the document lists the routes expected (a sanity check of the table below)', () => {
    const keys = ops.map((o) => o.key);
    expect(keys.length).toBeGreaterThanOrEqual(20);
    for (const k of [
      ...PUBLIC,
      'POST /api/v1/casts',
      'POST /api/v1/transactions',
      'PUT /api/v1/clusters/{cluster_id}',
      'POST /api/v1/clusters/{cluster_id}/reset',
      'DELETE /api/v1/clusters/{cluster_id}/deployment_history',
      'POST /api/v1/retention',
      'GET /api/v1/transactions/{transaction_id}/deployment_history',
    ]) {
      expect(keys).toContain(k);
    }
  });

  it('the table covers every route the server registered', () => {
    const registered = registeredRoutes(t);
    expect(registered.length).toBeGreaterThanOrEqual(20);
    const tested = new Set(ops.map((o) => o.key));
    expect(registered.filter((r) => !tested.has(r))).toEqual([]);
  });

  it('the document states the security of every operation: both schemes, except on public routes; 403 on writes', () => {
    const wrong: string[] = [];
    for (const op of ops.filter((o) => o.documented)) {
      const o = doc.paths[op.path][op.method.toLowerCase()] as {
        security?: Array<Record<string, string[]>>;
        responses: Record<string, unknown>;
      };
      const schemes = (o.security ?? []).flatMap((s) => Object.keys(s)).sort();
      if (op.isPublic ? schemes.length !== 0 : schemes.join() !== 'bearer,x-auth-token')
        wrong.push(`${op.key}: security ${schemes.join() || 'none'}`);
      if (!op.isPublic && !o.responses['401']) wrong.push(`${op.key}: no 401 response`);
      // A public route refuses no token (Keystone's login checks the one in its body: 401).
      if (op.isWrite && !op.isPublic && !o.responses['403']) wrong.push(`${op.key}: no 403 response`);
    }
    expect(wrong).toEqual([]);
  });

  it('no token: 401 with WWW-Authenticate: Bearer and a clear message on every route but the public ones', async () => {
    const wrong: string[] = [];
    for (const op of ops) {
      const res = await send(t, op);
      if (op.isPublic) {
        if (res.status === 401 || res.status === 403) wrong.push(`${op.key}: ${res.status} on a public route`);
      } else if (res.status !== 401) wrong.push(`${op.key}: ${res.status}, expected 401`);
      else {
        if (res.headers['www-authenticate'] !== 'Bearer realm="deployment-history"')
          wrong.push(`${op.key}: WWW-Authenticate ${res.headers['www-authenticate']}`);
        if (!/^Authentication required: send a token as 'Authorization: Bearer <token>' or 'X-Auth-Token: <token>'$/.test(res.body.message))
          wrong.push(`${op.key}: message ${res.body.message}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a wrong token: 401 invalid_token on every non-public route, in both header forms', async () => {
    const wrong: string[] = [];
    for (const op of ops.filter((o) => !o.isPublic)) {
      for (const [name, value] of headerForms(WRONG)) {
        const res = await send(t, op).set(name, value);
        if (
          res.status !== 401 ||
          !/error="invalid_token"/.test(res.headers['www-authenticate'] ?? '') ||
          !/^Invalid token: it is not a configured read or admin token/.test(res.body.message)
        ) {
          wrong.push(`${op.key} with ${name}: ${res.status} ${res.body.message}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a read token (either of them, in both header forms): every read allowed, every write 403 naming the route', async () => {
    const wrong: string[] = [];
    for (const op of ops.filter((o) => !o.isPublic)) {
      for (const [name, value] of headerForms(READ, READ_2)) {
        const res = await send(t, op).set(name, value);
        if (op.isWrite) {
          const message = `Forbidden: ${op.method} ${op.url} changes data and needs an admin token; the token sent is a read token`;
          if (res.status !== 403 || res.body.message !== message)
            wrong.push(`${op.key} with ${name}: ${res.status} ${res.body.message}, expected 403`);
        } else if (res.status === 401 || res.status === 403 || res.status >= 500)
          wrong.push(`${op.key} with ${name}: ${res.status} ${res.body.message}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('an admin token (in both header forms): every route allowed', async () => {
    const wrong: string[] = [];
    for (const op of ops) {
      for (const [name, value] of headerForms(ADMIN)) {
        const res = await send(t, op).set(name, value);
        if (res.status === 401 || res.status === 403 || res.status >= 500)
          wrong.push(`${op.key} with ${name}: ${res.status} ${res.body.message}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('writes really apply with an admin token, never with a read token; reads see them with a read token', async () => {
    const casts = oneTaskRun('auth-1', { id: 31, name: 'secure', release: 'mitaka-9.0' });
    await t.http().post('/api/v1/casts').set('X-Auth-Token', READ).send(casts).expect(403);
    expect((await t.sql.query('SELECT count(*)::int AS n FROM transactions')).rows[0].n).toBe(0);
    await t.http().post('/api/v1/casts').set('Authorization', `Bearer ${ADMIN}`).send(casts).expect(200);
    const runs = (await t.http().get('/api/v1/transactions').set('Authorization', `Bearer ${READ}`).expect(200)).body;
    expect(runs).toEqual([expect.objectContaining({ uuid: 'auth-1', status: 'ready', cluster: 31 })]);
    await t.http().get(`/api/v1/transactions/${runs[0].id}/deployment_history`).set('X-Auth-Token', READ).expect(200);
    await t.http().put('/api/v1/clusters/31').set('X-Auth-Token', READ).send({ name: 'renamed', release: 'mitaka-9.0' }).expect(403);
    await t.http().put('/api/v1/clusters/31').set('X-Auth-Token', ADMIN).send({ name: 'renamed', release: 'mitaka-9.0' }).expect(200);
    expect((await t.http().get('/api/v1/clusters/31').set('X-Auth-Token', READ_2).expect(200)).body.name).toBe('renamed');
  });

  it('the /api/ alias and trailing slashes are guarded the same', async () => {
    await t.http().get('/api/transactions/').expect(401);
    await t.http().get('/api/v1/transactions/').expect(401);
    await t.http().get('/api/transactions/').set('X-Auth-Token', READ).expect(200);
    await t.http().post('/api/casts/').set('X-Auth-Token', READ).send([]).expect(403);
    await t.http().get('/api/version').expect(200);
  });

  it('authentication comes first: without a token a malformed request or a missing thing answers 401, not 400/404', async () => {
    await t.http().get('/api/v1/transactions/abc').expect(401);
    await t.http().get('/api/v1/clusters/424242/state').expect(401);
    await t.http().post('/api/v1/casts').set('X-Auth-Token', READ).send({ method: 'nope' }).expect(403);
  });

  it('refuses ambiguous or malformed credentials with a clear 401', async () => {
    const both = await t.http().get('/api/v1/clusters').set('Authorization', `Bearer ${READ}`).set('X-Auth-Token', ADMIN).expect(401);
    expect(both.body.message).toBe('Authorization: Bearer and X-Auth-Token carry different tokens; send one token, or the same in both');
    await t.http().get('/api/v1/clusters').set('Authorization', `Bearer ${ADMIN}`).set('X-Auth-Token', ADMIN).expect(200);
    const basic = await t.http().get('/api/v1/clusters').set('Authorization', 'Basic YWRtaW46YWRtaW4=').expect(401);
    expect(basic.body.message).toMatch(/^Authorization scheme 'Basic' is not supported/);
    expect(basic.headers['www-authenticate']).toBe('Bearer realm="deployment-history", error="invalid_request"');
    await t
      .http()
      .get('/api/v1/clusters')
      .set('Authorization', `Bearer ${READ.slice(0, -1)}`)
      .expect(401);
    await t.http().get('/api/v1/clusters').set('Authorization', `Bearer ${READ}x`).expect(401);
  });

  it('version says auth_required: true and needs no token; health needs none', async () => {
    expect((await t.http().get('/api/v1/version').expect(200)).body.auth_required).toBe(true);
    await t.http().get('/health').expect(200);
    await t.http().get('/health/ready').expect(200);
  });

  it('logs that tokens are required, with counts, and never a token', () => {
    expect(logged).toContainEqual(expect.stringMatching(/tokens required: 2 read, 1 admin, from AUTH_READ_TOKENS, AUTH_ADMIN_TOKENS/));
    for (const secret of [READ, READ_2, ADMIN]) expect(logged.filter((l) => l.includes(secret))).toEqual([]);
  });
});

describe('auth: no tokens configured', () => {
  let t: TestApp;
  const warnings: string[] = [];

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((...args: unknown[]) => {
      warnings.push(args.map(String).join(' '));
    });
    t = await startApp();
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await t?.close();
  });

  it('runs open, warns at start, and says auth_required: false', async () => {
    expect(warnings).toContainEqual(expect.stringMatching(/No API token is configured .*the HTTP API is OPEN/));
    expect((await t.http().get('/api/v1/version').expect(200)).body.auth_required).toBe(false);
    await t.http().get('/api/v1/transactions').expect(200);
    await t.http().put('/api/v1/clusters/5').send({ name: 'open', release: 'mitaka-9.0' }).expect(201);
    // A token sent anyway, even an unknown one, changes nothing.
    await t.http().get('/api/v1/clusters/5').set('X-Auth-Token', WRONG).expect(200);
  });
});

describe('auth: tokens from a file, and the RabbitMQ consumer', () => {
  let t: TestApp;
  let bus: Bus;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dh-auth-'));
    const file = join(dir, 'tokens');
    writeFileSync(file, `# deployment-history API tokens\nread:${READ}\nadmin:${ADMIN}\n`, { mode: 0o600 });
    t = await startApp({ amqp: true, env: { AUTH_TOKENS_FILE: file } });
    bus = await Bus.connect();
  });
  afterAll(async () => {
    if (t) await bus?.removeDeclared(t.config);
    await bus?.close();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes its tokens from the file', async () => {
    expect((await t.http().get('/api/v1/version').expect(200)).body.auth_required).toBe(true);
    await t.http().get('/api/v1/transactions').expect(401);
    await t.http().get('/api/v1/transactions').set('X-Auth-Token', READ).expect(200);
    await t.http().post('/api/v1/retention?keep_runs=5&dry_run=true').set('X-Auth-Token', READ).expect(403);
    await t.http().post('/api/v1/retention?keep_runs=5&dry_run=true').set('X-Auth-Token', ADMIN).expect(200);
  });

  it('applies casts from the bus (trusted: no token there)', async () => {
    await bus.publish(
      t.config.amqpExchange,
      'nailgun',
      start('auth-bus', { id: 41, name: 'bus', release: 'mitaka-9.0' }, { '1': [{ id: 'hiera', type: 'puppet' }] }),
    );
    await bus.publish(t.config.amqpExchange, 'nailgun', resp('auth-bus', [task('1', 'hiera', 'ready')]));
    await bus.publish(t.config.amqpExchange, 'nailgun', finish('auth-bus', 'ready'));
    const run = await waitFor(async () => {
      const runs = (await t.http().get('/api/v1/transactions').set('Authorization', `Bearer ${READ}`).expect(200)).body;
      return runs.find((r: { uuid: string; status: string }) => r.uuid === 'auth-bus' && r.status === 'ready');
    }, 'the run published on the bus to be applied');
    expect(run.cluster).toBe(41);
    expect((await bus.queueDepth(`${t.config.amqpQueue}.dead-letter`)).messages).toBe(0);
  });
});

describe('auth: a bad token configuration stops the boot', () => {
  it.each([
    [{ AUTH_ADMIN_TOKENS: 'too-short' }, /token 1 of AUTH_ADMIN_TOKENS is 9 characters long; a token must have at least 16/],
    [
      { AUTH_READ_TOKENS: ADMIN, AUTH_ADMIN_TOKENS: ADMIN },
      /token 1 of AUTH_READ_TOKENS \(read\) and token 1 of AUTH_ADMIN_TOKENS \(admin\) are the same token/,
    ],
    [{ AUTH_TOKENS_FILE: '/nonexistent/dh-tokens' }, /AUTH_TOKENS_FILE: cannot read '\/nonexistent\/dh-tokens' \(ENOENT\)/],
  ])('%j', async (env, message) => {
    const boot = startApp({ env: env });
    await expect(boot).rejects.toThrow(message);
    await expect(boot).rejects.toThrow(/^Invalid configuration:/);
    await boot.catch((e: Error) => expect(e.message).not.toContain(ADMIN));
  });
});
