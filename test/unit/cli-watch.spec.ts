import { Writable } from 'node:stream';
import { ApiClient, Query } from '../../src/cli/client';
import { CliError } from '../../src/cli/errors';
import { Row } from '../../src/cli/output';
import { byNodeThenTask } from '../../src/cli/rows';
import { watchHistory, WatchOptions } from '../../src/cli/watch';
import { compareNodes } from '../../src/common/node-order';

/**
 * `task history show --watch` against a stand-in client: the rows come in the API's node order
 * (src/common/node-order.ts), the stream's events end, resume and stop the watch as they say, and a
 * service without the stream is polled.
 */

type Event = { type: string; id?: string; data: unknown };

const run = (status: string, message: string | null = null) => ({ id: 7, cluster: 1, name: 'deployment', status, progress: 50, message });
const row = (node_id: string | null, task_name: string, time_start: string | null = null, status = 'ready'): Row => ({
  node_id,
  task_name,
  time_start,
  time_end: null,
  status,
  summary: { s: 1 },
});

/** A client whose stream plays `connections` in turn (one list of events per connection). */
function streamingApi(first: ReturnType<typeof run>, connections: Event[][]) {
  const resumedFrom: Array<string | undefined> = [];
  const api = {
    get: (path: string) => {
      expect(path).toBe('transactions/7');
      return Promise.resolve(first);
    },
    events: async function* (path: string, lastId?: string): AsyncGenerator<Event> {
      expect(path).toBe('transactions/7/deployment_history/stream');
      resumedFrom.push(lastId);
      await Promise.resolve();
      for (const e of connections.shift() ?? []) yield e;
    },
  };
  return { api: api as unknown as ApiClient, resumedFrom };
}

function options(): WatchOptions & { text: () => string; errors: () => string } {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, done) {
        add(chunk.toString());
        done();
      },
    });
  return {
    intervalMs: 1,
    tty: false,
    color: false,
    render: (rows) => rows.map((r) => `${(r.node_id as string | null) ?? 'null'}/${String(r.task_name)}`).join(' ') + '\n',
    out: sink((s) => (out += s)),
    err: sink((s) => (err += s)),
    text: () => out,
    errors: () => err,
  };
}

const flush = (o: ReturnType<typeof options>) => new Promise((r) => setImmediate(r)).then(() => o);

