import { gzipSync } from 'node:zlib';
import { startApp, TestApp } from '../support/app';
import { Bus } from '../support/bus';
import { resp, start, task } from '../support/casts';
import { waitFor } from '../support/services';
import { Publisher, queueCounts } from '../support/faults/broker';
import { CastsService } from '../../src/receiver/casts.service';
import type { CastResultDto } from '../../src/receiver/dto/cast-result.dto';

/**
 * Hostile input on the bus: a catalogue of bad casts published as raw bytes to the service's
 * exchange. Each has a named fate, and each must meet it:
 *  - dead: dead-lettered to `<queue>.dead-letter` with the reason in `x-dead-letter-reason`;
 *  - partial: applied, its good entries written, its bad ones reported as skipped with the reason;
 *  - anyOf: one of these (where issue 6's limits leave the choice: a size limit per message, or per value).
 * The service stays up and ready, the count of dead letters matches, nothing is lost (every message
 * settles one way or the other) and the consumer still applies a good cast afterwards.
 */
type Fate = { dead: RegExp } | { partial: { applied: number; skipped: RegExp[] } } | { anyOf: Fate[] };

interface Case {
  id: string;
  what: string;
  body: Buffer;
  fate: Fate;
  contentEncoding?: string;
}

const KNOWN = 'hb-known';
const uuidOf = (id: string) => `hb-${id}`;
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const raw = (s: string) => Buffer.from(s, 'utf8');
const dead = (re: RegExp): Fate => ({ dead: re });
const partial = (applied: number, ...skipped: RegExp[]): Fate => ({ partial: { applied, skipped } });
const T = '2026-06-01T10:00:00Z';
/** The good entry every partial case carries next to its bad one. */
const good = () => task('1', 'good', 'ready', { time: T });
/** A report on the case's own run: one good entry, then the bad one. */
const report = (id: string, bad: unknown, extra: Record<string, unknown> = {}) => json(resp(uuidOf(id), [good(), bad], extra));
const deep = (n: number): Record<string, unknown> => {
  let o: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < n; i++) o = { o };
  return o;
};
const startArgs = (over: Record<string, unknown>) => ({
  task_uuid: 'hb-bad-start',
  cluster: { id: 61, name: 'hb', release: 'mitaka-9.0' },
  tasks_graph: { '1': [{ id: 'a' }] },
  ...over,
});
const SIZE = /too (large|long|big)|at most|limit|exceed|bytes|characters/i;

