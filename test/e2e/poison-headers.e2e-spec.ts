import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import * as amqp from 'amqplib';
import { Client } from 'pg';
import { finish, resp, start, task } from '../support/casts';
import { createTestDatabase } from '../support/database';
import { Publisher, queueCounts, rabbitmqctl } from '../support/faults/broker';
import { builtService, killAllServices, removeBuiltService, ServiceProcess } from '../support/faults/service';
import { AMQP_URL, uniqueName, waitFor } from '../support/services';

/**
 * Issue #11: one message whose headers fill the frame used to crash the service again and again. Copying
 * its headers into the dead-letter queue (plus `x-dead-letter-*`) passed what amqplib can encode, the
 * message went back to the queue, came back ~1,450 times a second, and the process died of its heap
 * in ~30 s; at every restart again, as the message stayed in the queue.
 *
 * The built service (`node dist/src/main.js`, a child process, so that its RSS can be read) is sent
 * that message and other header tables that fill the frame, with invalid bodies (each must reach the
 * dead-letter queue within a second, once, with what was cut said in a header) and with valid ones
 * (recorded and acked: acking never re-encodes headers); the next valid cast is recorded; RSS stays
 * under 300 MB throughout.
 */
jest.setTimeout(120_000);

// amqplib's own encoder (the one that failed): the tests size their header tables with it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const codec = require('amqplib/lib/codec') as { encodeTable(buffer: Buffer, table: object, offset: number): number };
/** The largest header table amqplib 0.10.9 can publish (measured: one more byte breaks the frame). */
const LIMIT = 65_536;
const tableBytes = (headers: object) => codec.encodeTable(Buffer.alloc(4 * LIMIT), headers, 0);

/** `base` plus one string header `key` long enough for the whole table to be `bytes` (`unit` repeated, padded). */
function fillWithString(base: Record<string, unknown>, key: string, bytes: number, unit = 'x'): Record<string, unknown> {
  const room = bytes - tableBytes({ ...base, [key]: '' });
  const unitBytes = Buffer.byteLength(unit);
  const value = unit.repeat(Math.floor(room / unitBytes)) + 'x'.repeat(room % unitBytes);
  const headers = { ...base, [key]: value };
  expect(tableBytes(headers)).toBe(bytes);
  return headers;
}

/** `base` plus thousands of small headers (`h00001: v`), padded to exactly `bytes`. */
function fillWithMany(base: Record<string, unknown>, bytes: number): Record<string, unknown> {
  const headers: Record<string, unknown> = { ...base };
  const entry = tableBytes({ h00000: 'v' }) - 4;
  const count = Math.floor((bytes - tableBytes(base) - 64) / entry);
  for (let i = 0; i < count; i++) headers[`h${String(i).padStart(5, '0')}`] = 'v';
  return fillWithString(headers, 'pad', bytes);
}

/** `base` plus a nested table and an array of strings (neither can be shortened), padded to exactly `bytes`. */
function fillWithNested(base: Record<string, unknown>, bytes: number): Record<string, unknown> {
  const headers = { ...base, 'x-nested': { a: { b: { c: 'n'.repeat(20_000), d: [1, 2.5, true, null] } } }, 'x-list': Array.from({ length: 2000 }, (_, i) => `item-${i}`) };
  return fillWithString(headers, 'pad', bytes);
}

function fillWithBytes(base: Record<string, unknown>, bytes: number): Record<string, unknown> {
  const room = bytes - tableBytes({ ...base, 'x-bin': Buffer.alloc(0) });
  const headers = { ...base, 'x-bin': Buffer.alloc(room, 0xab) };
  expect(tableBytes(headers)).toBe(bytes);
  return headers;
}

/** The service's resident memory, from /proc (MB). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) / 1024 : 0;
}

/** A counter from the service's /metrics (0 when it has no sample yet). */
async function metric(svc: ServiceProcess, name: string): Promise<number> {
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

/** The arguments a queue was declared with, as the broker lists them. */
async function queueArguments(queue: string): Promise<string> {
  const out = await rabbitmqctl('-q', 'list_queues', '--no-table-headers', 'name', 'arguments');
  const line = out.split('\n').find((l) => l.trim().split(/\s+/)[0] === queue);
  if (!line) throw new Error(`queue ${queue} is not listed`);
  return line.trim().slice(queue.length).trim();
}

/** A dead-letter queue that refuses every publish (full, overflow reject-publish): the copy fails. */
async function makeRefusing(ch: amqp.Channel, dlq: string): Promise<void> {
  await ch.deleteQueue(dlq);
  await ch.assertQueue(dlq, { durable: true, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } });
}