describe('dhist --watch', () => {
  const rows = [
    row('11', 'hiera'),
    row('2', 'netconfig', '2026-03-01T00:00:02Z'),
    row('master', 'upload'),
    row(null, 'cluster_task'),
    row('2', 'globals', '2026-03-01T00:00:01Z'),
    row('10', 'hiera'),
  ];

  it('lists the streamed rows in the API node order (cluster, master, nodes by number), then by start time', async () => {
    const { api } = streamingApi(run('running'), [
      [
        // Many rows come in several events, only the last with an id.
        { type: 'rows', data: rows.slice(0, 3) },
        { type: 'rows', id: '1', data: rows.slice(3) },
        { type: 'end', id: '2', data: run('ready') },
      ],
    ]);
    const o = options();
    await expect(watchHistory(api, 7, {}, (r) => r, o)).resolves.toBe(0);
    expect((await flush(o)).text()).toBe('null/cluster_task master/upload 2/globals 2/netconfig 10/hiera 11/hiera\n');
    expect(o.errors()).toContain('transaction 7 ended ready');
  });

  it('applies the filters to the streamed rows and keeps the summary only when asked', async () => {
    const { api } = streamingApi(run('running'), [
      [
        { type: 'rows', id: '1', data: rows.map((r) => ({ ...r })) },
        { type: 'end', id: '2', data: run('error', 'boom') },
      ],
    ]);
    const o = options();
    const seen: Row[] = [];
    const query: Query = { nodes: ['null', '2'] };
    await expect(watchHistory(api, 7, query, (r) => (seen.push(...r), r), o)).resolves.toBe(3);
    expect((await flush(o)).text()).toBe('null/cluster_task 2/globals 2/netconfig\n');
    expect(seen.every((r) => !('summary' in r))).toBe(true);
    expect(o.errors()).toContain('transaction 7 ended with error: boom');
  });

  it('resumes from the last event id after the service shuts the stream down', async () => {
    const { api, resumedFrom } = streamingApi(run('running'), [
      [
        { type: 'rows', id: '5', data: [row('1', 'a')] },
        { type: 'shutdown', data: { retry_ms: 1 } },
      ],
      [{ type: 'end', id: '6', data: run('stopped') }],
    ]);
    const o = options();
    await expect(watchHistory(api, 7, {}, (r) => r, o)).resolves.toBe(3);
    expect(resumedFrom).toEqual([undefined, '5']);
    expect((await flush(o)).text()).toBe('1/a\n');
  });

  it('a run deleted while watched is an error, not a retry', async () => {
    const { api, resumedFrom } = streamingApi(run('running'), [[{ type: 'deleted', id: '3', data: null }], []]);
    const o = options();
    await expect(watchHistory(api, 7, {}, (r) => r, o)).rejects.toThrow(new CliError('transaction 7 was deleted while it was watched'));
    expect(resumedFrom).toHaveLength(1);
  });

  it('polls a service without the stream until the run ends', async () => {
    const states = [run('running'), run('running'), run('ready')];
    const api = {
      get: (path: string) => Promise.resolve(path === 'transactions/7' ? states.shift() : [row(null, 'c'), row('master', 'm')]),
      // eslint-disable-next-line require-yield -- a service without the route answers before any event
      events: async function* (): AsyncGenerator<Event> {
        await Promise.resolve();
        throw new CliError('Cannot GET /api/v1/transactions/7/deployment_history/stream', 1, 404);
      },
    } as unknown as ApiClient;
    const o = options();
    await expect(watchHistory(api, 7, {}, (r) => r, o)).resolves.toBe(0);
    expect(states).toHaveLength(0);
    expect((await flush(o)).text()).toBe('null/c master/m\n');
    expect(o.errors()).toBe('watching transaction 7 (running, 50%) until it ends...\ntransaction 7 ended ready\n');
  });
  it('on a terminal, redraws in place: the header and the rows, the cursor moved up over the last drawing', async () => {
    // The first answer is the stream's (which the service does not have), then the polls'.
    const states = [run('running'), run('running'), run('ready')];
    const api = {
      get: (path: string) =>
        Promise.resolve(path === 'transactions/7' ? states.shift() : [row('master', 'm'), row('1', 'a', null, 'running')]),
      // eslint-disable-next-line require-yield -- a service without the route answers before any event
      events: async function* (): AsyncGenerator<Event> {
        await Promise.resolve();
        throw new CliError('Cannot GET /api/v1/transactions/7/deployment_history/stream', 1, 404);
      },
    } as unknown as ApiClient;
    // 200 columns: the header (some 85 characters) takes one line; at 80 it would wrap and count two.
    const o = { ...options(), tty: true };
    Object.assign(o.out, { columns: 200 });
    await expect(watchHistory(api, 7, {}, (r) => r, o)).resolves.toBe(0);
    const drawings = (await flush(o)).text().split('\u001b[2A\u001b[0J');
    expect(drawings).toHaveLength(2);
    for (const d of drawings)
      expect(d).toMatch(/^transaction 7 \(deployment, cluster 1\): (running|ready) 50%, 1 of 2 tasks finished \[.+Z\]\nmaster\/m 1\/a\n$/);
    expect(o.errors()).toBe('');
  });
});

describe('dhist row order (task diff, history summary)', () => {
  it('orders nodes as compareNodes does, then tasks by name', () => {
    const ids = ['11', null, '2', 'master', '10', '1'];
    const listed = ids.flatMap((n) => [row(n, 'b'), row(n, 'a')]).sort(byNodeThenTask);
    expect(listed.map((r) => r.node_id)).toEqual(ids.flatMap((n) => [n, n]).sort(compareNodes));
    expect(listed.slice(0, 4).map((r) => `${String(r.node_id)}/${String(r.task_name)}`)).toEqual([
      'null/a',
      'null/b',
      'master/a',
      'master/b',
    ]);
  });
});
