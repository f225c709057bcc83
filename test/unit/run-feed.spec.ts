import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import { Subject } from 'rxjs';
import type { TransactionDto } from '../../src/history/dto/transaction.dto';
import type { RowJson } from '../../src/history/persistence/history-rows.sql';
import { FeedSource, RunFeed } from '../../src/history/run-feed';

/**
 * RunFeed with a run held in memory and responses that read only when told to: the pages and their
 * ids, one query per change for any number of clients, the same bytes for all, and a slow client's
 * missed changes sent once each when it reads again.
 */

/** A response whose client reads only on `read()`; like Node's, it asks for a drain past 16 KB. */
class FakeResponse extends EventEmitter {
  readonly chunks: Buffer[] = [];
  pending = 0;
  needDrain = false;
  writableFinished = false;
  destroyed = false;

  get writableLength(): number {
    return this.pending;
  }
  get writableNeedDrain(): boolean {
    return this.needDrain;
  }
  write(b: Buffer): boolean {
    this.chunks.push(b);
    this.pending += b.length;
    if (this.pending >= 16_384) this.needDrain = true;
    return !this.needDrain;
  }
  end(b?: Buffer): void {
    if (b) this.write(b);
    this.writableFinished = true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
  /** The client reads all that waits. */
  read(): void {
    this.pending = 0;
    if (this.needDrain) {
      this.needDrain = false;
      this.emit('drain');
    }
  }
  events(): Array<{ type: string; id?: string; data: any }> {
    return Buffer.concat(this.chunks)
      .toString()
      .split('\n\n')
      .filter(Boolean)
      .map((block) => {
        const e: { type: string; id?: string; data: any } = { type: '', data: undefined };
        for (const line of block.split('\n')) {
          const [k, v] = [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)];
          if (k === 'event') e.type = v;
          if (k === 'id') e.id = v;
          if (k === 'data') e.data = JSON.parse(v);
        }
        return e;
      });
  }
  /** Every row received, the later over the earlier. */
  rows(): Map<string, string> {
    const rows = new Map<string, string>();
    for (const e of this.events()) if (e.type === 'rows') for (const r of e.data) rows.set(r.task_name, r.status);
    return rows;
  }
}