/** The settled state of a queue: nothing ready, nothing unacked. */
const queueSettled = (queue: string) =>
  waitFor(async () => {
    const q = await queueCounts(queue);
    return q && q.ready === 0 && q.unacked === 0;
  }, `queue ${queue} to be empty (everything settled)`);

const ISSUE_BODY = Buffer.from('<html><body>502 Bad Gateway</body></html>');
/** The issue's headers: 65,520 bytes; the old copy's `x-dead-letter-reason` length then lands past offset 65,532, amqplib's RangeError. */
const issueHeaders = (id: string) => fillWithString({ 'x-case': id }, 'x-big', 65_520);

interface Poison {
  id: string;
  what: string;
  body: Buffer;
  headers: Record<string, unknown>;
  reason: RegExp;
  /** Header names the copy must say were dropped or truncated. */
  cut: string[];
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const T = '2026-06-01T10:00:00Z';

describe('messages whose headers fill the frame (issue #11)', () => {
  let pub: Publisher;
  let conn: amqp.ChannelModel;
  let ch: amqp.ConfirmChannel;
  let db: { url: string; name: string; drop: () => Promise<void> };
  let sql: Client;
  let svc: ServiceProcess;
  const names = uniqueName('dh_poison');
  const dlq = `${names}.dead-letter`;
  /** Dead letters as they arrive, by `x-case`, with their arrival time. */
  const arrived = new Map<string, { at: number; message: amqp.ConsumeMessage; count: number }>();
  let maxRss = 0;
  let sampler: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    await builtService();
    db = await createTestDatabase('dh_poison');
    sql = new Client({ connectionString: db.url });
    await sql.connect();
    pub = await Publisher.connect();
    conn = await amqp.connect(AMQP_URL);
    conn.on('error', () => undefined);
    ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    svc = await ServiceProcess.start({ databaseUrl: db.url, exchange: names, queue: names, name: 'service (poison headers)' });
    // Sampled every 20 ms: the issue's loop grew RSS by ~110 MB/s.
    sampler = setInterval(() => {
      if (svc.exit === null) maxRss = Math.max(maxRss, rssMb(svc.child.pid!));
    }, 20);
    // The dead-letter queue, as this service has always declared it (a plain durable queue).
    await ch.assertQueue(dlq, { durable: true });
    await ch.consume(dlq, (m) => {
      if (!m) return;
      const id = String(m.properties.headers?.['x-case']);
      const seen = arrived.get(id);
      arrived.set(id, { at: seen?.at ?? Date.now(), message: seen?.message ?? m, count: (seen?.count ?? 0) + 1 });
      ch.ack(m);
    });
  }, 120_000);

  afterAll(async () => {
    if (sampler) clearInterval(sampler);
    await svc?.stop().catch(() => undefined);
    await killAllServices();
    removeBuiltService();
    await ch?.close().catch(() => undefined);
    await conn?.close().catch(() => undefined);
    await pub?.remove([names, dlq], [names, `${names}.dead-letter`]).catch(() => undefined);
    await pub?.close();
    await sql?.end().catch(() => undefined);
    await db?.drop().catch(() => undefined);
  });

  const publish = (body: Buffer, headers: Record<string, unknown>) => {
    ch.publish(names, 'nailgun', body, { contentType: 'application/json', headers });
    return ch.waitForConfirms();
  };

  const runStatus = async (uuid: string) => (await sql.query('SELECT status FROM transactions WHERE uuid = $1', [uuid])).rows[0]?.status as string | undefined;

