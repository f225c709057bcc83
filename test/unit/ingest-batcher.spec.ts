import { Logger } from '@nestjs/common';
import type { AppConfig } from '../../src/common/config/app-config';
import { StoreHealth } from '../../src/common/database/store-health';
import { NotFoundError } from '../../src/common/errors/domain-errors';
import { Metrics } from '../../src/common/metrics/metrics.service';
import type { HistoryWriter } from '../../src/history/history-writer.service';
import type { CommandOutcome, StoreCommand } from '../../src/history/store-commands';
import { HttpCastBatcher } from '../../src/receiver/http-batcher';
import { IngestBatcher, IngestEntry, IngestSource, Rejected } from '../../src/receiver/ingest-batcher';
import { ReceiverStats } from '../../src/receiver/receiver-stats';

/**
 * The one ingest batcher: bus deliveries and HTTP requests wait together and share database
 * transactions, each keeping its own rules (a delivery of an unknown run is its source's to settle; a
 * request naming one is refused alone; a store failure holds deliveries until the database answers,
 * requests for their bound). The writer and the database are fakes; the bus source is a recording fake
 * (CastBatcher's own rules are tested in cast-batcher.spec.ts).
 */

const cmd = (uuid: string) => ({ kind: 'report', uuid, tasks: [] }) as unknown as StoreCommand;
const uuidOf = (c: StoreCommand) => (c as { uuid: string }).uuid;
const applied = (): CommandOutcome => ({ outcome: 'applied', transactionId: 1, historyRecorded: true, tasks: 0, runStatus: 'running' });
const refusedConnection = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', syscall: 'connect' });

/** A bus as IngestBatcher sees it: records what happens to its deliveries. */
class FakeBus implements IngestSource {
  readonly eager = true;
  readonly outcomes = new Map<string, string>();
  readonly events: string[] = [];
  committed(entries: IngestEntry[], outcomes: CommandOutcome[][]): Promise<void> {
    entries.forEach((e, i) => this.outcomes.set(uuidOf(e.commands[0]), outcomes[i][0].outcome));
    return Promise.resolve();
  }
  refused(): void {
    this.events.push('refused');
  }
  storeFailed(): Promise<void> {
    this.events.push('paused');
    return Promise.resolve();
  }
  giveUp(entry: IngestEntry): void {
    this.events.push(`given up ${uuidOf(entry.commands[0])}`);
  }
  failedAlone(): Promise<'retry' | 'done'> {
    return Promise.resolve('done');
  }
  storeBack(): Promise<void> {
    this.events.push('resumed');
    return Promise.resolve();
  }
  push(ingest: IngestBatcher, uuid: string): void {
    ingest.push({ commands: [cmd(uuid)], source: this, atomic: false, waitUntil: Infinity });
  }
}

function harness(opts: { commitMs?: number } = {}) {
  const store = { up: true };
  const calls: string[][] = [];
  // As HistoryWriter.apply: unknown runs (`nowhere*`) are refused only when onReject says so.
  const writer = {
    apply: (commands: StoreCommand[], onReject?: (r: Rejected) => Error | null) => {
      const uuids = commands.map(uuidOf);
      calls.push(uuids);
      return new Promise<CommandOutcome[]>((resolve, reject) =>
        (opts.commitMs ? (f: () => void) => setTimeout(f, opts.commitMs) : setImmediate)(() => {
          if (!store.up) return reject(refusedConnection());
          const outcomes = uuids.map((u): CommandOutcome =>
            u.startsWith('nowhere') ? { outcome: 'unknown_transaction', reason: `unknown ${u}` } : applied(),
          );
          const rejected = outcomes.flatMap((o, index) => (o.outcome === 'unknown_transaction' ? [{ index, reason: o.reason }] : []));
          const refused = rejected.length && onReject ? onReject(rejected) : null;
          if (refused) return reject(refused);
          resolve(outcomes);
        }),
      );
    },
  } as unknown as HistoryWriter;
  const config = { batchMaxSize: 100, batchMaxWaitMs: 20, storeRetryMaxMs: 50 } as AppConfig;
  const db = { query: () => (store.up ? Promise.resolve([]) : Promise.reject(refusedConnection())) };
  const health = new StoreHealth(db as never, config, new Metrics());
  const ingest = new IngestBatcher(config, writer, health);
  const http = new HttpCastBatcher(ingest, health, new ReceiverStats());
  const bus = new FakeBus();
  const post = (...uuids: string[]) =>
    http.apply(uuids.map(cmd), (r) => new NotFoundError(r.map((x) => `casts[${x.index}]: ${x.reason}`).join('; ')));
  return { ingest, http, bus, store, calls, health, post };
}

const settled = <T>(p: Promise<T>) =>
  p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );

