import { Logger } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import type { AppConfig } from '../../src/common/config/app-config';
import { StoreHealth } from '../../src/common/database/store-health';
import { NotFoundError } from '../../src/common/errors/domain-errors';
import { Metrics } from '../../src/common/metrics/metrics.service';
import type { HistoryWriter } from '../../src/history/history-writer.service';
import type { CommandOutcome, StoreCommand } from '../../src/history/store-commands';
import { HttpCastBatcher, IngestBusyError } from '../../src/receiver/http-batcher';
import { IngestBatcher } from '../../src/receiver/ingest-batcher';
import { ReceiverStats } from '../../src/receiver/receiver-stats';

/**
 * Unit tests of the HTTP batcher: requests share a writer call and keep their own answers; a request
 * naming an unknown run, or refused for its content, fails alone; a store failure is waited out
 * (bounded), never a request's fault; the queue is capped. The writer and the database are fakes.
 */

type Rejected = Array<{ index: number; reason: string }>;
type Work = (uuids: string[]) => CommandOutcome[];

/** A report command about `uuid` (the writer here only reads the uuid). */
const cmd = (uuid: string) => ({ kind: 'report', uuid, tasks: [] }) as unknown as StoreCommand;
const uuidOf = (c: StoreCommand) => (c as { uuid: string }).uuid;
const applied = (): CommandOutcome => ({ outcome: 'applied', transactionId: 1, historyRecorded: true, tasks: 0, runStatus: 'running' });
/** Every run known but those named `nowhere*`; a uuid `bad*` makes PostgreSQL refuse the batch (class 22). */
const writerWork: Work = (uuids) => {
  if (uuids.some((u) => u.startsWith('bad'))) {
    throw new QueryFailedError('INSERT', [], Object.assign(new Error('value out of range'), { code: '22003' }));
  }
  return uuids.map((u) => (u.startsWith('nowhere') ? { outcome: 'unknown_transaction', reason: `unknown ${u}` } : applied()));
};
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' });

function harness(opts: { storeUp?: boolean } = {}) {
  const store = { up: opts.storeUp ?? true };
  const calls: string[][] = [];
  const writer = {
    apply: (commands: StoreCommand[], onReject: (r: Rejected) => Error) => {
      const uuids = commands.map(uuidOf);
      calls.push(uuids);
      return new Promise<CommandOutcome[]>((resolve, reject) =>
        setImmediate(() => {
          if (!store.up) return reject(refused());
          try {
            const outcomes = writerWork(uuids);
            const rejected = outcomes.flatMap((o, index) => (o.outcome === 'unknown_transaction' ? [{ index, reason: o.reason }] : []));
            if (rejected.length) return reject(onReject(rejected));
            resolve(outcomes);
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        }),
      );
    },
  } as unknown as HistoryWriter;
  const config = { batchMaxSize: 100, batchMaxWaitMs: 20, storeRetryMaxMs: 100 } as AppConfig;
  const db = { query: () => (store.up ? Promise.resolve([]) : Promise.reject(refused())) };
  const health = new StoreHealth(db as never, config, new Metrics());
  const stats = new ReceiverStats();
  const batcher = new HttpCastBatcher(new IngestBatcher(config, writer, health), health, stats);
  /** One request: its casts' uuids; its 404 names its own indexes. */
  const post = (...uuids: string[]) =>
    batcher.apply(uuids.map(cmd), (r) => new NotFoundError(r.map((x) => `casts[${x.index}]: ${x.reason}`).join('; ')));
  return { batcher, store, calls, health, stats, post };
}

const settled = <T>(p: Promise<T>) =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );

beforeAll(() => Logger.overrideLogger(false));