  it("dead-letters the issue's message (a non-JSON body with a ~64 KB header) within a second, once; records the next valid cast; RSS under 300 MB", async () => {
    const mark = svc.mark();
    const headers = issueHeaders('issue');
    const body = ISSUE_BODY;
    const sent = Date.now();
    await publish(body, headers);
    // The next cast on the queue: a valid run start.
    await publish(json(start('poison-next', { id: 71, name: 'poison', release: 'mitaka-9.0' }, { '1': [{ id: 'a', type: 'puppet' }] })), {});

    const dead = await waitFor(() => arrived.get('issue'), 'the message in the dead-letter queue', 10_000).catch((e) => {
      const out = svc.output().slice(mark);
      console.log(`not dead-lettered after 10 s: max RSS ${maxRss.toFixed(0)} MB, ${(out.length / 1024).toFixed(0)} KB of logs, ${svc.exit ? 'exited' : 'running'}; ${out.slice(0, 600)}`);
      throw e;
    });
    const elapsed = dead.at - sent;
    await waitFor(() => runStatus('poison-next'), 'the next valid cast to be recorded', 10_000);
    await queueSettled(names);

    const h = dead.message.properties.headers!;
    expect(dead.message.content.equals(body)).toBe(true);
    expect(h['x-dead-letter-reason']).toMatch(/not a JSON object/);
    expect(h['x-original-exchange']).toBe(names);
    expect(h['x-original-routing-key']).toBe('nailgun');
    // The big header did not fit with ours: the copy keeps its beginning and says it was cut.
    expect(`${h['x-dead-letter-headers-truncated'] ?? ''} ${h['x-dead-letter-headers-dropped'] ?? ''}`).toContain('x-big');
    if (typeof h['x-big'] === 'string') expect((headers['x-big'] as string).startsWith(h['x-big'])).toBe(true);
    expect(tableBytes(h)).toBeLessThanOrEqual(LIMIT);
    // Once: never sent again, never looped.
    expect(dead.count).toBe(1);
    const logLines = svc.output().slice(mark).split('\n').filter(Boolean);
    expect(logLines.length).toBeLessThan(20);
    expect(svc.exit).toBeNull();
    console.log(`issue's message dead-lettered in ${elapsed} ms; max RSS ${maxRss.toFixed(0)} MB; ${logLines.length} log lines`);
    expect(elapsed).toBeLessThan(1000);
    expect(maxRss).toBeLessThan(300);
  });

  it('dead-letters other header tables that fill the frame (invalid bodies) within a second each, and records valid casts carrying them', async () => {
    const mark = svc.mark();
    const full = LIMIT;
    const poisons: Poison[] = [
      { id: 'at-limit', what: 'one string header, the table at the limit', body: Buffer.from('not json'), headers: fillWithString({ 'x-case': 'at-limit' }, 'x-big', full), reason: /not a JSON object/, cut: ['x-big'] },
      { id: 'many', what: 'thousands of small headers', body: Buffer.from(''), headers: fillWithMany({ 'x-case': 'many' }, full), reason: /not a JSON object/, cut: [] },
      { id: 'nested', what: 'a nested table and an array', body: json({ method: 'reboot_node', args: {} }), headers: fillWithNested({ 'x-case': 'nested' }, full), reason: /unknown method/, cut: [] },
      { id: 'bytes', what: 'a byte array header', body: json([1, 2, 3]), headers: fillWithBytes({ 'x-case': 'bytes' }, full), reason: /not a JSON object/, cut: ['x-bin'] },
      { id: 'utf8', what: 'a header of multi-byte characters, an invalid cast', body: json({ method: 'transaction_resp', args: { status: 'running' } }), headers: fillWithString({ 'x-case': 'utf8' }, 'x-text', full, 'é😀'), reason: /task_uuid/, cut: ['x-text'] },
    ];
    const run = 'poison-valid';
    const graph = { '1': [{ id: 'a', type: 'puppet' }] };
    const sent = new Map<string, number>();
    for (const p of poisons) {
      sent.set(p.id, Date.now());
      await publish(p.body, p.headers);
    }
    // Valid casts with tables that fill the frame: recorded and acked (nothing re-encodes their headers).
    await publish(json(start(run, { id: 72, name: 'poison', release: 'mitaka-9.0' }, graph, { time: T })), fillWithString({ 'x-case': 'valid-start' }, 'x-big', 60 * 1024));
    await waitFor(() => runStatus(run), 'the run start with 60 KB of headers to be recorded', 10_000);
    await publish(json(resp(run, [task('1', 'a', 'ready', { time: T })])), fillWithMany({ 'x-case': 'valid-report' }, full));
    await publish(json(finish(run, 'ready')), {});

    await waitFor(() => poisons.every((p) => arrived.has(p.id)) && arrived, `every poison in the dead-letter queue (${poisons.filter((p) => !arrived.has(p.id)).map((p) => p.id)})`, 15_000);
    await waitFor(async () => (await runStatus(run)) === 'ready' && true, 'the run to be ready', 10_000);
    const rows = await sql.query("SELECT h.status FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id WHERE t.uuid = $1 AND h.task_name = 'a'", [run]);
    expect(rows.rows.map((r) => r.status)).toEqual(['ready']);
    await queueSettled(names);

    const times: string[] = [];
    for (const p of poisons) {
      const dead = arrived.get(p.id)!;
      const h = dead.message.properties.headers!;
      expect({ id: p.id, reason: h['x-dead-letter-reason'] }).toEqual({ id: p.id, reason: expect.stringMatching(p.reason) });
      expect({ id: p.id, count: dead.count, same: dead.message.content.equals(p.body) }).toEqual({ id: p.id, count: 1, same: true });
      const said = `${h['x-dead-letter-headers-truncated'] ?? ''} ${h['x-dead-letter-headers-dropped'] ?? ''}`;
      for (const name of p.cut) expect({ id: p.id, said }).toEqual({ id: p.id, said: expect.stringContaining(name) });
      // Every original header is in the copy, the same or a prefix of it, or named as cut.
      for (const [k, v] of Object.entries(p.headers)) {
        if (!(k in h)) expect({ id: p.id, dropped: k, said }).toEqual({ id: p.id, dropped: k, said: expect.stringMatching(/./) });
        else if (typeof v === 'string' && h[k] !== v) expect({ id: p.id, k, prefix: v.startsWith(String(h[k])), said: said.includes(k) }).toEqual({ id: p.id, k, prefix: true, said: true });
      }
      expect(tableBytes(h)).toBeLessThanOrEqual(LIMIT);
      times.push(`${p.id} ${dead.at - sent.get(p.id)!} ms`);
    }
    expect(arrived.has('valid-start')).toBe(false);
    expect(arrived.has('valid-report')).toBe(false);
    const logLines = svc.output().slice(mark).split('\n').filter(Boolean);
    console.log(`dead-lettered: ${times.join(', ')}; max RSS ${maxRss.toFixed(0)} MB; ${logLines.length} log lines`);
    for (const p of poisons) expect({ id: p.id, ms: arrived.get(p.id)!.at - sent.get(p.id)! }).toEqual({ id: p.id, ms: expect.any(Number) });
    expect(poisons.filter((p) => arrived.get(p.id)!.at - sent.get(p.id)! >= 1000).map((p) => p.id)).toEqual([]);
    expect(logLines.length).toBeLessThan(40);
    expect(maxRss).toBeLessThan(300);
    expect(svc.exit).toBeNull();
  });

