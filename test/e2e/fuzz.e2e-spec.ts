import { deflateSync, gzipSync } from 'node:zlib';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import { getMetadataStorage } from 'class-validator';
import fc from 'fast-check';
import type { IncomingMessage } from 'node:http';
import type { Response, Test } from 'supertest';
import { isListParam } from '../../src/common/http/validators';
import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';

/**
 * Property-based HTTP fuzzing (issue 6): every operation of the app's own Swagger document — so a new
 * route is fuzzed without touching this file — gets hostile path parameters, query strings, request
 * headers and bodies. Whatever it is sent, the service must answer (within 10 s), never with a 5xx
 * (for an event stream, which has sent its 200 before it can fail: never an `error` event), and every
 * 4xx must be JSON carrying a non-empty `message`. A few runs and clusters are seeded (again before each
 * operation, since a fuzzed DELETE, reset or retention may remove them) so that valid ids exist.
 *
 * `nest build` documents every query parameter (the Swagger CLI plugin reads the query DTOs); under
 * ts-jest that plugin does not run, so an operation the document gives no query parameter takes those
 * of its handler's `@Query()` DTO, read from the same class-validator metadata the plugin reads.
 *
 * The seed is fixed (FUZZ_SEED overrides it) and printed by fast-check on failure, with the shrunk
 * counterexample; `FUZZ_SEED=<seed> npx jest test/e2e/fuzz` replays a run.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20260106);
const ANSWER_MS = 10_000;
const LONG = 240_000;

type Method = 'get' | 'post' | 'put' | 'delete' | 'patch';
const METHODS: readonly Method[] = ['get', 'post', 'put', 'delete', 'patch'];

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  default?: unknown;
  minimum?: number;
  properties?: Record<string, Schema>;
  items?: Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
}
interface Param {
  name: string;
  in: string;
  schema?: Schema;
  /** A list parameter (ListParam()): the only kind that may be repeated. */
  list?: boolean;
}
interface SwaggerDoc {
  paths: Record<string, Record<string, { parameters?: Param[]; requestBody?: { content?: Record<string, { schema?: Schema }> } }>>;
  components?: { schemas?: Record<string, Schema> };
}
interface Operation {
  id: string;
  method: Method;
  template: string;
  pathParams: Param[];
  queryParams: Param[];
  /** The query parameters its handler reads, whatever the document says (the query rule's view). */
  handlerQuery: Param[];
  headerParams: Param[];
  body?: Schema;
}

/** One request, as sent; fast-check prints it (clipped) as the counterexample. */
class Req {
  constructor(
    readonly method: Method,
    readonly url: string,
    readonly headers: Record<string, string> = {},
    readonly body?: string | Buffer,
    readonly note = '',
  ) {}
  [fc.toStringMethod](): string {
    return show(this);
  }
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s;
}

function show(r: Req): string {
  const body =
    r.body === undefined
      ? ''
      : typeof r.body === 'string'
        ? ` body=${JSON.stringify(clip(r.body, 300))}`
        : ` body=<${r.body.length} bytes>`;
  const headers = Object.keys(r.headers).length ? ` headers=${JSON.stringify(r.headers)}` : '';
  return `${r.method.toUpperCase()} ${clip(r.url, 300)}${headers}${body}${r.note ? ` [${r.note}]` : ''}`;
}