describe('HttpCastBatcher', () => {
  it('requests of one window share one transaction; each gets its own outcomes', async () => {
    const h = harness();
    const got = await Promise.all([h.post('a1'), h.post('b1', 'b2'), h.post('c1')]);
    expect(h.calls).toEqual([['a1', 'b1', 'b2', 'c1']]);
    expect(got.map((o) => o.length)).toEqual([1, 2, 1]);
    expect(h.stats.httpBatches).toBe(1);
  });

  it('a request naming an unknown run gets its own 404 (its own indexes); the batch is written again without it', async () => {
    const h = harness();
    const [a, b, c] = await Promise.all([settled(h.post('a1')), settled(h.post('b1', 'nowhere-b')), settled(h.post('c1'))]);
    expect(a.ok && c.ok).toBe(true);
    expect(b).toEqual({ ok: false, e: expect.any(NotFoundError) });
    expect((b as { e: Error }).e.message).toBe('casts[1]: unknown nowhere-b');
    expect(h.calls).toEqual([
      ['a1', 'b1', 'nowhere-b', 'c1'],
      ['a1', 'c1'],
    ]);
  });

  it('a request PostgreSQL refuses for its content fails alone: the others are written each in its own transaction', async () => {
    const h = harness();
    const [a, b, c] = await Promise.all([settled(h.post('a1')), settled(h.post('bad-b')), settled(h.post('c1'))]);
    expect(a.ok && c.ok).toBe(true);
    expect(b).toEqual({ ok: false, e: expect.any(QueryFailedError) });
    expect(h.calls).toEqual([['a1', 'bad-b', 'c1'], ['a1'], ['bad-b'], ['c1']]);
  });

  it('a store failure is waited out: the same batch is written again once the database answers', async () => {
    const h = harness();
    h.store.up = false;
    const both = Promise.all([h.post('a1'), h.post('b1')]);
    while (h.health.available) await new Promise((r) => setTimeout(r, 5));
    h.store.up = true;
    expect((await both).map((o) => o.length)).toEqual([1, 1]);
    expect(h.calls.at(-1)).toEqual(['a1', 'b1']);
    expect(h.calls.every((c) => c.join() === 'a1,b1')).toBe(true);
    expect(h.stats.batchRetries).toBeGreaterThan(0);
  });

  it('a store failure longer than the bound: the store error (a 503), nothing written', async () => {
    const h = harness();
    h.batcher.limits.storeWaitMs = 200;
    h.store.up = false;
    const r = await settled(h.post('a1'));
    expect(r).toEqual({ ok: false, e: expect.objectContaining({ code: 'ECONNREFUSED' }) });
  });

  it('while the database is known away a request is not held: its store error comes at once', async () => {
    const h = harness();
    h.store.up = false;
    h.health.markDown(refused());
    const r = await settled(h.post('a1'));
    expect(r).toEqual({ ok: false, e: expect.objectContaining({ code: 'ECONNREFUSED' }) });
    expect(h.calls).toEqual([['a1']]);
  });

  it('while a batch is held for the database, a new request gets the store error at once', async () => {
    const h = harness();
    h.store.up = false;
    const held = h.post('a1');
    while (h.health.available) await new Promise((r) => setTimeout(r, 5));
    expect(() => h.post('b1')).toThrow(/ECONNREFUSED/);
    h.store.up = true;
    await expect(held).resolves.toHaveLength(1);
    expect(h.calls.flat()).not.toContain('b1');
  });

  it('caps the requests and the casts waiting: past them, IngestBusyError (503 with Retry-After)', async () => {
    const h = harness();
    h.batcher.limits.requests = 2;
    h.batcher.limits.casts = 3;
    const first = [h.post('a1'), h.post('b1')];
    expect(() => h.post('c1')).toThrow(IngestBusyError);
    await Promise.all(first);
    const one = h.post('a1', 'a2');
    expect(() => h.post('b1', 'b2')).toThrow(/casts are waiting/);
    await one;
    // A lone request larger than the cap still goes (it always went in one transaction).
    await expect(h.post('x1', 'x2', 'x3', 'x4')).resolves.toHaveLength(4);
  });
});