async function waitFor(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

beforeAll(() => Logger.overrideLogger(false));

describe('IngestBatcher (bus and HTTP together)', () => {
  it('bus deliveries and HTTP requests of one window share one transaction, each with its own outcomes', async () => {
    const h = harness();
    h.bus.push(h.ingest, 'bus-1');
    const a = h.post('http-a1', 'http-a2');
    h.bus.push(h.ingest, 'bus-2');
    const b = h.post('http-b');
    const [ra, rb] = await Promise.all([a, b]);
    expect(h.calls).toEqual([['bus-1', 'http-a1', 'http-a2', 'bus-2', 'http-b']]);
    expect(ra).toHaveLength(2);
    expect(rb).toHaveLength(1);
    await waitFor(() => h.bus.outcomes.size === 2, 'the deliveries settled');
    expect(Object.fromEntries(h.bus.outcomes)).toEqual({ 'bus-1': 'applied', 'bus-2': 'applied' });
  });

  it('a request naming an unknown run gets its 404 alone; a delivery of an unknown run is its source’s to settle, not a refusal', async () => {
    const h = harness();
    h.bus.push(h.ingest, 'nowhere-bus');
    const bad = settled(h.post('http-ok', 'nowhere-http'));
    const good = settled(h.post('http-good'));
    h.bus.push(h.ingest, 'bus-ok');
    const [rbad, rgood] = await Promise.all([bad, good]);
    expect(rbad.ok).toBe(false);
    expect(!rbad.ok && rbad.e).toBeInstanceOf(NotFoundError);
    expect(!rbad.ok && (rbad.e as Error).message).toMatch(/^casts\[1\]: unknown nowhere-http$/);
    expect(rgood.ok).toBe(true);
    // Written again without the refused request; the bus's unknown run is an outcome, not a reason to roll back.
    expect(h.calls).toEqual([
      ['nowhere-bus', 'http-ok', 'nowhere-http', 'http-good', 'bus-ok'],
      ['nowhere-bus', 'http-good', 'bus-ok'],
    ]);
    await waitFor(() => h.bus.outcomes.size === 2, 'the deliveries settled');
    expect(Object.fromEntries(h.bus.outcomes)).toEqual({ 'nowhere-bus': 'unknown_transaction', 'bus-ok': 'applied' });
    expect(h.bus.events).not.toContain('refused');
  });

  it('closed-loop clients that came in staggered end up in one transaction together, not in alternating halves', async () => {
    // As ARA's way of sending (bench --http-clients 8): each client posts one cast and waits for its
    // answer before the next. Three start first and five join once the first batch is written; with
    // "go when as many wait as the last batch answered", the groups stayed split (~4 a transaction).
    // The service reads requests one at a time (~1 ms of CPU each here), so the answered clients'
    // next requests come in spread out, and while a transaction commits (a few ms).
    const h = harness({ commitMs: 4 });
    const perClient = 40;
    let next = 0;
    const client = async (c: number) => {
      for (let i = 0; i < perClient; i++) {
        await h.post(`c${c}-${next++}`);
        await new Promise((r) => setTimeout(r, 1 + (c % 4)));
      }
    };
    const first = [0, 1, 2].map(client);
    await waitFor(() => h.calls.length >= 1, 'the first batch written');
    const all = [...first, ...[3, 4, 5, 6, 7].map(client)];
    await Promise.all(all);
    const sizes = h.calls.map((c) => c.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(8 * perClient);
    // Once all eight are in, the transactions hold all eight (the last few hold the stragglers).
    const steady = sizes.slice(5, -5);
    expect(steady.length).toBeGreaterThan(10);
    expect(steady.reduce((a, b) => a + b, 0) / steady.length).toBeGreaterThanOrEqual(7); // the former rule: 4.8 here
  });

  it('a store failure: the request gets its 503 after its bound, the delivery is held until the database answers, then written once', async () => {
    const h = harness();
    h.http.limits.storeWaitMs = 100;
    h.store.up = false;
    h.bus.push(h.ingest, 'bus-held');
    const request = settled(h.post('http-held'));
    const r = await request;
    expect(r.ok).toBe(false);
    expect(!r.ok && (r.e as Error).message).toMatch(/ECONNREFUSED/);
    expect(h.bus.events).toContain('paused');
    expect(h.bus.outcomes.size).toBe(0);
    h.store.up = true;
    await waitFor(() => h.bus.outcomes.size === 1, 'the held delivery written');
    expect(Object.fromEntries(h.bus.outcomes)).toEqual({ 'bus-held': 'applied' });
    // The request's casts are never written once it was answered 503.
    expect(h.calls.at(-1)).toEqual(['bus-held']);
    expect(h.bus.events.at(-1)).toBe('resumed');
  });

  it('shutting down during an outage gives every held entry up (the bus: back to the queue; a request: its 503)', async () => {
    const h = harness();
    h.store.up = false;
    h.bus.push(h.ingest, 'bus-held');
    const request = settled(h.post('http-held'));
    await waitFor(() => h.bus.events.includes('paused'), 'the batch held');
    await h.ingest.onModuleDestroy();
    expect((await request).ok).toBe(false);
    expect(h.bus.events).toContain('given up bus-held');
    expect(h.bus.outcomes.size).toBe(0);
  });
});