  it('declares the queue with x-dead-letter-exchange, an exchange bound to the dead-letter queue', async () => {
    const args = await queueArguments(names);
    expect(args).toContain('x-dead-letter-exchange');
    expect(args).toContain(`${names}.dead-letter`);
    const bindings = await rabbitmqctl('-q', 'list_bindings', '--no-table-headers', 'source_name', 'destination_name');
    expect(bindings.split('\n').some((l) => l.trim().split(/\s+/).join(' ') === `${names}.dead-letter ${names}.dead-letter`)).toBe(true);
  });

  it("when the dead-letter queue refuses the copy, rejects the message without requeue: the broker moves it through the queue's dead-letter exchange within a second, once", async () => {
    const mark = svc.mark();
    // A second queue on the dead-letter exchange sees what the broker moves (the refusing queue drops it).
    const observer = `${names}.observer`;
    await ch.assertQueue(observer, { durable: false });
    await ch.bindQueue(observer, `${names}.dead-letter`, '');
    const moved: Array<{ at: number; message: amqp.ConsumeMessage }> = [];
    await ch.consume(observer, (m) => {
      if (!m) return;
      moved.push({ at: Date.now(), message: m });
      ch.ack(m);
    });
    await makeRefusing(ch, dlq);
    const failures = await metric(svc, 'dh_dead_letter_copy_failures_total');

    const headers = issueHeaders('refused');
    const sent = Date.now();
    await publish(ISSUE_BODY, headers);
    await publish(json(start('poison-after-refusal', { id: 73, name: 'poison', release: 'mitaka-9.0' }, { '1': [{ id: 'a', type: 'puppet' }] })), {});
    const [first] = await waitFor(() => moved.length > 0 && moved, 'the message moved to the dead-letter exchange', 10_000);
    await waitFor(() => runStatus('poison-after-refusal'), 'the next valid cast to be recorded', 10_000);
    await queueSettled(names);

    const h = first.message.properties.headers!;
    // Moved by the broker as it was (amqplib did not encode its headers again), with the broker's x-death.
    expect(first.message.content.equals(ISSUE_BODY)).toBe(true);
    expect(h['x-big']).toBe(headers['x-big']);
    expect(h['x-death']).toEqual([expect.objectContaining({ reason: 'rejected', queue: names })]);
    expect(moved).toHaveLength(1);
    expect(await metric(svc, 'dh_dead_letter_copy_failures_total')).toBe(failures + 1);
    expect(await metric(svc, 'dh_dead_letter_rejected_total{to="exchange"}')).toBe(1);
    // Logged: the failed copy and the rejection, with the reason.
    const problems = svc.problems(mark);
    expect(problems.some((l) => /could not copy a message to .*message nacked/.test(l))).toBe(true);
    expect(problems.some((l) => /rejected a message .* dead-letter exchange .*not a JSON object/.test(l))).toBe(true);
    console.log(`refused copy: moved by the broker in ${first.at - sent} ms; max RSS ${maxRss.toFixed(0)} MB`);
    expect(first.at - sent).toBeLessThan(1000);
    expect(maxRss).toBeLessThan(300);
    await ch.deleteQueue(observer);
  });