/** A run of `n` rows, changed by `set`; counts the reads. */
function memoryRun(n: number) {
  let version = 0;
  const rows = Array.from({ length: n }, (_, i) => ({ id: String(i + 1), name: `t${i}`, status: 'pending', version: ++version }));
  const state = { status: 'running', reads: 0, deleted: false };
  const changes = new Subject<number>();
  const source: FeedSource = {
    rowsAbove: async (v) => {
      state.reads++;
      return rows
        .filter((r) => r.version > Number(v))
        .map((r): RowJson => ({ id: r.id, version: String(r.version), json: JSON.stringify({ task_name: r.name, status: r.status }) }));
    },
    // Deleted: the run is gone (rows too), as the source reads it after DELETE /transactions/:id.
    run: async () => (state.deleted ? null : ({ id: 1, status: state.status } as unknown as TransactionDto)),
    changes,
  };
  const set = (names: string[], status: string, runStatus?: string, notify = true) => {
    for (const r of rows) if (names.includes(r.name)) Object.assign(r, { status, version: ++version });
    if (runStatus) state.status = runStatus;
    if (notify) changes.next(1);
  };
  /** `commit` runs right after the source's next read returns, before the read that follows it. */
  const commitAfterNextRead = (commit: () => void) => {
    const rowsAbove = source.rowsAbove.bind(source);
    const run = source.run.bind(source);
    const once = () => {
      source.rowsAbove = rowsAbove;
      source.run = run;
      commit();
    };
    source.rowsAbove = async (v) => rowsAbove(v).finally(once);
    source.run = async () => run().finally(once);
  };
  const remove = () => {
    state.deleted = true;
    rows.length = 0;
    changes.next(1);
  };
  return { source, state, set, commitAfterNextRead, notify: () => changes.next(1), remove, rows, version: () => String(version) };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 3000; !check(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('RunFeed', () => {
  const feeds: RunFeed[] = [];
  const open = async (run: ReturnType<typeof memoryRun>, opts = { maxBufferBytes: 65_536, pageRows: 100 }) => {
    const feed = new RunFeed(1, run.source, opts, { empty: () => undefined, disposed: () => undefined });
    feeds.push(feed);
    await feed.ready;
    return feed;
  };
  const client = (feed: RunFeed, since = 0n) => {
    const res = new FakeResponse();
    feed.add(res as unknown as Response, since, () => undefined);
    return res;
  };
  afterEach(() => feeds.splice(0).forEach((f) => f.dispose()));

  it('ends a stream only after the rows of the run as it ended, when the end commits between the feed’s two reads', async () => {
    // Seen in CI (cli.e2e-spec, --watch): the end of a run committed after a read of its rows and before
    // the read of the run, whose notification came later: the stream ended with rows older than the run.
    const run = memoryRun(3);
    const feed = await open(run);
    const c = client(feed);
    run.commitAfterNextRead(() => run.set(['t1', 't2'], 'error', 'error', false));
    run.notify();
    await until(() => c.rows().get('t1') === 'error' || c.events().some((e) => e.type === 'end'), 'the read around the commit');
    // The end's own notification, late.
    run.notify();
    await until(() => c.events().some((e) => e.type === 'end'), 'the end');
    expect([...c.rows()]).toEqual([
      ['t0', 'pending'],
      ['t1', 'error'],
      ['t2', 'error'],
    ]);
    expect(c.events().at(-1)).toEqual(expect.objectContaining({ type: 'end', data: expect.objectContaining({ status: 'error' }) }));
  });

  it('sends the first rows in pages, the id on the last only, then the run; resuming sends only what came after', async () => {
    const run = memoryRun(250);
    const feed = await open(run);
    const c = client(feed);
    for (let i = 0; i < 5; i++) c.read();
    const events = c.events();
    expect(events.map((e) => [e.type, e.id, e.data.length])).toEqual([
      ['rows', undefined, 100],
      ['rows', undefined, 100],
      ['rows', '250', 50],
      ['transaction', undefined, undefined],
    ]);
    expect(c.rows().size).toBe(250);

    const resumed = client(feed, 240n);
    expect(resumed.events().map((e) => [e.type, e.id, e.data.length])).toEqual([
      ['rows', '250', 10],
      ['transaction', undefined, undefined],
    ]);
  });

  it('reads each change once for all its clients and writes them the same bytes', async () => {
    const run = memoryRun(10);
    const feed = await open(run);
    const clients = Array.from({ length: 50 }, () => client(feed));
    const reads = run.state.reads;
    run.set(['t3'], 'running');
    await until(() => clients.every((c) => c.rows().get('t3') === 'running'), 'the change at every client');
    expect(run.state.reads).toBe(reads + 1);
    const last = clients.map((c) => c.chunks[c.chunks.length - 1]);
    expect(new Set(last).size).toBe(1);
    expect(clients[0].events().pop()).toMatchObject({ type: 'rows', id: run.version(), data: [{ task_name: 't3', status: 'running' }] });
  });

  it("holds a slow client's changes within the bound, then sends each changed row once, as it is now", async () => {
    const run = memoryRun(1000);
    const feed = await open(run, { maxBufferBytes: 20_000, pageRows: 100 });
    const slow = client(feed);
    // It reads its first rows, then nothing while rows change many times.
    await until(() => (slow.read(), slow.events().some((e) => e.type === 'transaction')), 'the first rows');
    for (let round = 0; round < 10; round++) {
      const before = run.state.reads;
      run.set(
        Array.from({ length: 100 }, (_, i) => `t${(round * 70 + i) % 1000}`),
        round % 2 ? 'ready' : 'running',
      );
      await until(() => run.state.reads > before, `change ${round} to be read`);
      // What waits for it is bounded: the bound, and one event over it at most.
      expect(slow.writableLength).toBeLessThanOrEqual(20_000 + 6_000);
    }
    expect(slow.needDrain).toBe(true);
    const written = slow.chunks.length;
    // It reads again: every row as it is now, each changed row once, and the latest id.
    await until(() => (slow.read(), slow.events().pop()!.id === run.version()), 'the catch-up');
    expect(slow.rows()).toEqual(new Map(run.rows.map((r) => [r.name, r.status])));
    const names = [
      ...Buffer.concat(slow.chunks.slice(written))
        .toString()
        .matchAll(/"task_name":"(t\d+)"/g),
    ].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  });

  it('ends every client with the run, a client behind once it has caught up', async () => {
    const run = memoryRun(500);
    const feed = await open(run, { maxBufferBytes: 16_384, pageRows: 100 });
    const live = client(feed);
    const behind = client(feed);
    await until(() => (live.read(), live.events().some((e) => e.type === 'transaction')), 'the first rows');
    run.set(['t1', 't2'], 'ready', 'ready');
    await until(() => (live.read(), live.writableFinished), 'the live client to end');
    expect(live.events().pop()).toMatchObject({ type: 'end', data: { status: 'ready' } });
    expect(behind.writableFinished).toBe(false);
    await until(() => (behind.read(), behind.writableFinished), 'the client behind to end');
    expect(behind.events().pop()).toMatchObject({ type: 'end' });
    expect(behind.rows().get('t1')).toBe('ready');
    expect(feed.clients).toBe(0);
  });

  it('tells every client, live or behind, that the run was deleted, ends them and stops', async () => {
    const run = memoryRun(500);
    const disposed: RunFeed[] = [];
    const feed = new RunFeed(
      1,
      run.source,
      { maxBufferBytes: 16_384, pageRows: 100 },
      { empty: () => undefined, disposed: (f) => disposed.push(f) },
    );
    feeds.push(feed);
    await feed.ready;
    const live = client(feed);
    const behind = client(feed);
    await until(() => (live.read(), live.events().some((e) => e.type === 'transaction')), 'the first rows');
    const reads = run.state.reads;
    run.remove();
    await until(() => live.writableFinished && behind.writableFinished, 'both clients to end');
    for (const c of [live, behind]) {
      c.read();
      expect(c.events().pop()).toEqual({ type: 'deleted', data: { id: 1, message: 'Transaction 1 was deleted' } });
      expect(c.events().some((e) => e.type === 'end')).toBe(false);
    }
    expect(feed.clients).toBe(0);
    expect(feed.disposed).toBe(true);
    expect(disposed).toEqual([feed]);
    // Stopped: no more reads, whatever else is announced.
    run.set(['t1'], 'ready');
    await new Promise((r) => setImmediate(r));
    expect(run.state.reads).toBe(reads + 1);
  });

  it('a run already gone when the feed loads: ready rejects with Not Found (the stream is then a 404)', async () => {
    const run = memoryRun(3);
    run.remove();
    const feed = new RunFeed(
      1,
      run.source,
      { maxBufferBytes: 16_384, pageRows: 100 },
      { empty: () => undefined, disposed: () => undefined },
    );
    feeds.push(feed);
    await expect(feed.ready).rejects.toMatchObject({ name: 'NotFoundError', message: 'Transaction not found' });
    expect(feed.disposed).toBe(true);
  });
});