const CASES: Case[] = [
  // Not a JSON object at all.
  { id: 'not-json', what: 'text that is not JSON', body: raw('this is not json'), fate: dead(/not a JSON object/) },
  { id: 'empty', what: 'an empty body', body: Buffer.alloc(0), fate: dead(/not a JSON object/) },
  {
    id: 'truncated',
    what: 'truncated JSON',
    body: raw('{"method":"transaction_resp","args":{"task_uuid":"hb-known"'),
    fate: dead(/not a JSON object/),
  },
  {
    id: 'array',
    what: 'a JSON array',
    body: json([{ method: 'transaction_resp', args: { task_uuid: KNOWN } }]),
    fate: dead(/not a JSON object/),
  },
  { id: 'number', what: 'a JSON number', body: raw('42'), fate: dead(/not a JSON object/) },
  { id: 'string', what: 'a JSON string', body: raw('"transaction_resp"'), fate: dead(/not a JSON object/) },
  { id: 'null', what: 'JSON null', body: raw('null'), fate: dead(/not a JSON object/) },
  { id: 'bool', what: 'JSON true', body: raw('true'), fate: dead(/not a JSON object/) },
  {
    id: 'deep-array',
    what: 'an array nested 100,000 deep',
    body: raw('['.repeat(100_000) + ']'.repeat(100_000)),
    fate: dead(/not a JSON object/),
  },
  // The envelope.
  {
    id: 'unknown-method',
    what: 'an unknown method',
    body: json({ method: 'reboot_node', args: { task_uuid: KNOWN } }),
    fate: dead(/unknown method "reboot_node"/),
  },
  {
    id: 'method-case',
    what: 'a method in the wrong case',
    body: json({ method: 'Transaction_Resp', args: { task_uuid: KNOWN } }),
    fate: dead(/unknown method "Transaction_Resp"/),
  },
  {
    id: 'method-proto',
    what: 'method "__proto__"',
    body: raw('{"method":"__proto__","args":{"task_uuid":"hb-known"}}'),
    fate: dead(/unknown method "__proto__"/),
  },
  { id: 'no-method', what: 'no method', body: json({ args: { task_uuid: KNOWN } }), fate: dead(/no "method"/) },
  {
    id: 'method-number',
    what: 'a method that is a number',
    body: json({ method: 42, args: { task_uuid: KNOWN } }),
    fate: dead(/unknown method 42/),
  },
  {
    id: 'nest-envelope',
    what: "Nest's own {pattern, data} envelope",
    body: json({ pattern: 'transaction_resp', data: { task_uuid: KNOWN } }),
    fate: dead(/no "method"/),
  },
  { id: 'no-args', what: 'no args', body: json({ method: 'transaction_resp' }), fate: dead(/"args" must be an object, got nothing/) },
  {
    id: 'args-array',
    what: 'args that is a list',
    body: json({ method: 'transaction_resp', args: [KNOWN] }),
    fate: dead(/"args" must be an object/),
  },
  {
    id: 'args-string',
    what: 'args that is a string',
    body: json({ method: 'deploy_resp', args: KNOWN }),
    fate: dead(/"args" must be an object/),
  },
  // task_uuid.
  {
    id: 'uuid-missing',
    what: 'no task_uuid',
    body: json({ method: 'transaction_resp', args: { nodes: [good()] } }),
    fate: dead(/task_uuid must be a non-empty string, got nothing/),
  },
  { id: 'uuid-empty', what: 'an empty task_uuid', body: json(resp('', [good()])), fate: dead(/task_uuid must be a non-empty string/) },
  { id: 'uuid-blank', what: 'a blank task_uuid', body: json(resp('   ', [good()])), fate: dead(/task_uuid must be a non-empty string/) },
  {
    id: 'uuid-number',
    what: 'a task_uuid that is a number',
    body: json(resp(12345 as unknown as string, [good()])),
    fate: dead(/task_uuid must be a non-empty string, got 12345/),
  },
  {
    id: 'uuid-object',
    what: 'a task_uuid that is an object',
    body: json(resp({ id: KNOWN } as unknown as string, [good()])),
    fate: dead(/task_uuid must be a non-empty string/),
  },
  {
    id: 'uuid-long',
    what: 'a task_uuid of 256 characters',
    body: json(resp('u'.repeat(256), [good()])),
    fate: dead(/task_uuid must be at most 255 characters/),
  },
  { id: 'uuid-nul', what: 'a NUL in task_uuid', body: json(resp('hb-\u0000known', [good()])), fate: dead(/task_uuid contains a NUL/) },
  {
    id: 'uuid-surrogate',
    what: 'a lone surrogate in task_uuid',
    body: json(resp('hb-\ud800', [good()])),
    fate: dead(/task_uuid contains .*lone surrogate/),
  },
  {
    id: 'unknown-run',
    what: 'a report on a run never started',
    body: json(resp('hb-never-started', [good()])),
    fate: dead(/unknown transaction: no transaction_start was recorded for task_uuid 'hb-never-started'/),
  },
  // The cast's own fields.
  {
    id: 'nodes-object',
    what: 'nodes that is an object',
    body: json({ method: 'transaction_resp', args: { task_uuid: KNOWN, nodes: { '1': good() } } }),
    fate: dead(/args.nodes must be a list/),
  },
  {
    id: 'nodes-string',
    what: 'nodes that is a string',
    body: json({ method: 'deploy_resp', args: { task_uuid: KNOWN, nodes: 'node-1' } }),
    fate: dead(/args.nodes must be a list/),
  },
  {
    id: 'cast-time',
    what: 'a cast time that is not a time',
    body: json(resp(KNOWN, [good()], { time: 'yesterday' })),
    fate: dead(/args.time must be an ISO 8601 time/),
  },
  {
    id: 'cast-date',
    what: 'an impossible cast date (February 30)',
    body: json(resp(KNOWN, [good()], { time: '2026-02-30T10:00:00Z' })),
    fate: dead(/args.time is not a valid time/),
  },
  // transaction_start.
  {
    id: 'start-no-cluster',
    what: 'a start without cluster',
    body: json({ method: 'transaction_start', args: startArgs({ cluster: undefined }) }),
    fate: dead(/args.cluster must be an object/),
  },
  {
    id: 'start-cluster-list',
    what: 'a start whose cluster is a list',
    body: json({ method: 'transaction_start', args: startArgs({ cluster: [61] }) }),
    fate: dead(/args.cluster must be an object/),
  },
  {
    id: 'start-cluster-id',
    what: 'a start with a negative cluster id',
    body: json({ method: 'transaction_start', args: startArgs({ cluster: { id: -3, release: 'mitaka-9.0' } }) }),
    fate: dead(/cluster.id must be a non-negative integer, got -3/),
  },
  {
    id: 'start-cluster-id-big',
    what: 'a start with a cluster id of 2^31',
    body: json({ method: 'transaction_start', args: startArgs({ cluster: { id: 2 ** 31, release: 'mitaka-9.0' } }) }),
    fate: dead(/cluster.id must be a non-negative integer/),
  },
  {
    id: 'start-cluster-id-text',
    what: 'a start with a cluster id "abc"',
    body: json({ method: 'transaction_start', args: startArgs({ cluster: { id: 'abc', release: 'mitaka-9.0' } }) }),
    fate: dead(/cluster.id must be a non-negative integer, got "abc"/),
  },
  {
    id: 'start-no-release',
    what: 'a start without a release',
    body: json({ method: 'transaction_start', args: startArgs({ cluster: { id: 61 } }) }),
    fate: dead(/cluster.release must be a non-empty string/),
  },
  {
    id: 'start-release-nul',
    what: 'a start with a NUL in the release',
    body: json({ method: 'transaction_start', args: startArgs({ cluster: { id: 61, release: 'mitaka-9.0\u0000' } }) }),
    fate: dead(/release contains a NUL/),
  },
  {
    id: 'start-graph-list',
    what: 'a start whose graph is a list',
    body: json({ method: 'transaction_start', args: startArgs({ tasks_graph: [{ id: 'a' }] }) }),
    fate: dead(/tasks_graph must be an object/),
  },
  {
    id: 'start-graph-node',
    what: "a start whose node's tasks are not a list",
    body: json({ method: 'transaction_start', args: startArgs({ tasks_graph: { '1': { id: 'a' } } }) }),
    fate: dead(/tasks_graph\["1"\] must be a list of tasks/),
  },
  {
    id: 'start-task-no-id',
    what: 'a start with a task without id',
    body: json({ method: 'transaction_start', args: startArgs({ tasks_graph: { '1': [{ type: 'puppet' }] } }) }),
    fate: dead(/tasks_graph\["1"\]\[0\]\.id must be a non-empty string/),
  },
  {
    id: 'start-graph-surrogate',
    what: 'a start with a lone surrogate deep in the graph',
    body: json({ method: 'transaction_start', args: startArgs({ tasks_graph: { '1': [{ id: 'a', parameters: { cmd: 'x\udfff' } }] } }) }),
    fate: dead(/lone surrogate/),
  },
  {
    id: 'start-dry-run',
    what: 'a start with dry_run "yes"',
    body: json({ method: 'transaction_start', args: startArgs({ dry_run: 'yes' }) }),
    fate: dead(/dry_run must be true or false/),
  },
  // nodes[] entries: the good entry applied, the bad one skipped with the reason.
  {
    id: 'uid-object',
    what: 'a uid that is an object',
    body: report('uid-object', task({ id: 1 } as unknown as string, 'bad', 'ready')),
    fate: partial(1, /uid must be a node id/),
  },
  {
    id: 'uid-bool',
    what: 'a uid that is a boolean',
    body: report('uid-bool', task(true as unknown as string, 'bad', 'ready')),
    fate: partial(1, /uid must be a node id/),
  },
  {
    id: 'uid-float',
    what: 'a uid that is a float',
    body: report('uid-float', task(1.5, 'bad', 'ready')),
    fate: partial(1, /uid must be a node id/),
  },
  { id: 'uid-empty', what: 'an empty uid', body: report('uid-empty', task('', 'bad', 'ready')), fate: partial(1, /uid must be a node id/) },
  {
    id: 'uid-missing',
    what: 'no uid',
    body: report('uid-missing', { deployment_graph_task_name: 'bad', task_status: 'ready' }),
    fate: partial(1, /missing uid/),
  },
  {
    id: 'uid-long',
    what: 'a uid of 300 characters',
    body: report('uid-long', task('n'.repeat(300), 'bad', 'ready')),
    fate: partial(1, /uid must be a node id/),
  },
  {
    id: 'status-unknown',
    what: 'an unknown task_status',
    body: report('status-unknown', task('1', 'bad', 'exploded')),
    fate: partial(1, /unknown task_status "exploded"/),
  },
  {
    id: 'status-number',
    what: 'a task_status that is a number',
    body: report('status-number', task('1', 'bad', 3 as unknown as string)),
    fate: partial(1, /unknown task_status 3/),
  },
  {
    id: 'status-missing',
    what: 'no task_status',
    body: report('status-missing', { uid: '1', deployment_graph_task_name: 'bad' }),
    fate: partial(1, /missing task_status/),
  },
  {
    id: 'name-missing',
    what: 'no task name',
    body: report('name-missing', { uid: '1', task_status: 'ready' }),
    fate: partial(1, /missing deployment_graph_task_name/),
  },
  {
    id: 'name-number',
    what: 'a task name that is a number',
    body: report('name-number', task('1', 7 as unknown as string, 'ready')),
    fate: partial(1, /deployment_graph_task_name must be a non-empty string/),
  },
  {
    id: 'name-long',
    what: 'a task name of 256 characters',
    body: report('name-long', task('1', 'n'.repeat(256), 'ready')),
    fate: partial(1, /at most 255 characters/),
  },
  {
    id: 'name-nul',
    what: 'a NUL in a task name',
    body: report('name-nul', task('1', 'ba\u0000d', 'ready')),
    fate: partial(1, /NUL character/),
  },
  {
    id: 'entry-string',
    what: 'an entry that is a string',
    body: report('entry-string', 'node 1 is ready'),
    fate: partial(1, /a node entry must be an object/),
  },
  {
    id: 'entry-deep',
    what: 'an entry that is a list nested 100,000 deep',
    body: raw(
      JSON.stringify(resp(uuidOf('entry-deep'), [good(), '@DEEP@'])).replace('"@DEEP@"', '['.repeat(100_000) + ']'.repeat(100_000)),
    ),
    fate: partial(1, /a node entry must be an object/),
  },
  {
    id: 'time-text',
    what: 'an entry time that is not a time',
    body: report('time-text', task('1', 'bad', 'ready', { time: 'tomorrow' })),
    fate: partial(1, /time must be an ISO 8601 time/),
  },
  {
    id: 'time-impossible',
    what: 'an impossible entry date (2026-13-01)',
    body: report('time-impossible', task('1', 'bad', 'ready', { time: '2026-13-01T00:00:00Z' })),
    fate: partial(1, /is not a valid time/),
  },
  {
    id: 'time-offset',
    what: 'an impossible UTC offset',
    body: report('time-offset', task('1', 'bad', 'ready', { time: '2026-01-01T10:00:00+25:00' })),
    fate: partial(1, /impossible UTC offset/),
  },
  {
    id: 'error-nul',
    what: 'a NUL in error_msg',
    body: report('error-nul', task('1', 'bad', 'error', { error_msg: 'bo\u0000om' })),
    fate: partial(1, /NUL character/),
  },
  {
    id: 'error-object',
    what: 'an error_msg that is an object',
    body: report('error-object', task('1', 'bad', 'error', { error_msg: { text: 'boom' } })),
    fate: partial(1, /error_msg must be a string/),
  },
  {
    id: 'summary-surrogate',
    what: 'a lone surrogate in summary',
    body: report('summary-surrogate', task('1', 'bad', 'ready', { summary: { out: 'x\ud83d' } })),
    fate: partial(1, /lone surrogate/),
  },
  {
    id: 'summary-list',
    what: 'a summary that is a list',
    body: report('summary-list', task('1', 'bad', 'ready', { summary: [1, 2] })),
    fate: partial(1, /summary must be an object/),
  },
  {
    id: 'custom-key-nul',
    what: 'a NUL in a key of custom',
    body: report('custom-key-nul', task('1', 'bad', 'ready', { custom: { 'k\u0000': 1 } })),
    fate: partial(1, /NUL character/),
  },
  {
    id: 'custom-deep',
    what: 'custom nested 1,000 deep',
    body: report('custom-deep', task('1', 'bad', 'ready', { custom: deep(1000) })),
    fate: partial(1, /nested deeper than 32/),
  },
  {
    id: 'custom-deeper',
    what: 'custom nested 100,000 deep',
    body: raw(
      JSON.stringify(resp(uuidOf('custom-deeper'), [good(), task('1', 'bad', 'ready', { custom: '@DEEP@' })])).replace(
        '"@DEEP@"',
        '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000),
      ),
    ),
    fate: partial(1, /nested deeper than 32/),
  },
  // Run-level fields: skipped, the nodes still applied.
  {
    id: 'run-status',
    what: 'an unknown transaction status',
    body: json(resp(uuidOf('run-status'), [good()], { status: 'exploded' })),
    fate: partial(1, /unknown transaction status "exploded"/),
  },
  {
    id: 'run-status-number',
    what: 'a transaction status that is a number',
    body: json(resp(uuidOf('run-status-number'), [good()], { status: 2 })),
    fate: partial(1, /unknown transaction status 2/),
  },
  {
    id: 'run-progress',
    what: 'a progress of 250',
    body: json(resp(uuidOf('run-progress'), [good()], { progress: 250 })),
    fate: partial(1, /progress must be a number from 0 to 100/),
  },
  {
    id: 'run-error',
    what: 'a run error that is a list',
    body: json(resp(uuidOf('run-error'), [good()], { error: ['boom'] })),
    fate: partial(1, /error must be a string/),
  },
  // Odd but valid: applied whole, nothing polluted.
  {
    id: 'proto-key',
    what: 'a "__proto__" key in custom',
    body: raw(
      JSON.stringify(resp(uuidOf('proto-key'), [good(), task('1', 'bad', 'ready', { custom: { x: 1 } })])).replace(
        '{"x":1}',
        '{"__proto__":{"polluted":true},"x":1}',
      ),
    ),
    fate: partial(2),
  },
  // Sizes: issue 6 asks for enforced limits with clear errors.
  {
    id: 'summary-5mb',
    what: 'a 5 MB summary',
    body: report('summary-5mb', task('1', 'bad', 'ready', { summary: { log: 'x'.repeat(5 * 1024 * 1024) } })),
    fate: partial(1, SIZE),
  },
  {
    id: 'message-10mb',
    what: 'a 10 MB message (a 10 MB error_msg)',
    body: report('message-10mb', task('1', 'bad', 'error', { error_msg: 'e'.repeat(10 * 1024 * 1024) })),
    fate: { anyOf: [dead(SIZE), partial(1, SIZE)] },
  },
  // Encodings: what is not UTF-8 JSON is not guessed at.
  {
    id: 'latin1',
    what: 'latin-1 bytes (an error message with "é" as 0xE9)',
    body: Buffer.concat([
      raw(
        `{"method":"transaction_resp","args":{"task_uuid":"${uuidOf('latin1')}","nodes":[{"uid":"1","deployment_graph_task_name":"good","task_status":"error","error_msg":"d`,
      ),
      Buffer.from([0xe9]),
      raw('j\\u00e0 vu"}]}}'),
    ]),
    fate: dead(/UTF-8|encod/i),
  },
  {
    id: 'gzip',
    what: 'gzip bytes (content-encoding gzip)',
    body: gzipSync(json(resp(KNOWN, [good()]))),
    contentEncoding: 'gzip',
    fate: dead(/not a JSON object|encod/i),
  },
  {
    id: 'utf16',
    what: 'UTF-16LE with a byte order mark',
    body: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(resp(KNOWN, [good()])), 'utf16le')]),
    fate: dead(/not a JSON object|encod|UTF/i),
  },
];