  it('starts again on the queue it declared (same arguments) and dead-letters again', async () => {
    await ch.deleteQueue(dlq);
    await ch.assertQueue(dlq, { durable: true });
    await ch.consume(dlq, (m) => {
      if (!m) return;
      arrived.set(String(m.properties.headers?.['x-case']), { at: Date.now(), message: m, count: (arrived.get(String(m.properties.headers?.['x-case']))?.count ?? 0) + 1 });
      ch.ack(m);
    });
    // A clean stop (Nest re-raises SIGTERM once closed), not the SIGKILL after the grace period.
    expect(await svc.stop()).toEqual({ code: null, signal: 'SIGTERM' });
    svc = await ServiceProcess.start({ databaseUrl: db.url, exchange: names, queue: names, name: 'service (poison headers, restarted)' });
    // Nothing said about the queue (no 406, no warning about its declaration).
    expect(svc.problems().filter((l) => /Receiver|queue|dead-letter|PRECONDITION/i.test(l))).toEqual([]);
    await publish(ISSUE_BODY, issueHeaders('after-restart'));
    await waitFor(() => arrived.get('after-restart'), 'the message in the dead-letter queue', 10_000);
    expect(await queueArguments(names)).toContain('x-dead-letter-exchange');
  });
});

describe('a queue declared without x-dead-letter-exchange (an installation before this version)', () => {
  let pub: Publisher;
  let conn: amqp.ChannelModel;
  let ch: amqp.ConfirmChannel;
  let db: { url: string; name: string; drop: () => Promise<void> };
  let sql: Client;
  let svc: ServiceProcess;
  const names = uniqueName('dh_legacy');
  const dlq = `${names}.dead-letter`;
  const policy = `${names}-dead-letter`;
  const arrived = new Map<string, number>();
  let maxRss = 0;
  let sampler: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    await builtService();
    db = await createTestDatabase('dh_legacy');
    sql = new Client({ connectionString: db.url });
    await sql.connect();
    pub = await Publisher.connect();
    conn = await amqp.connect(AMQP_URL);
    conn.on('error', () => undefined);
    ch = await conn.createConfirmChannel();
    ch.on('error', () => undefined);
    // As every version before this one left them: plain durable queues.
    await ch.assertExchange(names, 'topic', { durable: true });
    await ch.assertQueue(names, { durable: true });
    await ch.bindQueue(names, names, 'nailgun');
    await ch.assertQueue(dlq, { durable: true });
    await ch.consume(dlq, (m) => {
      if (!m) return;
      arrived.set(String(m.properties.headers?.['x-case']), Date.now());
      ch.ack(m);
    });
    svc = await ServiceProcess.start({ databaseUrl: db.url, exchange: names, queue: names, name: 'service (legacy queue)' });
    sampler = setInterval(() => {
      if (svc.exit === null) maxRss = Math.max(maxRss, rssMb(svc.child.pid!));
    }, 20);
  }, 120_000);

  afterAll(async () => {
    if (sampler) clearInterval(sampler);
    await svc?.stop().catch(() => undefined);
    await killAllServices();
    removeBuiltService();
    await rabbitmqctl('clear_policy', policy).catch(() => undefined);
    await ch?.close().catch(() => undefined);
    await conn?.close().catch(() => undefined);
    await pub?.remove([names, dlq, `${names}.observer`], [names, `${names}.dead-letter`]).catch(() => undefined);
    await pub?.close();
    await sql?.end().catch(() => undefined);
    await db?.drop().catch(() => undefined);
  });

  const publish = (body: Buffer, headers: Record<string, unknown>) => {
    ch.publish(names, 'nailgun', body, { contentType: 'application/json', headers });
    return ch.waitForConfirms();
  };
  const runStatus = async (uuid: string) => (await sql.query('SELECT status FROM transactions WHERE uuid = $1', [uuid])).rows[0]?.status as string | undefined;
  /** The warning's text (logs are JSON lines). */
  const policyLines = () => svc.problems().filter((l) => l.includes('set_policy')).map((l) => String(JSON.parse(l).msg));

  it("starts on it as it is, says once how to add a dead-letter exchange with a policy, and dead-letters the issue's message within a second", async () => {
    expect(await queueArguments(names)).not.toContain('x-dead-letter-exchange');
    expect(policyLines()).toHaveLength(1);
    expect(policyLines()[0]).toContain(`rabbitmqctl set_policy --apply-to queues '${policy}' '^${names}$' '{"dead-letter-exchange":"${names}.dead-letter"}'`);
    const sent = Date.now();
    await publish(ISSUE_BODY, issueHeaders('legacy-issue'));
    const at = await waitFor(() => arrived.get('legacy-issue'), 'the message in the dead-letter queue', 10_000);
    await queueSettled(names);
    expect(at - sent).toBeLessThan(1000);
  });

  it('holds a message whose copy is refused and tries again with back-off, never requeued; gives up after 6 attempts; records the next valid cast meanwhile', async () => {
    const mark = svc.mark();
    await makeRefusing(ch, dlq);
    const sent = Date.now();
    await publish(ISSUE_BODY, issueHeaders('legacy-held'));
    await publish(json(start('legacy-next', { id: 74, name: 'legacy', release: 'mitaka-9.0' }, { '1': [{ id: 'a', type: 'puppet' }] })), {});
    await waitFor(() => runStatus('legacy-next'), 'the next valid cast to be recorded while the poison is held', 10_000);
    // Held: unacked, not back in the queue (a requeue would show as ready, then be redelivered at once).
    const held = await queueCounts(names);
    expect(held).toEqual({ ready: 0, unacked: 1, consumers: 1 });
    await waitFor(async () => (await metric(svc, 'dh_dead_letter_rejected_total{to="policy_or_nowhere"}')) === 1, 'the message to be given up', 40_000);
    const gaveUpAfter = Date.now() - sent;
    await queueSettled(names);
    expect(await metric(svc, 'dh_dead_letter_copy_failures_total')).toBe(6);
    const problems = svc.problems(mark);
    expect(problems.filter((l) => /gave up a message .* after 6 failed copies .* dropped unless a policy/.test(l))).toHaveLength(1);
    const lines = svc.output().slice(mark).split('\n').filter(Boolean);
    console.log(`legacy queue, refused copies: held, given up after ${gaveUpAfter} ms; ${lines.length} log lines; max RSS ${maxRss.toFixed(0)} MB`);
    // 0.5 + 1 + 2 + 4 + 8 s of back-off between the 6 attempts.
    expect(gaveUpAfter).toBeGreaterThanOrEqual(15_000);
    expect(lines.length).toBeLessThan(10);
    expect(maxRss).toBeLessThan(300);
  });

  it('with the policy the warning gives, a message given up is moved by the broker to the dead-letter exchange', async () => {
    // The command exactly as the warning gives it, run by a shell.
    const command = /(rabbitmqctl set_policy .*)$/.exec(policyLines()[0])![1];
    await promisify(execFile)('sh', ['-c', command], { timeout: 60_000 });
    const observer = `${names}.observer`;
    await ch.assertQueue(observer, { durable: false });
    await ch.bindQueue(observer, `${names}.dead-letter`, '');
    const moved: amqp.ConsumeMessage[] = [];
    await ch.consume(observer, (m) => {
      if (!m) return;
      moved.push(m);
      ch.ack(m);
    });
    await publish(ISSUE_BODY, issueHeaders('legacy-policy'));
    const [m] = await waitFor(() => moved.length > 0 && moved, 'the message moved by the broker', 40_000);
    expect(m.properties.headers?.['x-case']).toBe('legacy-policy');
    expect(m.properties.headers?.['x-death']).toEqual([expect.objectContaining({ reason: 'rejected', queue: names })]);
    await queueSettled(names);
  });
});