/** Percent-encodes the UTF-8 bytes of s (lone surrogates become U+FFFD, as any client would send them). */
function enc(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

describe('HTTP fuzzing (fast-check): no 5xx, every 4xx has a message, every request is answered', () => {
  let t: TestApp;
  let ops: Operation[];
  let doc: SwaggerDoc;
  const statuses = new Map<string, number>();

  // --- the data the fuzzer aims at ------------------------------------------------------------
  const GRAPH = {
    '1': [
      { id: 'netconfig', type: 'puppet' },
      { id: 'hiera', type: 'puppet' },
    ],
    '2': [{ id: 'netconfig', type: 'puppet', requires: ['hiera'] }],
    master: [{ id: 'upload_configuration', type: 'upload_file' }],
    null: [{ id: 'post_deployment_start', type: 'stage' }],
  };
  const NODES = ['1', '2', 'master', 'null'];
  const TASKS = ['netconfig', 'hiera', 'upload_configuration', 'post_deployment_start'];
  const CLUSTERS = ['1', '2', '3', '4'];
  const SEED_CASTS = [
    start('fuzz-1', { id: 1, name: 'fuzz-east', release: 'mitaka-9.0' }, GRAPH, { time: '2026-01-01T10:00:00Z' }),
    resp('fuzz-1', [
      task('1', 'netconfig', 'running', { time: '2026-01-01T10:00:01Z' }),
      task('1', 'netconfig', 'ready', { time: '2026-01-01T10:01:00Z', summary: { resources: { changed: 3 } }, custom: { attempt: 1 } }),
      task('2', 'netconfig', 'error', { time: '2026-01-01T10:02:00Z', error_msg: 'Task netconfig failed on node node-2' }),
      task(null, 'post_deployment_start', 'ready', { time: '2026-01-01T09:59:00Z' }),
    ]),
    finish('fuzz-1', 'error', { time: '2026-01-01T10:03:00Z', error: 'Deployment failed' }),
    start('fuzz-2', { id: 1, name: 'fuzz-east', release: 'mitaka-9.0' }, GRAPH, { time: '2026-01-02T10:00:00Z' }),
    resp('fuzz-2', [
      task('master', 'upload_configuration', 'ready', { time: '2026-01-02T10:00:05Z' }),
      task('1', 'hiera', 'running', { time: '2026-01-02T10:00:06Z' }),
    ]),
    start('fuzz-old', { id: 2, name: 'legacy', release: 'liberty-8.0' }, GRAPH, { time: '2026-01-03T10:00:00Z' }),
    start('fuzz-3', { id: 3, name: 'west', release: 'newton-10.0' }, GRAPH, {
      time: '2026-01-04T10:00:00Z',
      dry_run: true,
      name: 'dry_run_deployment',
    }),
    finish('fuzz-3', 'ready', { time: '2026-01-04T10:10:00Z' }),
  ];
  /** Bodies this service accepts, per operation (`method template`); others come from the Swagger schema. */
  const KNOWN_BODIES: Record<string, unknown[]> = {
    'post /api/v1/casts': [
      start('fuzz-new-a', { id: 5, name: 'fuzz-five', release: 'mitaka-9.0' }, GRAPH, { time: '2026-02-01T00:00:00Z' }),
      resp('fuzz-2', [
        task('2', 'netconfig', 'running', { time: '2026-01-02T10:01:00Z' }),
        task('master', 'upload_configuration', 'successful', { summary: { files: 3 }, custom: { retries: 0 } }),
      ]),
      resp('fuzz-old', [task('1', 'netconfig', 'ready')], { progress: 50 }, 'deploy_resp'),
      [
        start('fuzz-new-b', { id: 1, release: 'mitaka-9.0' }, GRAPH),
        resp('fuzz-new-b', [task(null, 'post_deployment_start', 'failed', { error_msg: 'boom' })]),
        finish('fuzz-new-b', 'error', { error: 'Deployment failed' }),
      ],
    ],
    'post /api/v1/transactions': [start('fuzz-new-c', { id: 3, release: 'newton-10.0' }, GRAPH, { parent_task_uuid: 'fuzz-3' }).args],
    'put /api/v1/clusters/{cluster_id}': [{ name: 'renamed', release: 'mitaka-9.0' }, { release: 'liberty-8.0' }],
    // The two logins fuel2 sends (Keystone v2.0).
    'post /keystone/v2.0/tokens': [
      { auth: { passwordCredentials: { password: 'fuzz-0123456789abcdef', username: 'admin' }, tenantName: 'admin' } },
      { auth: { token: { id: 'fuzz-0123456789abcdef' }, tenantId: 'admin' } },
    ],
  };

  /** (Re)creates the seeded data (a fuzzed DELETE, reset or retention may have removed it); returns the valid run ids. */
  async function seed(): Promise<string[]> {
    for (const [id, body] of [
      ['1', { name: 'fuzz-east', release: 'mitaka-9.0' }],
      ['2', { name: 'legacy', release: 'liberty-8.0' }],
      ['3', { name: 'west', release: 'newton-10.0' }],
      ['4', { name: 'empty', release: 'mitaka-9.0' }],
    ] as const) {
      // A fuzzed PUT may have upgraded the cluster, and the API never moves a release back (409): restored behind its back.
      await t.sql.query('UPDATE clusters SET release = $2 WHERE id = $1', [Number(id), body.release]);
      const res = await t.http().put(`/api/v1/clusters/${id}`).send(body);
      if (res.status >= 300) throw new Error(`seeding cluster ${id} failed: ${res.status} ${res.text}`);
    }
    const res = await t.http().post('/api/v1/casts').send(SEED_CASTS);
    if (res.status !== 200) throw new Error(`seeding failed: ${res.status} ${res.text}`);
    return [...new Set((res.body as Array<{ transaction_id: number }>).map((r) => String(r.transaction_id)))];
  }

  beforeAll(async () => {
    // The app's own error log would repeat every failure this file reports (TEST_LOG_LEVEL=error shows it).
    t = await startApp({ env: { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal' } });
    await seed();
    doc = (await t.http().get('/api/docs-json').expect(200)).body as SwaggerDoc;
    const handlerParams = paramsOfHandlers();
    ops = [];
    for (const [template, item] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(item)) {
        if (!(METHODS as readonly string[]).includes(m)) continue;
        const params = op.parameters ?? [];
        const queryParams = params.filter((p) => p.in === 'query');
        const fromHandler = handlerParams.get(`${m} ${template.replace(/^\/api\/v1(?=\/)/, '')}`) ?? [];
        const headerParams = params.filter((p) => p.in === 'header');
        for (const h of fromHandler.filter((p) => p.in === 'header'))
          if (!headerParams.some((d) => d.name.toLowerCase() === h.name.toLowerCase())) headerParams.push(h);
        ops.push({
          id: `${m.toUpperCase()} ${template}`,
          method: m as Method,
          template,
          pathParams: params.filter((p) => p.in === 'path'),
          queryParams: queryParams.length ? queryParams : fromHandler.filter((p) => p.in === 'query'),
          handlerQuery: fromHandler.filter((p) => p.in === 'query'),
          headerParams,
          body: op.requestBody?.content?.['application/json']?.schema,
        });
      }
    }
  });
  afterAll(async () => {
    if (statuses.size) {
      const line = [...statuses].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`);
      console.log(`fuzz (seed ${SEED}) answers by property and status:\n  ${line.join('\n  ')}`);
    }
    await t?.close();
  });

  /**
   * `method /path/{param}` (without the global prefix) → the query parameters its handler takes (the
   * validated properties of its `@Query()` DTO, with what their validators say of them, or
   * `@Query('name')`) and the request headers it reads (`@Headers('name')`).
   */
  function paramsOfHandlers(): Map<string, Param[]> {
    const out = new Map<string, Param[]>();
    const join = (...parts: unknown[]) =>
      `/${parts
        .flat()
        .filter((x) => typeof x === 'string' && x !== '' && x !== '/')
        .join('/')}`
        .replace(/\/+/g, '/')
        .replace(/(.)\/$/, '$1');
    for (const module of t.app.get(ModulesContainer).values()) {
      for (const wrapper of module.controllers.values()) {
        const ctrl = wrapper.metatype as (new (...a: unknown[]) => object) | null;
        if (!ctrl?.prototype) continue;
        const base = (Reflect.getMetadata(PATH_METADATA, ctrl) as string | string[] | undefined) ?? '';
        for (const name of Object.getOwnPropertyNames(ctrl.prototype)) {
          const handler = (ctrl.prototype as Record<string, unknown>)[name];
          if (name === 'constructor' || typeof handler !== 'function') continue;
          const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
          const verb = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
          if (path === undefined || verb === undefined) continue;
          const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, ctrl, name) ?? {}) as Record<string, { index: number; data?: unknown }>;
          const types = (Reflect.getMetadata('design:paramtypes', ctrl.prototype, name) ?? []) as Array<(new () => object) | undefined>;
          const params: Param[] = [];
          for (const [key, arg] of Object.entries(args)) {
            const kind = Number(key.split(':')[0]) as RouteParamtypes;
            if (kind === RouteParamtypes.HEADERS && typeof arg.data === 'string') params.push({ name: arg.data, in: 'header' });
            if (kind !== RouteParamtypes.QUERY) continue;
            if (typeof arg.data === 'string') {
              params.push({ name: arg.data, in: 'query' });
              continue;
            }
            const dto = types[arg.index];
            if (!dto) continue;
            const byName = new Map<string, Param>();
            for (const m of getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false)) {
              const list = isListParam(dto, m.propertyName);
              const p = byName.get(m.propertyName) ?? { name: m.propertyName, in: 'query', schema: {}, list };
              // What the Swagger plugin's class-validator shim documents: enums, ISO times, integers, booleans.
              if (m.name === 'isIn' && Array.isArray(m.constraints?.[0])) p.schema = { ...p.schema, enum: m.constraints[0] as unknown[] };
              if (m.name === 'isIso8601') p.schema = { ...p.schema, type: 'string', format: 'date-time' };
              if (m.name === 'isInt') p.schema = { ...p.schema, type: 'integer' };
              if (m.name === 'isBoolean') p.schema = { ...p.schema, type: 'boolean' };
              if (m.name === 'matches' && m.constraints?.[0] instanceof RegExp && m.constraints[0].test('1'))
                p.schema = { ...p.schema, type: 'integer' };
              byName.set(m.propertyName, p);
            }
            params.push(...byName.values());
          }
          const template = join(base, path).replace(/:(\w+)/g, '{$1}');
          out.set(`${RequestMethod[verb].toLowerCase()} ${template}`, params);
        }
      }
    }
    return out;
  }

  // --- sending and checking -------------------------------------------------------------------

  /** What came back: status, headers, the body as text and, when it is JSON, parsed. */
  interface Answer {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    text: string;
    json?: unknown;
  }

  async function send(r: Req): Promise<Answer> {
    const agent = t.http() as unknown as Record<Method, (url: string) => Test>;
    // Superagent hands a custom parser the raw response (its typings say otherwise).
    const readAll = (res: IncomingMessage, done: (err: Error | null, body: unknown) => void) => {
      // Read the body whatever its type; an event stream that stays open has answered: keep its first 300 ms.
      const chunks: Buffer[] = [];
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        done(null, Buffer.concat(chunks).toString('utf8'));
      };
      res.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
      res.on('end', end);
      if (/^text\/event-stream/i.test(String(res.headers['content-type'] ?? ''))) {
        setTimeout(() => {
          end();
          res.destroy();
        }, 300);
      }
    };
    let q = agent[r.method](r.url)
      .timeout({ response: ANSWER_MS, deadline: ANSWER_MS + 5_000 })
      .buffer(true)
      .parse(readAll as unknown as Parameters<Test['parse']>[0]);
    for (const [k, v] of Object.entries(r.headers)) q = q.set(k, v);
    if (r.body !== undefined) q = q.send(r.body);
    let res: Response;
    try {
      res = await q;
    } catch (e) {
      const err = e as { timeout?: number; code?: string; message?: string; response?: Response };
      if (!err.response) {
        if (err.timeout) throw new Error(`no answer within ${ANSWER_MS / 1000} s to ${show(r)}`, { cause: e });
        throw new Error(`no answer (${err.code ?? err.message}) to ${show(r)}`, { cause: e });
      }
      res = err.response;
    }
    const text = typeof res.body === 'string' ? res.body : '';
    let json: unknown;
    if (/^application\/json/i.test(String(res.headers['content-type'] ?? ''))) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { status: res.status, headers: res.headers, text, json };
  }

  /** The properties: an answer, no 5xx, every 4xx a JSON object with a non-empty string `message`. */
  async function sendAndCheck(property: string, r: Req): Promise<Answer> {
    const res = await send(r);
    const key = `${property} ${res.status}`;
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    if (res.status >= 500) throw new Error(`answered ${res.status} to ${show(r)}\n  response: ${clip(res.text, 500)}`);
    // An event stream has sent its 200 before it fails: its 5xx is an `error` event.
    if (/^text\/event-stream/i.test(String(res.headers['content-type'] ?? '')) && /^event: error$/m.test(res.text)) {
      throw new Error(`answered ${res.status} with an event stream that failed, to ${show(r)}\n  stream: ${clip(res.text, 500)}`);
    }
    if (res.status >= 400) {
      const type = String(res.headers['content-type'] ?? '');
      const message = (res.json as { message?: unknown } | undefined)?.message;
      if (typeof message !== 'string' || message.trim() === '') {
        throw new Error(
          `answered ${res.status} without a JSON message (content-type '${type}', body ${JSON.stringify(clip(res.text, 200))}) to ${show(r)}`,
        );
      }
    }
    return res;
  }

  /** Runs one property per operation, so every operation is fuzzed; reports every failing one. */
  async function forEachOperation(
    select: (op: Operation) => number,
    property: (op: Operation, runIds: string[]) => fc.IAsyncProperty<[Req]> | Promise<fc.IAsyncProperty<[Req]>>,
  ) {
    const failures: string[] = [];
    let fuzzed = 0;
    for (const op of ops) {
      const numRuns = select(op);
      if (!numRuns) continue;
      fuzzed++;
      const runIds = await seed();
      try {
        await fc.assert(await property(op, runIds), { seed: SEED, numRuns });
      } catch (e) {
        // fast-check keeps the property's own error (what was sent and answered) as the cause.
        const cause = e instanceof Error && e.cause instanceof Error ? `\n  ${e.cause.message}` : '';
        failures.push(`${op.id} (seed ${SEED}):\n${e instanceof Error ? e.message : String(e)}${cause}`);
      }
    }
    expect(fuzzed).toBeGreaterThan(0);
    if (failures.length) throw new Error(`${failures.length} operation(s) failed:\n\n${failures.join('\n\n')}`);
  }

  // --- arbitraries ----------------------------------------------------------------------------

  /** Code units that PostgreSQL, JSON or URL decoding find hard: NUL, lone surrogates, RTL override... */
  const nastyUnit = fc.oneof(
    { weight: 6, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '\u0000',
        '\ud800',
        '\udfff',
        '\u202e',
        '\ufeff',
        '%',
        '/',
        '\\',
        '"',
        "'",
        ',',
        '&',
        '=',
        '?',
        '#',
        ' ',
        '\n',
        '\r',
      ),
    },
  );
  const nastyString = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.string({ unit: nastyUnit, maxLength: 20 }),
    fc.string({ unit: 'grapheme', maxLength: 10 }),
  );
  const numberish = fc.oneof(
    fc.integer().map(String),
    fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
    fc.double().map(String),
    fc.constantFrom(
      '0',
      '-0',
      '+1',
      '1.0',
      '1e3',
      '1e308',
      '1e-7',
      '0x10',
      '0b1',
      '0o7',
      '01',
      '2147483647',
      '2147483648',
      '-2147483649',
      '4294967296',
      '9007199254740993',
      'NaN',
      'Infinity',
      '-Infinity',
    ),
    // Around the 64-bit edge (19 digits: what /^\d{1,19}$/ lets through).
    fc.constantFrom('9223372036854775807', '9223372036854775808', '9999999999999999999', '18446744073709551616', '-9223372036854775809'),
    fc.bigInt({ min: 2n ** 63n - 4n, max: 10n ** 19n - 1n }).map(String),
  );
  /** Long values, at most 6,000 characters once percent-encoded: two of them stay under Node's 16 KB request head (see the long-URL property). */
  const longString = fc
    .tuple(fc.constantFrom('a', '9', 'é', '💥', ','), fc.integer({ min: 256, max: 6_000 }))
    .map(([c, n]) => c.repeat(Math.max(1, Math.floor(n / enc(c).length))));

  /** A path segment, already encoded for the URL. */
  function segment(valid: string[]): fc.Arbitrary<string> {
    return fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...valid) },
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          '',
          '%00',
          '1%00',
          '%0A',
          '%0D%0A',
          '..',
          '.',
          '%2e%2e',
          '%2F',
          '..%2F..%2Fetc%2Fpasswd',
          '%5C',
          '%ZZ',
          '%',
          '%E0%A4%A',
          '%FF',
          '%C0%AF',
          '%ED%A0%80',
          '%F0%9F%92%A5',
          '%C3%A9',
          'null',
          'master',
          'undefined',
          'true',
          '*',
          '$',
          "'",
          '%22',
          '%3Cscript%3E',
          '__proto__',
          'constructor',
          'toString',
          'a;b',
          'a,b',
          'a+b',
          '%20',
          '424242',
          '1e3',
          '-1',
          '99999999999999999999',
        ),
      },
      { weight: 3, arbitrary: numberish.map(enc) },
      { weight: 3, arbitrary: nastyString.map(enc) },
      { weight: 1, arbitrary: longString.map(enc) },
    );
  }

  function validPathValues(p: Param, runIds: string[]): string[] {
    switch (p.name) {
      case 'transaction_id':
      case 'other_id':
        return runIds;
      case 'cluster_id':
        return CLUSTERS;
      case 'node_id':
        return NODES;
      case 'task_name':
        return TASKS;
      default:
        return p.schema?.type === 'number' || p.schema?.type === 'integer' ? [...runIds, ...CLUSTERS] : [...NODES, ...TASKS];
    }
  }

  /** Builds the URL of an operation: the /api/ alias or not, a trailing slash or not, each parameter from its arbitrary. */
  function urlOf(op: Operation, args: { prefix: string; slash: boolean; values: string[]; query?: string }): string {
    let i = 0;
    let path = op.template.replace(/\{[^}]+\}/g, () => args.values[i++] ?? '');
    if (path.startsWith('/api/v1/')) path = args.prefix + path.slice('/api/v1/'.length);
    return `${path}${args.slash ? '/' : ''}${args.query ? `?${args.query}` : ''}`;
  }
  const prefix = fc.constantFrom('/api/v1/', '/api/', '/api/v1/', '/API/v1/');
  const acceptHeader = fc.option(
    fc.constantFrom(
      'application/json',
      'text/csv',
      'text/csv;q=0.9, application/json;q=0.1',
      '*/*',
      'text/html',
      'application/xml',
      'garbage/;;;',
      'text/csv;q=0',
      '',
    ),
    { nil: undefined },
  );
  const requestId = fc.option(
    fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 150 }),
    { nil: undefined },
  );
  const headersArb = fc.record({ accept: acceptHeader, rid: requestId }).map(({ accept, rid }) => {
    const h: Record<string, string> = {};
    if (accept !== undefined) h.Accept = accept;
    if (rid !== undefined) h['X-Request-Id'] = rid;
    return h;
  });

  /** A hostile query value, encoded. */
  function queryValue(p?: Param): fc.Arbitrary<string> {
    const known = p?.schema?.enum?.map(String) ?? [];
    // Weighted towards what the parameter takes (from its schema): near-misses find more than noise.
    const type = p?.schema?.format === 'date-time' ? 'time' : p?.schema?.type;
    const more = (t: string | undefined) => (type === t ? 6 : 0);
    const isoish = fc
      .tuple(
        fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }),
        fc.constantFrom('Z', '+00:00', '+99:00', '-12:60', '+0530', '', 'z', '+14', '-00:00'),
        fc.constantFrom('full', 'seconds', 'date', 'space', 'digits', 'lower', 'basic', 'basic-date'),
      )
      .map(([d, zone, shape]) => {
        const iso = d.toISOString();
        const body = iso.slice(0, -1);
        switch (shape) {
          case 'seconds':
            return iso.slice(0, 19) + zone;
          case 'date':
            return iso.slice(0, iso.indexOf('T'));
          case 'space':
            return body.replace('T', ' ') + zone;
          case 'digits':
            return `${body}123456789${zone}`;
          case 'lower':
            return iso.toLowerCase();
          case 'basic':
            return iso.slice(0, 19).replace(/[-:]/g, '') + zone.replace(':', '');
          case 'basic-date':
            return iso.slice(0, iso.indexOf('T')).replace(/-/g, '');
          default:
            return body + zone;
        }
      });
    return fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .constantFrom(
            ...known,
            'ready',
            'error',
            'pending,running,ready,error,skipped,stopped',
            'ready,banana',
            'master,null,1',
            '1',
            'netconfig',
            'deployment',
            '-time_start',
            'time_start',
            'all',
            'current',
          )
          .map(enc),
      },
      {
        weight: 2 + more('boolean'),
        arbitrary: fc
          .constantFrom(
            'true',
            'TRUE',
            'True',
            ' true ',
            'yes',
            'YES',
            'on',
            'On',
            '1',
            '0',
            'false',
            'no',
            'off',
            't',
            'f',
            'y',
            'n',
            'tru',
            'oui',
            '1.0',
            '01',
            'null',
            'undefined',
            'true,false',
          )
          .map(enc),
      },
      { weight: 2 + more('time'), arbitrary: isoish.map(enc) },
      {
        weight: 2 + more('time'),
        arbitrary: fc
          .constantFrom(
            '2026-02-30',
            '2026-13-01T00:00:00Z',
            '2026-01-01T24:00:00Z',
            '0000-01-01T00:00:00Z',
            '0001-01-01',
            '9999-12-31T23:59:59.999999999Z',
            '2026-W01',
            '2026-W01-1',
            '2026-001',
            '20260101T000000Z',
            '2026',
            '2026-01',
            'today',
            'now',
            '1767225600',
            '',
          )
          .map(enc),
      },
      { weight: 2 + more('integer') + more('number'), arbitrary: numberish.map(enc) },
      { weight: 3, arbitrary: nastyString.map(enc) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '',
          ',',
          ',,,',
          '%00',
          '%ZZ',
          '%',
          '%E0%A4%A',
          '%ED%A0%80',
          '%FF',
          '+',
          '%2B',
          '=',
          '&',
          'a%00b',
          '%0D%0AX-Injected:%201',
        ),
      },
      { weight: 1, arbitrary: longString.map(enc) },
    );
  }

  /** A query string: known parameters (plain, repeated, with [] or [key]), unknown ones, and malformed pairs. */
  function queryString(op: Operation): fc.Arbitrary<string> {
    const names = op.queryParams.map((p) => p.name);
    const pairs: Array<fc.WeightedArbitrary<string>> = [
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.oneof(
              fc.constantFrom(
                '__proto__',
                'constructor',
                'toString',
                'hasOwnProperty',
                'x',
                'limit',
                'cursor',
                'statuses',
                'a[b]',
                '__proto__[x]',
                'constructor[prototype][x]',
              ),
              nastyString.map(enc),
            ),
            queryValue(),
          )
          .map(([k, v]) => `${k}=${v}`),
      },
      { weight: 1, arbitrary: fc.constantFrom(...(names.length ? names : ['x'])) },
      { weight: 1, arbitrary: fc.constantFrom('', '=', '=x', '&', ';', '%', '%ZZ=1', '%00=%00') },
    ];
    if (names.length) {
      pairs.push({
        weight: 6,
        arbitrary: fc
          .tuple(fc.constantFrom(...op.queryParams), fc.constantFrom('', '', '', '[]', '[0]', '[a]', '[a][b]', '%5B%5D', '.x'))
          .chain(([p, suffix]) => queryValue(p).map((v) => `${enc(p.name)}${suffix}=${v}`)),
      });
    }
    const pair = fc.oneof(...pairs);
    // One known parameter alone (so a hostile value is not hidden behind a duplicate), or a mix.
    if (names.length) {
      const alone = fc.constantFrom(...op.queryParams).chain((p) => queryValue(p).map((v) => `${enc(p.name)}=${v}`));
      return fc.oneof(alone, mixed(pair));
    }
    return mixed(pair);
  }
  function mixed(pair: fc.Arbitrary<string>): fc.Arbitrary<string> {
    // Kept under Node's 16 KB request-head limit: that limit is the subject of its own property below.
    return fc.array(pair, { maxLength: 8 }).map((pairs) => {
      const out: string[] = [];
      for (const p of pairs) if ([...out, p].join('&').length < 9_000) out.push(p);
      return out.join('&');
    });
  }

  /** The request headers an operation reads (Last-Event-ID...), each absent or hostile (printable ASCII: what a header can carry). */
  function headerParams(op: Operation): fc.Arbitrary<Record<string, string>> {
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
    return fc
      .tuple(
        ...op.headerParams.map((h) =>
          fc
            .option(fc.oneof(numberish, printable, fc.constantFrom('', '0', '1', 'null')), { nil: undefined })
            .map((v) => [h.name, v] as const),
        ),
      )
      .map((pairs) => Object.fromEntries(pairs.filter(([, v]) => v !== undefined)) as Record<string, string>);
  }

  /** The path parameters of an operation: valid ones mostly, hostile ones sometimes. */
  function pathValues(op: Operation, runIds: string[], hostile: boolean): fc.Arbitrary<string[]> {
    return fc
      .tuple(...op.pathParams.map((p) => (hostile ? segment(validPathValues(p, runIds)) : fc.constantFrom(...validPathValues(p, runIds)))))
      .map((v) => [...v]);
  }

  // --- bodies ---------------------------------------------------------------------------------

  function resolve(s: Schema | undefined): Schema {
    if (!s) return {};
    if (s.$ref) return resolve(doc.components?.schemas?.[s.$ref.replace('#/components/schemas/', '')]);
    return s;
  }
  /** One example value per alternative of a schema: a near-valid starting point for any new route. */
  function examples(schema: Schema | undefined, depth = 0): unknown[] {
    const s = resolve(schema);
    if (depth > 8) return [null];
    const alternatives = s.oneOf ?? s.anyOf;
    if (alternatives) return alternatives.flatMap((a) => examples(a, depth + 1));
    if (s.allOf) return [Object.assign({}, ...s.allOf.map((a) => examples(a, depth + 1)[0]))];
    if (s.example !== undefined) return [s.example];
    if (s.default !== undefined) return [s.default];
    if (s.enum?.length) return [s.enum[0]];
    switch (s.type) {
      case 'object': {
        const o: Record<string, unknown> = {};
        for (const [k, p] of Object.entries(s.properties ?? {})) o[k] = examples(p, depth + 1)[0];
        return [o];
      }
      case 'array':
        return [examples(s.items, depth + 1)];
      case 'integer':
      case 'number':
        return [s.minimum ?? 1];
      case 'boolean':
        return [false];
      case 'string':
        return [s.format === 'date-time' ? '2026-01-01T00:00:00Z' : 'fuzz'];
      default:
        return [{}];
    }
  }
  function bodiesOf(op: Operation): unknown[] {
    return [...(KNOWN_BODIES[`${op.method} ${op.template}`] ?? []), ...(op.body ? examples(op.body) : [])];
  }

  type Path = Array<string | number>;
  function nodePaths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
    out.push(at);
    if (Array.isArray(v)) v.forEach((x, i) => nodePaths(x, [...at, i], out));
    else if (v !== null && typeof v === 'object')
      for (const k of Object.keys(v)) nodePaths((v as Record<string, unknown>)[k], [...at, k], out);
    return out;
  }
  const DELETE = Symbol('delete');
  /** A copy of root with the value at path replaced (or deleted, or, with key, a key added to the object there). */
  function mutate(root: unknown, path: Path, value: unknown, key?: string): unknown {
    const copy = structuredClone<unknown>(root);
    const own = (o: object, k: string | number, v: unknown) =>
      Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    if (path.length === 0 && key === undefined) return value === DELETE ? undefined : value;
    let parent = copy as Record<string | number, unknown>;
    for (const k of path.slice(0, key === undefined ? -1 : undefined)) parent = parent[k] as Record<string | number, unknown>;
    if (key !== undefined) {
      if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) return value;
      own(parent, key, value);
    } else {
      const last = path[path.length - 1];
      if (value === DELETE) {
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else delete parent[last];
      } else own(parent, last, value);
    }
    return copy;
  }
  const nested = (depth: number, kind: 'object' | 'array', leaf: string) =>
    kind === 'object' ? '{"o":'.repeat(depth) + leaf + '}'.repeat(depth) : '['.repeat(depth) + leaf + ']'.repeat(depth);
  const HOSTILE_VALUES: unknown[] = [
    null,
    true,
    false,
    0,
    -1,
    -0.5,
    1.5,
    100.0000001,
    2 ** 31,
    2 ** 31 - 1,
    -(2 ** 31),
    2 ** 53,
    2 ** 53 + 2,
    1e308,
    -1e308,
    5e-324,
    '',
    ' ',
    '\t',
    'null',
    'undefined',
    '0',
    '-1',
    '1e3',
    '0x10',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfff',
    '\u202e',
    '💥',
    'x'.repeat(255),
    'x'.repeat(256),
    '2026-01-01T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:00:00+99:00',
    '0001-01-01T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '0099-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999Z',
    '+275760-09-13T00:00:00Z',
    'mitaka-9.0',
    'liberty-8.0',
    '9.0',
    '-',
    'a-b-c',
    'successful',
    'failed',
    'stopped',
    'pending',
    'master',
    'fuzz-1',
    'fuzz-old',
    [],
    {},
    [[]],
    [null],
    { '': null },
    JSON.parse('{"__proto__": {"polluted": true}}'),
    { constructor: { prototype: { polluted: true } } },
    { toString: 'x', valueOf: 1 },
  ];
  const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_VALUES) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }) },
    { weight: 1, arbitrary: nastyString },
  );
  const hostileKey = fc.oneof(
    fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      '',
      ' ',
      '\u0000',
      '\ud800',
      'id',
      'uid',
      'time',
      'nodes',
      'null',
      'master',
      'x'.repeat(300),
    ),
    nastyString,
  );
  /** Depths of the main body property: up to a few hundred levels (deeper: the property of its own below). */
  const depthArb = fc.oneof(
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 64 }) },
    { weight: 1, arbitrary: fc.integer({ min: 64, max: 600 }) },
  );
  const PLACEHOLDER = '@@fuzz-placeholder-7f3a@@';
  const json = (ct = 'application/json') => ({ 'Content-Type': ct });

  /** Every kind of body: random JSON, near-valid bodies with one thing wrong, deep, huge, not JSON, wrong types and encodings. */
  /** A body nested `depth` levels deep (objects or arrays), at the root or at some node of a near-valid body. */
  function deepBody(base: fc.Arbitrary<unknown>, depth: fc.Arbitrary<number>): fc.Arbitrary<BodySpec> {
    return fc
      .record({
        b: base,
        pick: fc.nat(),
        depth,
        kind: fc.constantFrom('object' as const, 'array' as const),
        leaf: fc.constantFrom('null', '{}', '"x"', '1'),
        root: fc.boolean(),
      })
      .map(({ b, pick, depth: n, kind, leaf, root }) => {
        const paths = nodePaths(b);
        const path = root ? [] : paths[pick % paths.length];
        const text = JSON.stringify(mutate(b, path, PLACEHOLDER)) ?? `"${PLACEHOLDER}"`;
        return {
          headers: json(),
          body: text.replace(`"${PLACEHOLDER}"`, nested(n, kind, leaf)),
          note: `${kind} nested ${n} levels at ${JSON.stringify(path)}`,
        };
      });
  }

  interface BodySpec {
    headers: Record<string, string>;
    body?: string | Buffer;
    note: string;
  }
  function bodyArb(op: Operation): fc.Arbitrary<BodySpec> {
    const bases = bodiesOf(op);
    const base = bases.length ? fc.constantFrom(...bases) : fc.constant<unknown>({});
    const at = (b: unknown, pick: number) => {
      const paths = nodePaths(b);
      return paths[pick % paths.length];
    };
    const jsonType = fc.constantFrom(
      'application/json',
      'application/json',
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json; charset=UTF-8; x=y',
    );
    return fc.oneof(
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.jsonValue({ maxDepth: 4 }), jsonType)
          .map(([v, ct]) => ({ headers: json(ct), body: JSON.stringify(v), note: 'random JSON' })),
      },
      {
        weight: 1,
        arbitrary: fc
          .jsonValue({ maxDepth: 3, stringUnit: 'binary' })
          .map((v) => ({ headers: json(), body: JSON.stringify(v), note: 'random JSON, any code point' })),
      },
      { weight: 1, arbitrary: base.map((b) => ({ headers: json(), body: JSON.stringify(b), note: 'a valid body' })) },
      {
        weight: 5,
        arbitrary: fc
          .record({
            b: base,
            pick: fc.nat(),
            kind: fc.constantFrom('replace', 'replace', 'delete', 'add'),
            value: hostileJson,
            key: hostileKey,
          })
          .map(({ b, pick, kind, value, key }) => {
            const path = at(b, pick);
            const mutated = kind === 'add' ? mutate(b, path, value, key) : mutate(b, path, kind === 'delete' ? DELETE : value);
            const body = JSON.stringify(mutated) ?? '';
            return {
              headers: json(),
              body,
              note: `near-valid: ${kind} at ${JSON.stringify(path)}${kind === 'add' ? ` key ${JSON.stringify(key)}` : ''}`,
            };
          }),
      },
      { weight: 3, arbitrary: deepBody(base, depthArb) },
      {
        weight: 1,
        arbitrary: fc
          .record({
            b: base,
            pick: fc.nat(),
            n: fc.integer({ min: 256, max: 1_000_000 }),
            c: fc.constantFrom('x', 'é', '💥', '"\\', '\u0000'),
          })
          .map(({ b, pick, n, c }) => {
            const path = at(b, pick);
            return {
              headers: json(),
              body: JSON.stringify(mutate(b, path, c.repeat(Math.ceil(n / (c === '\u0000' ? 6 : c.length))))) ?? '',
              note: `big string (${n}) at ${JSON.stringify(path)}`,
            };
          }),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.oneof(
              fc.constantFrom(
                '',
                ' ',
                '{',
                '[',
                '{"a":',
                '[1,',
                'NaN',
                'undefined',
                "{'a':1}",
                '\ufeff{}',
                '{"a":1}{"b":2}',
                '1',
                '"x"',
                'null',
                'true',
                '[]',
                '{}',
                '\u0000',
                '{"a":"\\ud800"}',
                '{"a":"\\u0000"}',
                '{"a":1,"a":2}',
                '['.repeat(100_000),
                '{"__proto__":{"x":1}}',
              ),
              fc.string({ unit: nastyUnit, maxLength: 50 }),
            ),
            jsonType,
          )
          .map(([text, ct]) => ({ headers: json(ct), body: text, note: 'not JSON, sent as JSON' })),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.constantFrom(
              'text/plain',
              'application/x-www-form-urlencoded',
              'multipart/form-data; boundary=xyz',
              'multipart/form-data',
              'application/xml',
              'text/csv',
              'application/octet-stream',
              'application/json; charset=utf-16',
              'application/json; charset=latin1',
              'application/json; charset=nonsense',
              'application/merge-patch+json',
              'application/vnd.api+json',
              'application/*',
              '*/*',
              'application',
              'json',
              ';;;',
              'application/json, text/plain',
            ),
            fc.oneof(
              base.map((b) => JSON.stringify(b)),
              fc.constantFrom(
                'release=mitaka-9.0&name=x',
                'a[b][c][d][e][f][g]=1&release[]=mitaka-9.0',
                'method=transaction_start&args[task_uuid]=x&args[cluster][id]=1',
                '--xyz\r\nContent-Disposition: form-data; name="release"\r\n\r\nmitaka-9.0\r\n--xyz--\r\n',
                '<cast/>',
              ),
              nastyString,
            ),
          )
          .map(([ct, text]) => ({ headers: { 'Content-Type': ct }, body: text, note: 'other content type' })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(base, fc.constantFrom('gzip', 'deflate', 'gzip-garbage', 'br', 'identity', 'x-unknown', 'gzip, deflate', 'none'))
          .map(([b, how]): BodySpec => {
            const text = JSON.stringify(b);
            if (how === 'none') return { headers: {}, body: Buffer.from(text), note: 'no content type' };
            const body = how === 'gzip' ? gzipSync(text) : how === 'deflate' ? deflateSync(text) : Buffer.from(text);
            return {
              headers: { 'Content-Type': 'application/json', 'Content-Encoding': how === 'gzip-garbage' ? 'gzip' : how },
              body,
              note: `content encoding ${how}`,
            };
          }),
      },
      { weight: 1, arbitrary: fc.constant({ headers: {}, body: undefined, note: 'no body' }) },
    );
  }

  // --- the properties -------------------------------------------------------------------------

  it('finds the routes in the Swagger document (the fuzzing is not vacuous)', () => {
    const ids = ops.map((o) => o.id);
    for (const known of [
      'GET /api/v1/transactions/{transaction_id}/deployment_history',
      'POST /api/v1/casts',
      'PUT /api/v1/clusters/{cluster_id}',
      'GET /health',
    ]) {
      expect(ids).toContain(known);
    }
  });

  it(
    'paths: hostile path parameters, /api/ alias, trailing slash, other methods',
    async () => {
      await forEachOperation(
        () => 60,
        (op, runIds) =>
          fc.asyncProperty(
            fc
              .record({
                values: fc.boolean().chain((hostile) => pathValues(op, runIds, hostile || op.pathParams.length === 0)),
                prefix,
                slash: fc.boolean(),
                method: fc.oneof({ weight: 5, arbitrary: fc.constant(op.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
                headers: headersArb,
                withBody: fc.boolean(),
              })
              .map(({ values, prefix: p, slash, method, headers, withBody }) => {
                const body = withBody && bodiesOf(op).length ? JSON.stringify(bodiesOf(op)[0]) : undefined;
                return new Req(
                  method,
                  urlOf(op, { prefix: p, slash, values }),
                  body === undefined ? headers : { ...headers, ...json() },
                  body,
                );
              }),
            async (r) => {
              await sendAndCheck('paths', r);
            },
          ),
      );
    },
    LONG,
  );

  // BUGS (found by this property, seed 20260106; every other operation passes):
  // 1. DELETE /api/v1/clusters/1/deployment_history?before=19700101T000000Z
  //    → 500 {"statusCode":500,"message":"Internal server error"}.
  //    `before` in ISO 8601 basic format (also 20260101T000000Z, 19700101, 20260101T0000Z) passes
  //    @IsISO8601({ strict: true }) and PostgreSQL, but `new Date(before).toISOString()` in
  //    ClusterHistoryService.deleteBefore throws RangeError: Invalid time value (the transaction rolls
  //    back: nothing is deleted). Expected: 200 (PostgreSQL reads it) or a 400 naming `before`.
  // 2. GET /api/v1/transactions/1/deployment_history/stream?since=9223372036854775808
  //    → 200 text/event-stream, then at once
  //    `event: error` / `data: {"message":"value \"9223372036854775808\" is out of range for type bigint"}`.
  //    `since` (and Last-Event-ID) only has to match /^\d{1,19}$/, so 2^63 … 9999999999999999999 get
  //    through to `row_version > $2::bigint`. Expected: 400 naming `since`, before the stream starts.
  it(
    'query strings: known parameters with hostile values, repeated keys, arrays, unknown parameters; the headers a handler reads',
    async () => {
      await forEachOperation(
        () => 80,
        (op, runIds) =>
          fc.asyncProperty(
            fc
              .record({
                values: pathValues(op, runIds, false),
                prefix,
                slash: fc.boolean(),
                query: queryString(op),
                headers: headersArb,
                read: headerParams(op),
              })
              .map(({ values, prefix: p, slash, query, headers, read }) => {
                const body = bodiesOf(op)[0];
                const all = { ...headers, ...read, ...(body === undefined ? {} : json()) };
                return new Req(
                  op.method,
                  urlOf(op, { prefix: p, slash, values, query }),
                  all,
                  body === undefined ? undefined : JSON.stringify(body),
                );
              }),
            async (r) => {
              await sendAndCheck('query', r);
            },
          ),
      );
    },
    LONG,
  );

  /** The whole stored state, as one text: a request refused by the query rule must leave it as it was. */
  async function fingerprint(): Promise<string> {
    const digest = (table: string) => `(SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x.id), '')) FROM ${table} x)`;
    const r = await t.sql.query(`SELECT ${digest('clusters')} AS c, ${digest('transactions')} AS t, ${digest('deployment_history')} AS h`);
    return JSON.stringify(r.rows[0]);
  }

  /**
   * A query the rule refuses (issue 12.2), with the key it must name: a parameter the handler does not
   * take (any name), one it takes with brackets, or one it takes once given twice. What the handler
   * takes comes from its own metadata (op.handlerQuery), as the rule reads it.
   */
  function refusedPair(op: Operation): fc.Arbitrary<{ pair: string; key: string }> {
    const names = op.handlerQuery.map((p) => p.name);
    const asSent = (k: string) => Buffer.from(k, 'utf8').toString('utf8'); // lone surrogates travel as U+FFFD
    const likely = fc.constantFrom('dry-run', 'x', 'force', 'limit', 'cursor', 'statuses', 'nodes', 'since', 'token', '__proto__', '');
    const unknown = fc
      .tuple(fc.oneof(likely, nastyString), fc.boolean())
      .filter(([k]) => !names.includes(asSent(k)))
      .map(([k, withValue]) => ({ pair: withValue || k === '' ? `${enc(k)}=1` : enc(k), key: asSent(k) }));
    const kinds: fc.Arbitrary<{ pair: string; key: string }>[] = [unknown];
    const known = names.length ? names : ['x'];
    kinds.push(
      fc
        .tuple(fc.constantFrom(...known), fc.constantFrom('[]', '[0]', '[a]', '[a][b]', '%5B%5D', '%5Bx%5D', ']', '['))
        .map(([n, suffix]) => ({ pair: `${enc(n)}${suffix}=1`, key: n + decodeURIComponent(suffix) })),
    );
    const single = op.handlerQuery.filter((p) => !p.list).map((p) => p.name);
    if (single.length) kinds.push(fc.constantFrom(...single).map((n) => ({ pair: `${enc(n)}=1&${enc(n)}=2`, key: n })));
    return fc.oneof(...kinds);
  }

  it(
    'the query rule: on every operation, an unknown parameter, a bracketed key or a single-valued one repeated is a 400 naming it, ' +
      'and changes nothing',
    async () => {
      // Runs of a 9.0 cluster, so that no guard answers first (a pre-9.0 cluster is a 409 whatever the query).
      const sql = `SELECT t.id FROM transactions t JOIN clusters c ON c.id = t.cluster_id WHERE c.release <> 'liberty-8.0'`;
      const supported = async () => (await t.sql.query(sql)).rows.map((r) => String(r.id));
      await forEachOperation(
        () => 25,
        async (op) => {
          const runIds = await supported();
          const valid = (p: Param) => validPathValues(p, runIds).filter((v) => p.name !== 'cluster_id' || v !== '2');
          const values = fc.tuple(...op.pathParams.map((p) => fc.constantFrom(...valid(p)))).map((v) => [...v]);
          // Other parameters beside it, the route's own with any value: the rule is decided before they are read.
          const other = op.queryParams.length
            ? fc.constantFrom(...op.queryParams).chain((p) => queryValue(p).map((v) => `${enc(p.name)}=${v}`))
            : fc.constant('');
          const others = fc.array(other, { maxLength: 2 });
          return fc.asyncProperty(
            fc
              .record({ values, prefix, slash: fc.boolean(), refused: refusedPair(op), others, at: fc.nat() })
              .map(({ values: v, prefix: p, slash, refused, others: o, at }) => {
                const pairs = [...o];
                pairs.splice(at % (pairs.length + 1), 0, refused.pair);
                const body = bodiesOf(op)[0];
                const url = urlOf(op, { prefix: p, slash, values: v, query: pairs.join('&') });
                const note = `must name ${JSON.stringify(refused.key)}`;
                const sent = body === undefined ? undefined : JSON.stringify(body);
                return new Req(op.method, url, sent === undefined ? {} : json(), sent, note);
              }),
            async (r) => {
              const key = JSON.parse(r.note.replace(/^must name /, '')) as string;
              const before = await fingerprint();
              const res = await sendAndCheck('query rule', r);
              const named = (res.json as { details?: { parameters?: unknown } } | undefined)?.details?.parameters;
              if (res.status !== 400 || !Array.isArray(named) || !named.includes(key)) {
                const wanted = `a 400 naming ${JSON.stringify(key)}`;
                throw new Error(`answered ${res.status} ${clip(res.text, 300)} to ${show(r)}: ${wanted} was expected`);
              }
              const after = await fingerprint();
              if (after !== before) throw new Error(`a refused request changed the stored state: ${show(r)}`);
            },
          );
        },
      );
    },
    LONG,
  );

  it(
    'bodies: random JSON, near-valid bodies with one field mutated, nesting up to 600 levels, strings up to 1 MB, non-JSON, wrong content types and encodings',
    async () => {
      await forEachOperation(
        (op) => (op.body ? 150 : op.method === 'get' ? 0 : 30),
        (op, runIds) =>
          fc.asyncProperty(
            fc
              .record({ values: pathValues(op, runIds, false), prefix, body: bodyArb(op) })
              .map(
                ({ values, prefix: p, body }) =>
                  new Req(op.method, urlOf(op, { prefix: p, slash: false, values }), body.headers, body.body, body.note),
              ),
            async (r) => {
              await sendAndCheck('bodies', r);
            },
          ),
      );
    },
    LONG,
  );

  // BUG (found by this property, seed 20260106): a JSON body nested a couple of thousand levels deep — a
  // few KB, far below the 64 MB body limit — overflows the call stack in the global ValidationPipe
  // (class-transformer's plainToInstance and ValidationPipe.stripProtoKeys recurse into every unknown
  // property: RangeError: Maximum call stack size exceeded) and is answered 500.
  // Shrunk counterexample: PUT /api/v1/clusters/1, Content-Type: application/json,
  //   body {"o":{"o":{ ... }}} nested 2,371 levels (14,230 bytes)
  //   → 500 {"statusCode":500,"message":"Internal server error"}
  //   (other seeds: `[[[ ... ]]]` 1,312 levels; the exact depth moves a little with the stack in use).
  // Expected: a 400 naming the limit (README: "JSON ... nested up to 32 levels").
  // POST /api/v1/casts and POST /api/v1/transactions failed the same way at first ([[[...]]] 4,112 and
  // 4,111 levels: JSON.stringify in describe(), src/receiver/cast.ts); describe() was fixed while this
  // file was written and those two now pass.
  it(
    'deep nesting: bodies nested up to 10,000 levels are refused with a 4xx and a message, never a 5xx',
    async () => {
      await forEachOperation(
        (op) => (op.body ? 30 : 0),
        (op, runIds) =>
          fc.asyncProperty(
            fc
              .record({
                values: pathValues(op, runIds, false),
                body: deepBody(
                  bodiesOf(op).length ? fc.constantFrom(...bodiesOf(op)) : fc.constant<unknown>({}),
                  fc.integer({ min: 1, max: 10_000 }),
                ),
              })
              .map(
                ({ values, body }) =>
                  new Req(op.method, urlOf(op, { prefix: '/api/v1/', slash: false, values }), body.headers, body.body, body.note),
              ),
            async (r) => {
              await sendAndCheck('deep nesting', r);
            },
          ),
      );
    },
    LONG,
  );

  it(
    'cursors: near-valid keyset cursors (edge keys, foreign digests, other JSON, not base64) on every paged list',
    async () => {
      await forEachOperation(
        (op) => (op.method === 'get' && op.queryParams.some((p) => p.name === 'cursor') ? 100 : 0),
        async (op, runIds) => {
          // A real cursor of this list: its query digest lets a mutated key through to the SQL.
          const values = op.pathParams.map((p) => validPathValues(p, runIds)[0]);
          const base = urlOf(op, { prefix: '/api/v1/', slash: false, values });
          const b64 = (v: unknown) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url');
          const first = await send(new Req('get', `${base}?limit=1`));
          const link = /<[^?>]*\?([^>]*)>/.exec(String(first.headers.link ?? ''));
          const realCursor = link ? new URLSearchParams(link[1]).get('cursor') : null;
          if (!realCursor)
            throw new Error(
              `no Link: rel="next" from GET ${base}?limit=1 (${first.status} ${clip(first.text, 200)}): the seed gives each paged list two rows or more`,
            );
          const real = JSON.parse(Buffer.from(realCursor, 'base64url').toString('utf8')) as { k: unknown[]; q: unknown };
          const keyPart = fc.oneof(
            {
              weight: 4,
              arbitrary: fc.constantFrom(
                '-62135596800000000',
                '-62135596800000001',
                '253402300799999999',
                '253402300800000000',
                '9223372036854775807',
                '9223372036854775808',
                '-9223372036854775808',
                '99999999999999999999',
                '-99999999999999999999',
                '0',
                '-0',
                '1',
                '-1',
                '00000000000000000000',
                '1767225600000000',
              ),
            },
            { weight: 3, arbitrary: fc.bigInt({ min: -(10n ** 20n) + 1n, max: 10n ** 20n - 1n }).map(String) },
            { weight: 2, arbitrary: fc.constantFrom(...real.k) },
            { weight: 1, arbitrary: hostileJson },
          );
          return fc.asyncProperty(
            fc
              .oneof(
                // The cursor of this very query (its real digest), with a key at or beyond the edges: reaches the SQL.
                {
                  weight: 6,
                  arbitrary: fc
                    .record({ us: keyPart, id: keyPart })
                    .map(({ us, id }) => ({ cursor: { k: [us, id] as unknown[], q: null }, order: undefined, limit: '1' })),
                },
                {
                  weight: 4,
                  arbitrary: fc.record({
                    cursor: fc.oneof(
                      {
                        weight: 3,
                        arbitrary: fc
                          .record({ us: keyPart, id: keyPart, q: fc.oneof(fc.constant<unknown>(null), hostileJson) })
                          .map(({ us, id, q }) => ({ k: [us, id] as unknown[], q })),
                      },
                      { weight: 1, arbitrary: hostileJson.map((v) => ({ raw: b64(v) })) },
                      {
                        weight: 1,
                        arbitrary: fc
                          .oneof(
                            nastyString,
                            longString.map((s) => s.slice(0, 600)),
                          )
                          .map((s) => ({ raw: s })),
                      },
                      {
                        weight: 1,
                        arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => ({ raw: Buffer.from(s).toString('base64url') })),
                      },
                    ),
                    order: fc.constantFrom(undefined, 'time_start', '-time_start'),
                    limit: fc.constantFrom('1', '1000', '0'),
                  }),
                },
              )
              .map(({ cursor, order, limit }) => {
                // q: null stands for the real digest (of this very query), so the key reaches the SQL.
                const raw = 'raw' in cursor ? cursor.raw : b64({ k: cursor.k, q: cursor.q === null ? real.q : cursor.q });
                const text =
                  'raw' in cursor
                    ? raw
                    : `k=${JSON.stringify(cursor.k)} q=${cursor.q === null ? '(real digest)' : JSON.stringify(cursor.q)}`;
                return new Req(
                  'get',
                  `${base}?limit=${limit}&cursor=${enc(raw)}${order ? `&order=${order}` : ''}`,
                  {},
                  undefined,
                  `cursor ${clip(text, 200)}`,
                );
              }),
            async (r) => {
              await sendAndCheck('cursors', r);
            },
          );
        },
      );
    },
    LONG,
  );

  // A request head over Node's 16 KB limit (http maxHeaderSize) is refused by Node's HTTP parser before
  // Express sees it, with a bare `431 Request Header Fields Too Large`: a documented limit (README,
  // "Limits"). Found by this property at seed 20260106 (a 16,322-character URL). Long URLs below the
  // limit get a status and, for a 4xx, a message; above it, a 431.
  it(
    'long URLs (up to the 16 KB limit): answered with a status and, for a 4xx, a message',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc
            .record({
              op: fc.constantFrom(...ops.filter((o) => o.method === 'get')),
              n: fc.integer({ min: 1_000, max: 15_500 }),
              where: fc.constantFrom('query', 'path'),
            })
            .map(({ op, n, where }) => {
              const long = 'a'.repeat(n);
              const values = op.pathParams.map((p, i) =>
                where === 'path' && i === op.pathParams.length - 1 ? long : validPathValues(p, ['1'])[0],
              );
              return new Req(
                'get',
                urlOf(op, {
                  prefix: '/api/v1/',
                  slash: false,
                  values,
                  query: where === 'query' || !op.pathParams.length ? `x=${long}` : undefined,
                }),
                {},
                undefined,
                `${n}-character value in the ${where}`,
              );
            }),
          async (r) => {
            await sendAndCheck('long URLs', r);
          },
        ),
        { seed: SEED, numRuns: 30 },
      );
    },
    LONG,
  );

  it('refuses a URL over the 16 KB limit with 431', async () => {
    const res = await t.http().get(`/health?x=${'a'.repeat(20_000)}`);
    expect(res.status).toBe(431);
  });
});