const PARTIAL_RUNS = CASES.filter((c) => !('dead' in c.fate)).map((c) => uuidOf(c.id));

describe('hostile input on the bus', () => {
  let t: TestApp;
  let bus: Bus;
  let pub: Publisher;
  let queue: string;
  let dlq: string;
  const results = new Map<string, CastResultDto>();
  const deadLetters = new Map<string, string>();
  let before: { dead_lettered: number; entries_skipped: number; casts: number };

  beforeAll(async () => {
    t = await startApp({ amqp: true });
    bus = await Bus.connect();
    pub = await Publisher.connect();
    queue = t.config.amqpQueue;
    dlq = `${queue}.dead-letter`;
    // Every run a case reports on, started first (over HTTP: setting up is not under test).
    const graph = {
      '1': [
        { id: 'good', type: 'puppet' },
        { id: 'bad', type: 'puppet' },
      ],
    };
    await t
      .http()
      .post('/api/v1/casts')
      .send(
        [KNOWN, ...PARTIAL_RUNS, uuidOf('latin1')].map((u) =>
          start(u, { id: 60, name: 'hostile-bus', release: 'mitaka-9.0' }, graph, { time: '2026-06-01T09:00:00Z' }),
        ),
      )
      .expect(200);
    // What the service reports for each cast it applies (skipped entries and their reasons): each bus cast is
    // counted (CastsService.count), and what was applied of it is what POST /casts would answer (resultOf).
    const casts = t.app.get(CastsService);
    const count = casts.count.bind(casts);
    jest.spyOn(casts, 'count').mockImplementation((cast, outcome) => {
      count(cast, outcome);
      const r = casts.resultOf(cast, outcome);
      if (r.outcome !== 'unknown_transaction') results.set(r.task_uuid, r);
    });
    before = (await t.http().get('/api/v1/receiver/stats').expect(200)).body;

    for (const c of CASES) {
      bus.channel.publish(t.config.amqpExchange, 'nailgun', c.body, {
        contentType: 'application/json',
        ...(c.contentEncoding ? { contentEncoding: c.contentEncoding } : {}),
        headers: { 'x-case': c.id },
      });
    }
    await bus.channel.waitForConfirms();
    // Every message settles: dead-lettered, or applied (a partial case may end either way).
    const settled = () => deadLetters.size + CASES.filter((c) => !deadLetters.has(c.id) && results.has(uuidOf(c.id))).length;
    await waitFor(
      async () => {
        for (const m of await pub.drain(dlq))
          deadLetters.set(String(m.properties.headers?.['x-case']), String(m.properties.headers?.['x-dead-letter-reason']));
        return settled() >= CASES.length && (await pub.settled(queue));
      },
      `all ${CASES.length} hostile casts to settle`,
      60_000,
    ).catch(() => undefined);
  }, 120_000);

  afterAll(async () => {
    await pub?.remove([queue, dlq], [t?.config.amqpExchange, dlq]).catch(() => undefined);
    await pub?.close();
    await bus?.close();
    await t?.close();
  });

  it('has a catalogue of at least 30 kinds of bad cast', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(CASES.map((c) => c.id)).size).toBe(CASES.length);
  });

  const row = async (uuid: string, name: string) => {
    // A task never reported is listed as pending, as a read stores it first (PlansMaterialized).
    await t.materialize();
    return (
      await t.sql.query(
        `SELECT h.status, h.error_message, h.custom FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id WHERE t.uuid = $1 AND h.task_name = $2`,
        [uuid, name],
      )
    ).rows[0];
  };

  async function meets(c: Case, fate: Fate): Promise<string | null> {
    if ('anyOf' in fate) {
      const misses: string[] = [];
      for (const f of fate.anyOf) {
        const miss = await meets(c, f);
        if (miss === null) return null;
        misses.push(miss);
      }
      return misses.join(' / ');
    }
    if ('dead' in fate) {
      if (!deadLetters.has(c.id))
        return `not dead-lettered (${results.has(uuidOf(c.id)) ? `applied: ${JSON.stringify(results.get(uuidOf(c.id))).slice(0, 300)}` : 'never settled'})`;
      return fate.dead.test(deadLetters.get(c.id)!)
        ? null
        : `dead-lettered with reason ${JSON.stringify(deadLetters.get(c.id))}, expected ${fate.dead}`;
    }
    if (deadLetters.has(c.id)) return `dead-lettered (${deadLetters.get(c.id)!.slice(0, 300)}), expected a partial apply`;
    const r = results.get(uuidOf(c.id));
    if (!r) return 'never applied nor dead-lettered';
    const got = { outcome: r.outcome, tasks_applied: r.tasks_applied, skipped: r.skipped.map((s) => s.reason) };
    const want = fate.partial;
    const ok =
      r.outcome === 'applied' &&
      r.tasks_applied === want.applied &&
      r.skipped.length === want.skipped.length &&
      want.skipped.every((re, i) => re.test(r.skipped[i].reason));
    if (!ok)
      return `reported ${JSON.stringify(got).slice(0, 400)}, expected ${want.applied} applied and skipped ${want.skipped.join(', ') || 'nothing'}`;
    // The good entry is in the database; the bad one left its row alone.
    const g = await row(uuidOf(c.id), 'good');
    if (g?.status !== 'ready') return `the good entry was not written (row: ${JSON.stringify(g)})`;
    const b = await row(uuidOf(c.id), 'bad');
    if (want.skipped.length && b?.status !== 'pending') return `the skipped entry was written (row: ${JSON.stringify(b).slice(0, 200)})`;
    return null;
  }

  it.each(CASES.map((c) => [c.id, c.what, c] as const))('%s (%s) meets its fate', async (_id, _what, c) => {
    expect(await meets(c, c.fate)).toBeNull();
  });

  it('dead-letters exactly the cases whose fate it is, and counts them; loses none', async () => {
    const stats = (await t.http().get('/api/v1/receiver/stats').expect(200)).body;
    const mustDie = CASES.filter((c) => 'dead' in c.fate).map((c) => c.id);
    const mayDie = CASES.filter((c) => 'anyOf' in c.fate).map((c) => c.id);
    expect({
      'dead-lettered, but their fate is a partial apply': [...deadLetters.keys()]
        .filter((id) => !mustDie.includes(id) && !mayDie.includes(id))
        .sort(),
      'not dead-lettered, but their fate is': mustDie.filter((id) => !deadLetters.has(id)),
      'dead letters counted': stats.dead_lettered - before.dead_lettered,
      // Every message received once and settled once: none lost, none looping.
      'casts received': stats.casts - before.casts,
      'casts settled': deadLetters.size + CASES.filter((c) => !deadLetters.has(c.id) && results.has(uuidOf(c.id))).length,
    }).toEqual({
      'dead-lettered, but their fate is a partial apply': [],
      'not dead-lettered, but their fate is': [],
      'dead letters counted': deadLetters.size,
      'casts received': CASES.length,
      'casts settled': CASES.length,
    });
  });

  it('reports every skipped entry in its counters', async () => {
    const stats = (await t.http().get('/api/v1/receiver/stats').expect(200)).body;
    const skipped = [...results.values()].filter((r) => PARTIAL_RUNS.includes(r.task_uuid)).reduce((n, r) => n + r.skipped.length, 0);
    expect(stats.entries_skipped - before.entries_skipped).toBe(skipped);
  });

  it('lets no "__proto__" key pollute objects', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const b = await row(uuidOf('proto-key'), 'bad');
    expect(b?.status).toBe('ready');
  });

  it('stays up and ready, and still applies a good cast after all of them', async () => {
    await t.http().get('/health/ready').expect(200);
    await bus.publish(
      t.config.amqpExchange,
      'nailgun',
      resp(KNOWN, [task('1', 'good', 'ready', { time: T })], { status: 'ready', time: '2026-06-01T11:00:00Z' }),
    );
    await waitFor(
      async () => (await t.sql.query(`SELECT status FROM transactions WHERE uuid = $1`, [KNOWN])).rows[0].status === 'ready',
      'the good cast to be applied',
    );
    expect((await row(KNOWN, 'good')).status).toBe('ready');
    expect((await queueCounts(queue))?.consumers).toBe(1);
  });
});
