import type { Response } from 'supertest';
import { finish, resp, SMALL_GRAPH, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { ClusterRegistry } from '../../src/clusters/cluster-registry';

/**
 * Cross-run history: GET /clusters/:id/deployment_history/ and GET /clusters/:id/nodes/:node_id/deployment_history/,
 * their filters, keyset pagination (Link: rel="next"), CSV, and the per-run list's optional paging.
 * Real app, real PostgreSQL, real migrations.
 */

interface Row {
  task_name: string;
  node_id: string | null;
  status: string;
  type: string | null;
  time_start: string | null;
  time_end: string | null;
  error_message: string | null;
  closed_reason: string | null;
  transaction_id: number;
  transaction_uuid: string;
  transaction_name: string;
  epoch: number;
}

/** One row of the hand-built data set of cluster 21: what the casts below make of it. */
interface ModelRow {
  uuid: string;
  node: string | null;
  task: string;
  status: string;
  ts: string;
  te: string | null;
  name: string;
  dry: boolean;
}

const RELEASE = 'mitaka-9.0';
const TYPES: Record<string, string> = {
  netconfig: 'puppet',
  hiera: 'puppet',
  upload_configuration: 'upload_file',
  post_deployment_start: 'stage',
};

const at = (day: string, hm: string) => `2026-01-${day}T${hm}:00.000Z`;

/** Cluster 21: three runs, every row reported with an explicit time (all sort times distinct). */
const MODEL: ModelRow[] = [
  // c21-a: a real deployment that failed on node 2.
  {
    uuid: 'c21-a',
    node: null,
    task: 'post_deployment_start',
    status: 'ready',
    ts: at('01', '10:00'),
    te: at('01', '10:00'),
    name: 'deployment',
    dry: false,
  },
  {
    uuid: 'c21-a',
    node: 'master',
    task: 'upload_configuration',
    status: 'ready',
    ts: at('01', '10:01'),
    te: at('01', '10:01'),
    name: 'deployment',
    dry: false,
  },
  {
    uuid: 'c21-a',
    node: '1',
    task: 'netconfig',
    status: 'ready',
    ts: at('01', '10:02'),
    te: at('01', '10:03'),
    name: 'deployment',
    dry: false,
  },
  {
    uuid: 'c21-a',
    node: '1',
    task: 'hiera',
    status: 'ready',
    ts: at('01', '10:04'),
    te: at('01', '10:04'),
    name: 'deployment',
    dry: false,
  },
  {
    uuid: 'c21-a',
    node: '2',
    task: 'netconfig',
    status: 'error',
    ts: at('01', '10:05'),
    te: at('01', '10:05'),
    name: 'deployment',
    dry: false,
  },
  // c21-b: a dry run, all ready.
  {
    uuid: 'c21-b',
    node: null,
    task: 'post_deployment_start',
    status: 'ready',
    ts: at('02', '10:00'),
    te: at('02', '10:00'),
    name: 'deployment',
    dry: true,
  },
  {
    uuid: 'c21-b',
    node: 'master',
    task: 'upload_configuration',
    status: 'ready',
    ts: at('02', '10:01'),
    te: at('02', '10:01'),
    name: 'deployment',
    dry: true,
  },
  {
    uuid: 'c21-b',
    node: '1',
    task: 'netconfig',
    status: 'ready',
    ts: at('02', '10:02'),
    te: at('02', '10:02'),
    name: 'deployment',
    dry: true,
  },
  { uuid: 'c21-b', node: '1', task: 'hiera', status: 'ready', ts: at('02', '10:03'), te: at('02', '10:03'), name: 'deployment', dry: true },
  {
    uuid: 'c21-b',
    node: '2',
    task: 'netconfig',
    status: 'ready',
    ts: at('02', '10:04'),
    te: at('02', '10:04'),
    name: 'deployment',
    dry: true,
  },
  // c21-c: a 'provision' run still in progress.
  {
    uuid: 'c21-c',
    node: null,
    task: 'post_deployment_start',
    status: 'ready',
    ts: at('03', '10:00'),
    te: at('03', '10:00'),
    name: 'provision',
    dry: false,
  },
  {
    uuid: 'c21-c',
    node: 'master',
    task: 'upload_configuration',
    status: 'ready',
    ts: at('03', '10:01'),
    te: at('03', '10:01'),
    name: 'provision',
    dry: false,
  },
  { uuid: 'c21-c', node: '1', task: 'netconfig', status: 'running', ts: at('03', '10:02'), te: null, name: 'provision', dry: false },
  { uuid: 'c21-c', node: '1', task: 'hiera', status: 'ready', ts: at('03', '10:03'), te: at('03', '10:03'), name: 'provision', dry: false },
  {
    uuid: 'c21-c',
    node: '2',
    task: 'netconfig',
    status: 'error',
    ts: at('03', '10:04'),
    te: at('03', '10:04'),
    name: 'provision',
    dry: false,
  },
];

const keyOf = (r: { transaction_uuid: string; node_id: string | null; task_name: string }) =>
  `${r.transaction_uuid}|${r.node_id}|${r.task_name}`;
const modelKey = (m: ModelRow) => `${m.uuid}|${m.node}|${m.task}`;
/** The model rows chosen by `pick`, newest first (the default order). */
const expectKeys = (pick: (m: ModelRow) => boolean = () => true) =>
  MODEL.filter(pick)
    .sort((a, b) => b.ts.localeCompare(a.ts))
    .map(modelKey);

/** The target of a `Link: <...>; rel="next"` header, undefined when there is none; fails on a malformed one. */
function nextLink(res: Response): string | undefined {
  const link = res.headers['link'] as string | undefined;
  if (link === undefined) return undefined;
  const m = /^<([^>]+)>; rel="next"$/.exec(link);
  if (!m) throw new Error(`malformed Link header: ${link}`);
  return m[1];
}

describe('cross-run history (clusters/:id/deployment_history, clusters/:id/nodes/:node_id/deployment_history)', () => {
  let t: TestApp;
  const txIds: Record<string, number> = {};
  const BULK = 30;
  const BULK_OTHER = 31;
  const BULK_ROWS = 5000;

  const get = (path: string, accept?: string) => {
    const r = t.http().get(path);
    return accept ? r.set('Accept', accept) : r;
  };
  const list = async (path: string): Promise<Row[]> => (await get(path).expect(200)).body;
  const keys = async (path: string) => (await list(path)).map(keyOf);

  /** Follows the Link headers verbatim from `first` to the last page. */
  async function walk(first: string, accept?: string): Promise<{ rows: Row[]; sizes: number[]; links: number; pages: Response[] }> {
    const rows: Row[] = [];
    const sizes: number[] = [];
    const pages: Response[] = [];
    let links = 0;
    let url: string | undefined = first;
    for (let i = 0; url !== undefined; i++) {
      if (i > 200) throw new Error(`more than 200 pages walking ${first}: the Link header never stops`);
      const res = await get(url, accept).expect(200);
      pages.push(res);
      if (!accept) {
        expect(Array.isArray(res.body)).toBe(true);
        rows.push(...res.body);
        sizes.push(res.body.length);
      }
      url = nextLink(res);
      if (url !== undefined) links++;
    }
    return { rows, sizes, links, pages };
  }

  async function cast(body: object): Promise<Array<{ transaction_id?: number; task_uuid: string; outcome: string }>> {
    const res = await t.http().post('/api/v1/casts').send(body);
    if (res.status !== 200) throw new Error(`POST /casts answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** Starts a run of cluster `cluster` and reports every row of MODEL-shaped data for it. */
  async function run(
    uuid: string,
    cluster: { id: number; name?: string; release: string },
    rows: ModelRow[],
    extra: Record<string, unknown>,
    end?: { status: 'ready' | 'error'; time: string },
  ) {
    const reports = rows.flatMap((r) =>
      r.status === 'ready' && r.ts !== r.te
        ? [task(r.node, r.task, 'running', { time: r.ts }), task(r.node, r.task, 'ready', { time: r.te })]
        : [
            task(r.node, r.task, r.status, {
              time: r.ts,
              ...(r.status === 'error' ? { error_msg: `Task ${r.task} failed on node ${r.node}` } : {}),
            }),
          ],
    );
    const out = await cast([
      start(uuid, cluster, SMALL_GRAPH, { time: rows[0].ts, ...extra }),
      resp(uuid, reports),
      ...(end ? [finish(uuid, end.status, { time: end.time })] : []),
    ]);
    txIds[uuid] = out[0].transaction_id!;
  }

  beforeAll(async () => {
    t = await startApp();
    const c21 = { id: 21, name: 'east', release: RELEASE };
    const rowsOf = (uuid: string) => MODEL.filter((m) => m.uuid === uuid);
    await run('c21-a', c21, rowsOf('c21-a'), {}, { status: 'error', time: at('01', '10:06') });
    await run('c21-b', c21, rowsOf('c21-b'), { dry_run: true }, { status: 'ready', time: at('02', '10:05') });
    await run('c21-c', c21, rowsOf('c21-c'), { name: 'provision' });
    // Another cluster, same nodes and task names, times interleaved with cluster 21's.
    const other = rowsOf('c21-b').map((m, i) => ({ ...m, uuid: 'c22-a', ts: at('02', `12:0${i}`), te: at('02', `12:0${i}`) }));
    await run('c22-a', { id: 22, name: 'west', release: RELEASE }, other, {}, { status: 'ready', time: at('02', '12:09') });
    // A pre-9.0 cluster.
    await cast(start('c23-a', { id: 23, name: 'legacy', release: 'liberty-8.0' }, SMALL_GRAPH));

    // The 5,000-row history of cluster 30 (5 runs × 1,000 rows), inserted behind the API's back, in
    // random id order, with big groups of identical sort times (21 distinct start times, some only a
    // microsecond apart; 625 pending rows sharing one created_at). Cluster 31 shares those times.
    await t.sql.query(
      `INSERT INTO clusters (id, name, release) VALUES (${BULK}, 'bulk', '${RELEASE}'), (${BULK_OTHER}, 'bulk-other', '${RELEASE}')`,
    );
    await t.sql.query(
      `INSERT INTO transactions (uuid, cluster_id, name, dry_run, status, progress, history_recorded, release, time_start)
       SELECT 'bulk-' || n, ${BULK}, CASE WHEN n % 2 = 0 THEN 'deployment' ELSE 'provision' END, false, 'ready'::transaction_status, 100, true, '${RELEASE}',
              timestamptz '2026-03-01T00:00:00Z' + n * interval '1 hour'
       FROM generate_series(1, 5) n
       UNION ALL SELECT 'other-1', ${BULK_OTHER}, 'deployment', false, 'ready'::transaction_status, 100, true, '${RELEASE}', timestamptz '2026-03-01T00:00:00Z'`,
    );
    await t.sql.query(
      `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, task_type, status, time_start, time_end)
       SELECT tx.id, tx.cluster_id,
              CASE WHEN i % 100 = 0 THEN NULL WHEN i % 100 = 1 THEN 'master' ELSE ((i % 40) + 1)::text END,
              'task-' || i, 'puppet',
              (CASE WHEN i % 8 = 0 THEN 'skipped' WHEN i % 4 = 0 THEN 'pending' ELSE 'ready' END)::history_status,
              CASE WHEN i % 4 = 0 THEN NULL
                   ELSE timestamptz '2026-03-01T00:00:00Z' + (i % 3) * interval '1 second' + (i % 7) * interval '1 microsecond' END,
              CASE WHEN i % 8 = 0 THEN timestamptz '2026-03-01T00:00:01Z'
                   WHEN i % 4 = 0 THEN NULL
                   ELSE timestamptz '2026-03-01T00:00:05Z' END
       FROM transactions tx CROSS JOIN generate_series(1, 1000) i
       WHERE tx.cluster_id IN (${BULK}, ${BULK_OTHER}) AND (tx.cluster_id = ${BULK} OR i <= 300)
       ORDER BY random()`,
    );
  });
  afterAll(() => t?.close());

  /** Cluster 30's rows as the database orders them: (sort_time, id), newest first unless `asc`. */
  async function dbOrder(where = '', asc = false): Promise<string[]> {
    const dir = asc ? 'ASC' : 'DESC';
    const res = await t.sql.query(
      `SELECT t.uuid AS transaction_uuid, h.node_id, h.task_name FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE h.cluster_id = ${BULK} ${where} ORDER BY h.sort_time ${dir}, h.id ${dir}`,
    );
    return res.rows.map(keyOf);
  }

  describe('the cluster list', () => {
    it("lists every row of every run of the cluster, newest first, each with its run; never another cluster's", async () => {
      const rows = await list('/api/v1/clusters/21/deployment_history/');
      expect(rows.map(keyOf)).toEqual(expectKeys());
      for (const r of rows) {
        expect(r.transaction_id).toBe(txIds[r.transaction_uuid]);
        expect(r.transaction_uuid).toMatch(/^c21-/);
        expect(r.epoch).toBe(1);
      }
      expect(rows.find((r) => keyOf(r) === 'c21-c|1|netconfig')!.transaction_name).toBe('provision');
      expect(rows.find((r) => keyOf(r) === 'c21-b|1|netconfig')!.transaction_name).toBe('deployment');
      const failed = rows.find((r) => keyOf(r) === 'c21-a|2|netconfig');
      expect(failed).toEqual({
        task_name: 'netconfig',
        node_id: '2',
        status: 'error',
        type: 'puppet',
        time_start: '2026-01-01T10:05:00.000Z',
        time_end: '2026-01-01T10:05:00.000Z',
        error_message: 'Task netconfig failed on node 2',
        closed_reason: null,
        transaction_id: txIds['c21-a'],
        transaction_uuid: 'c21-a',
        transaction_name: 'deployment',
        epoch: 1,
      });
      // Every field matches what was reported.
      for (const m of MODEL) {
        const r = rows.find((x) => keyOf(x) === modelKey(m))!;
        expect({ status: r.status, type: r.type, time_start: r.time_start, time_end: r.time_end }).toEqual({
          status: m.status,
          type: TYPES[m.task],
          time_start: m.ts,
          time_end: m.te,
        });
      }
      // The other cluster sees only its own run.
      const other = await list('/api/v1/clusters/22/deployment_history');
      expect(other).toHaveLength(5);
      expect(new Set(other.map((r) => r.transaction_uuid))).toEqual(new Set(['c22-a']));
    });

    it('is served under /api/ too, with or without trailing slash', async () => {
      for (const p of [
        '/api/clusters/21/deployment_history',
        '/api/clusters/21/deployment_history/',
        '/api/v1/clusters/21/deployment_history',
      ]) {
        expect(await keys(p)).toEqual(expectKeys());
      }
    });

    it('order=time_start lists oldest first; -time_start is the default', async () => {
      expect(await keys('/api/v1/clusters/21/deployment_history?order=time_start')).toEqual(expectKeys().reverse());
      expect(await keys('/api/v1/clusters/21/deployment_history?order=-time_start')).toEqual(expectKeys());
    });

    it('filters by nodes, including null (cluster-level) and master', async () => {
      const base = '/api/v1/clusters/21/deployment_history';
      expect(await keys(`${base}?nodes=1`)).toEqual(expectKeys((m) => m.node === '1'));
      expect(await keys(`${base}?nodes=null`)).toEqual(expectKeys((m) => m.node === null));
      expect(await keys(`${base}?nodes=master`)).toEqual(expectKeys((m) => m.node === 'master'));
      expect(await keys(`${base}?nodes=null,master`)).toEqual(expectKeys((m) => m.node === null || m.node === 'master'));
      expect(await keys(`${base}?nodes=2&nodes=master`)).toEqual(expectKeys((m) => m.node === '2' || m.node === 'master'));
      expect(await keys(`${base}?nodes=7`)).toEqual([]);
    });

    it('filters by statuses, tasks_names and transaction_types', async () => {
      const base = '/api/v1/clusters/21/deployment_history';
      expect(await keys(`${base}?statuses=error`)).toEqual(expectKeys((m) => m.status === 'error'));
      expect(await keys(`${base}?statuses=running,error`)).toEqual(expectKeys((m) => m.status === 'running' || m.status === 'error'));
      expect(await keys(`${base}?tasks_names=hiera`)).toEqual(expectKeys((m) => m.task === 'hiera'));
      expect(await keys(`${base}?tasks_names=hiera,upload_configuration`)).toEqual(
        expectKeys((m) => m.task === 'hiera' || m.task === 'upload_configuration'),
      );
      expect(await keys(`${base}?transaction_types=provision`)).toEqual(expectKeys((m) => m.name === 'provision'));
      expect(await keys(`${base}?transaction_types=deployment`)).toEqual(expectKeys((m) => m.name === 'deployment'));
      expect(await keys(`${base}?transaction_types=provision,deployment`)).toEqual(expectKeys());
      expect(await keys(`${base}?nodes=1&statuses=ready&transaction_types=deployment&tasks_names=netconfig`)).toEqual(
        expectKeys((m) => m.node === '1' && m.status === 'ready' && m.name === 'deployment' && m.task === 'netconfig'),
      );
      // An empty value means no filter.
      expect(await keys(`${base}?nodes=&statuses=&tasks_names=&transaction_types=`)).toEqual(expectKeys());
    });

    it('filters by dry_run (true/false, 1/0)', async () => {
      const base = '/api/v1/clusters/21/deployment_history';
      expect(await keys(`${base}?dry_run=true`)).toEqual(expectKeys((m) => m.dry));
      expect(await keys(`${base}?dry_run=1`)).toEqual(expectKeys((m) => m.dry));
      expect(await keys(`${base}?dry_run=false`)).toEqual(expectKeys((m) => !m.dry));
      expect(await keys(`${base}?dry_run=0&statuses=error`)).toEqual(expectKeys((m) => !m.dry && m.status === 'error'));
    });

    it('filters by since (inclusive) and until (exclusive), ISO 8601 with any zone', async () => {
      const base = '/api/v1/clusters/21/deployment_history';
      expect(await keys(`${base}?since=2026-01-02T00:00:00Z`)).toEqual(expectKeys((m) => m.ts >= '2026-01-02'));
      expect(await keys(`${base}?until=2026-01-02T00:00:00Z`)).toEqual(expectKeys((m) => m.ts < '2026-01-02'));
      expect(await keys(`${base}?since=2026-01-01T10:02:00Z&until=2026-01-01T10:04:00Z`)).toEqual(['c21-a|1|netconfig']);
      expect(await keys(`${base}?since=2026-01-01T10:02:00.000Z&until=2026-01-01T10:04:00.001Z`)).toEqual([
        'c21-a|1|hiera',
        'c21-a|1|netconfig',
      ]);
      // 11:00 at +01:00 is 10:00 UTC.
      expect(await keys(`${base}?since=2026-01-03T11:00:00%2B01:00&until=2026-01-03T11:02:00%2B01:00`)).toEqual([
        'c21-c|master|upload_configuration',
        'c21-c|null|post_deployment_start',
      ]);
      expect(await keys(`${base}?since=2026-01-02&until=2026-01-03`)).toEqual(expectKeys((m) => m.uuid === 'c21-b'));
      expect(await keys(`${base}?since=2030-01-01T00:00:00Z`)).toEqual([]);
    });

    it('400 for since >= until, and for a since/until that is not ISO 8601, naming the parameter', async () => {
      const base = '/api/v1/clusters/21/deployment_history';
      const equal = await get(`${base}?since=2026-01-02T00:00:00Z&until=2026-01-02T00:00:00Z`).expect(400);
      expect(equal.body.message).toMatch(/since.*until/);
      const after = await get(`${base}?since=2026-01-03T00:00:00Z&until=2026-01-02T00:00:00Z`).expect(400);
      expect(after.body.message).toMatch(/since.*until/);
      // Same instant, other zones: still not before.
      await get(`${base}?since=2026-01-02T01:00:00%2B01:00&until=2026-01-02T00:00:00Z`).expect(400);
      expect((await get(`${base}?since=yesterday`).expect(400)).body.message).toMatch(/since/);
      expect((await get(`${base}?until=2026-13-01T00:00:00Z`).expect(400)).body.message).toMatch(/until/);
      expect((await get(`${base}?until=12345`).expect(400)).body.message).toMatch(/until/);
      expect((await get(`/api/v1/clusters/21/nodes/1/deployment_history?since=banana`).expect(400)).body.message).toMatch(/since/);
    });

    it('400 for dry_run, epoch, order, statuses values that are not allowed, naming the parameter', async () => {
      const base = '/api/v1/clusters/21/deployment_history';
      expect((await get(`${base}?dry_run=banana`).expect(400)).body.message).toMatch(/dry_run/);
      expect((await get(`${base}?epoch=banana`).expect(400)).body.message).toMatch(/epoch/);
      expect((await get(`${base}?epoch=1`).expect(400)).body.message).toMatch(/epoch/);
      expect((await get(`${base}?order=task_name`).expect(400)).body.message).toMatch(/order/);
      expect((await get(`${base}?order=-time_end`).expect(400)).body.message).toMatch(/order/);
      expect((await get(`${base}?statuses=done`).expect(400)).body.message).toMatch(/[Ss]tatuses/);
      expect((await get(`/api/v1/clusters/21/nodes/1/deployment_history?dry_run=banana`).expect(400)).body.message).toMatch(/dry_run/);
      expect((await get(`/api/v1/clusters/21/nodes/1/deployment_history?order=name`).expect(400)).body.message).toMatch(/order/);
    });
  });

  describe('one node across runs', () => {
    const node = (n: string, q = '') => keys(`/api/v1/clusters/21/nodes/${n}/deployment_history/${q}`);

    it('a numeric node: only its rows, from every run', async () => {
      const rows = await list('/api/v1/clusters/21/nodes/1/deployment_history');
      expect(rows.map(keyOf)).toEqual(expectKeys((m) => m.node === '1'));
      expect(new Set(rows.map((r) => r.transaction_id))).toEqual(new Set([txIds['c21-a'], txIds['c21-b'], txIds['c21-c']]));
      expect(await node('2')).toEqual(expectKeys((m) => m.node === '2'));
    });

    it("node 'master' and node 'null' (cluster-level rows)", async () => {
      expect(await node('master')).toEqual(expectKeys((m) => m.node === 'master'));
      const cl = await list('/api/v1/clusters/21/nodes/null/deployment_history');
      expect(cl.map(keyOf)).toEqual(expectKeys((m) => m.node === null));
      expect(cl.every((r) => r.node_id === null)).toBe(true);
      // Under /api/ and without trailing slash too.
      expect(await keys('/api/clusters/21/nodes/master/deployment_history')).toEqual(expectKeys((m) => m.node === 'master'));
    });

    it('a node with no rows gives [] and no Link', async () => {
      const res = await get('/api/v1/clusters/21/nodes/7/deployment_history').expect(200);
      expect(res.body).toEqual([]);
      expect(res.headers['link']).toBeUndefined();
    });

    it('takes the same filters', async () => {
      expect(await node('2', '?statuses=error')).toEqual(expectKeys((m) => m.node === '2' && m.status === 'error'));
      expect(await node('1', '?tasks_names=hiera')).toEqual(expectKeys((m) => m.node === '1' && m.task === 'hiera'));
      expect(await node('1', '?dry_run=true')).toEqual(expectKeys((m) => m.node === '1' && m.dry));
      expect(await node('1', '?transaction_types=provision')).toEqual(expectKeys((m) => m.node === '1' && m.name === 'provision'));
      expect(await node('master', '?since=2026-01-02T00:00:00Z&until=2026-01-03T00:00:00Z')).toEqual(['c21-b|master|upload_configuration']);
      expect(await node('null', '?order=time_start')).toEqual(expectKeys((m) => m.node === null).reverse());
      expect(await node('1', '?epoch=current')).toEqual(expectKeys((m) => m.node === '1'));
      // The route's node and a nodes filter both apply.
      expect(await node('1', '?nodes=1,2')).toEqual(expectKeys((m) => m.node === '1'));
      expect(await node('1', '?nodes=2')).toEqual([]);
    });

    it('walks the pages of one node of the 5,000-row history, in order, every row once', async () => {
      const { rows, sizes } = await walk(`/api/v1/clusters/${BULK}/nodes/2/deployment_history?limit=17`);
      const expected = await dbOrder(`AND h.node_id = '2'`);
      expect(expected.length).toBeGreaterThan(17 * 3);
      expect(rows.map(keyOf)).toEqual(expected);
      expect(sizes.slice(0, -1).every((n) => n === 17)).toBe(true);
      const cl = await walk(`/api/v1/clusters/${BULK}/nodes/null/deployment_history?limit=7&order=time_start`);
      expect(cl.rows.map(keyOf)).toEqual(await dbOrder('AND h.node_id IS NULL', true));
    });
  });

  describe('epochs and reset', () => {
    it('after a reset, earlier runs are listed by default and with epoch=all, not with epoch=current', async () => {
      const c = { id: 24, name: 'resettable', release: RELEASE };
      const graph = { '1': [{ id: 'netconfig', type: 'puppet' }], null: [{ id: 'post_deployment_start', type: 'stage' }] };
      /** A run of the cluster on February `day`: both its tasks ready, a minute apart. */
      const runOn = (uuid: string, day: string) =>
        cast([
          start(uuid, c, graph, { time: `2026-02-${day}T10:00:00Z` }),
          resp(uuid, [
            task('1', 'netconfig', 'ready', { time: `2026-02-${day}T10:01:00Z` }),
            task(null, 'post_deployment_start', 'ready', { time: `2026-02-${day}T10:02:00Z` }),
          ]),
          finish(uuid, 'ready', { time: `2026-02-${day}T10:03:00Z` }),
        ]);
      await runOn('c24-a', '01');
      const before = await list('/api/v1/clusters/24/deployment_history?epoch=current');
      expect(before.map((r) => r.transaction_uuid)).toEqual(['c24-a', 'c24-a']);

      const reset = await t.http().post('/api/v1/clusters/24/reset').expect(200);
      expect(reset.body).toMatchObject({ previous_epoch: 1, epoch: 2 });
      await runOn('c24-b', '02');

      const all = await list('/api/v1/clusters/24/deployment_history');
      expect(all.map((r) => [r.transaction_uuid, r.node_id, r.epoch])).toEqual([
        ['c24-b', null, 2],
        ['c24-b', '1', 2],
        ['c24-a', null, 1],
        ['c24-a', '1', 1],
      ]);
      expect(await list('/api/v1/clusters/24/deployment_history?epoch=all')).toEqual(all);
      const current = await list('/api/v1/clusters/24/deployment_history?epoch=current');
      expect(current.map((r) => [r.transaction_uuid, r.node_id, r.epoch])).toEqual([
        ['c24-b', null, 2],
        ['c24-b', '1', 2],
      ]);
      // The node route too.
      expect((await list('/api/v1/clusters/24/nodes/1/deployment_history?epoch=current')).map((r) => r.transaction_uuid)).toEqual([
        'c24-b',
      ]);
      expect((await list('/api/v1/clusters/24/nodes/1/deployment_history?epoch=all')).map((r) => r.transaction_uuid)).toEqual([
        'c24-b',
        'c24-a',
      ]);
      expect((await list('/api/v1/clusters/24/nodes/null/deployment_history')).map((r) => r.epoch)).toEqual([2, 1]);
      // Right after another reset, the current epoch has no rows at all.
      await t.http().post('/api/v1/clusters/24/reset').expect(200);
      const empty = await get('/api/v1/clusters/24/deployment_history?epoch=current').expect(200);
      expect(empty.body).toEqual([]);
      expect(empty.headers['link']).toBeUndefined();
      expect(await list('/api/v1/clusters/24/deployment_history?epoch=all')).toHaveLength(4);
    });
  });

  describe('pagination', () => {
    const base = '/api/v1/clusters/21/deployment_history';

    it('pages with Link: rel="next" while more rows exist, none on the last page; following it verbatim gives every row once', async () => {
      const first = await get(`${base}?limit=4`).expect(200);
      expect(first.body.map(keyOf)).toEqual(expectKeys().slice(0, 4));
      const link = nextLink(first);
      expect(link).toBeDefined();
      expect(link).toMatch(/^\/api\/v1\/clusters\/21\/deployment_history\?/);
      expect(link).toMatch(/[?&]limit=4(&|$)/);
      expect(link).toMatch(/[?&]cursor=[^&]+/);

      const { rows, sizes, links } = await walk(`${base}?limit=4`);
      expect(sizes).toEqual([4, 4, 4, 3]);
      expect(links).toBe(3);
      expect(rows.map(keyOf)).toEqual(expectKeys());

      const asc = await walk(`${base}?order=time_start&limit=4`);
      expect(asc.rows.map(keyOf)).toEqual(expectKeys().reverse());
      expect(asc.sizes).toEqual([4, 4, 4, 3]);
    });

    it('is stable while new runs arrive between pages (keyset, not offset): every original row once', async () => {
      const c = { id: 26, name: 'busy', release: RELEASE };
      const graph = { '1': Array.from({ length: 6 }, (_, i) => ({ id: `task-${i}`, type: 'puppet' })) };
      const report = (uuid: string, hour: string) =>
        resp(
          uuid,
          graph['1'].map((x, i) => task('1', x.id, 'ready', { time: `2026-04-01T${hour}:0${i}:00Z` })),
        );
      await cast([
        start('c26-a', c, graph, { time: '2026-04-01T10:00:00Z' }),
        report('c26-a', '10'),
        finish('c26-a', 'ready', { time: '2026-04-01T10:59:00Z' }),
      ]);
      const first = await get('/api/v1/clusters/26/deployment_history?limit=2').expect(200);
      expect(first.body.map((r: Row) => r.task_name)).toEqual(['task-5', 'task-4']);
      // A newer run lands before the next page is asked for.
      await cast([start('c26-b', c, graph, { time: '2026-04-01T11:00:00Z' }), report('c26-b', '11')]);
      const rest = await walk(nextLink(first)!);
      expect(rest.rows.map((r) => `${r.transaction_uuid}|${r.task_name}`)).toEqual([
        'c26-a|task-3',
        'c26-a|task-2',
        'c26-a|task-1',
        'c26-a|task-0',
      ]);
      // A fresh walk sees both runs.
      expect((await walk('/api/v1/clusters/26/deployment_history?limit=5')).rows).toHaveLength(12);
    });

    it('keeps the filters across pages (the Link carries them)', async () => {
      const { rows, sizes } = await walk(`${base}?limit=2&nodes=1,null&statuses=ready`);
      expect(rows.map(keyOf)).toEqual(expectKeys((m) => (m.node === '1' || m.node === null) && m.status === 'ready'));
      expect(sizes).toEqual([2, 2, 2, 2]);
      const since = await walk(`${base}?limit=3&since=2026-01-01T10:01:00Z&until=2026-01-03T10:03:00%2B00:00&dry_run=false`);
      expect(since.rows.map(keyOf)).toEqual(expectKeys((m) => !m.dry && m.ts >= at('01', '10:01') && m.ts < at('03', '10:03')));
      // Through the /api/ alias, the Link still leads to the next page.
      const alias = await walk('/api/clusters/21/deployment_history/?limit=6');
      expect(alias.rows.map(keyOf)).toEqual(expectKeys());
      expect(alias.sizes).toEqual([6, 6, 3]);
    });

    it('an exactly full last page has no Link', async () => {
      const { sizes, links, rows, pages } = await walk(`${base}?limit=5`);
      expect(sizes).toEqual([5, 5, 5]);
      expect(links).toBe(2);
      expect(pages[2].headers['link']).toBeUndefined();
      expect(rows.map(keyOf)).toEqual(expectKeys());
      const one = await get(`${base}?limit=15`).expect(200);
      expect(one.body).toHaveLength(15);
      expect(one.headers['link']).toBeUndefined();
      const node = await walk('/api/v1/clusters/21/nodes/1/deployment_history?limit=3');
      expect(node.sizes).toEqual([3, 3]);
      expect(node.links).toBe(1);
    });

    it('an empty result is [] with no Link (no rows matched; a cluster with no runs)', async () => {
      const none = await get(`${base}?statuses=skipped`).expect(200);
      expect(none.body).toEqual([]);
      expect(none.headers['link']).toBeUndefined();
      await t.http().put('/api/v1/clusters/25').send({ name: 'empty', release: RELEASE }).expect(201);
      const empty = await get('/api/v1/clusters/25/deployment_history?limit=1').expect(200);
      expect(empty.body).toEqual([]);
      expect(empty.headers['link']).toBeUndefined();
      const emptyNode = await get('/api/v1/clusters/25/nodes/master/deployment_history').expect(200);
      expect(emptyNode.body).toEqual([]);
      expect(emptyNode.headers['link']).toBeUndefined();
    });

    it('default limit is 100, max 1000; 0, 1001, -1, 1.5 and abc are 400', async () => {
      const res = await get(`/api/v1/clusters/${BULK}/deployment_history`).expect(200);
      expect(res.body).toHaveLength(100);
      expect(nextLink(res)).toBeDefined();
      expect(res.body.map(keyOf)).toEqual((await dbOrder()).slice(0, 100));
      const max = await get(`/api/v1/clusters/${BULK}/deployment_history?limit=1000`).expect(200);
      expect(max.body).toHaveLength(1000);
      expect(nextLink(max)).toBeDefined();
      const nodeDefault = await get(`/api/v1/clusters/${BULK}/nodes/master/deployment_history`).expect(200);
      expect(nodeDefault.body).toHaveLength(50);
      for (const bad of ['0', '1001', '-1', '1.5', 'abc']) {
        const r = await get(`${base}?limit=${bad}`).expect(400);
        expect(r.body.message).toMatch(/limit/);
        await get(`/api/v1/clusters/21/nodes/1/deployment_history?limit=${bad}`).expect(400);
      }
    });

    it('a cursor from a different query is refused with 400 and a clear message', async () => {
      const link = nextLink(await get(`${base}?limit=4`).expect(200))!;
      const cursor = new URL(link, 'http://x').searchParams.get('cursor')!;
      expect(cursor).toBeTruthy();
      // The cursor works where it came from...
      expect((await list(`${base}?limit=4&cursor=${encodeURIComponent(cursor)}`)).map(keyOf)).toEqual(expectKeys().slice(4, 8));
      // ...and nowhere else.
      const elsewhere = [
        `${base}?limit=4&statuses=ready&cursor=`,
        `${base}?limit=4&nodes=1&cursor=`,
        `${base}?limit=4&dry_run=false&cursor=`,
        `${base}?limit=4&since=2026-01-01T00:00:00Z&cursor=`,
        `${base}?limit=4&transaction_types=provision&cursor=`,
        `${base}?limit=4&order=time_start&cursor=`,
        `/api/v1/clusters/22/deployment_history?limit=4&cursor=`,
        `/api/v1/clusters/21/nodes/1/deployment_history?limit=4&cursor=`,
        `/api/v1/transactions/${txIds['c21-a']}/deployment_history?limit=4&cursor=`,
      ];
      for (const url of elsewhere) {
        const res = await get(url + encodeURIComponent(cursor));
        expect({ url, status: res.status }).toEqual({ url, status: 400 });
        expect(res.body.message).toMatch(/cursor/);
        expect(res.body.message).toMatch(/different query/);
      }
      // A node's cursor does not work on another node.
      const nodeLink = nextLink(await get('/api/v1/clusters/21/nodes/1/deployment_history?limit=2').expect(200))!;
      const nodeCursor = new URL(nodeLink, 'http://x').searchParams.get('cursor')!;
      expect(
        (await get(`/api/v1/clusters/21/nodes/2/deployment_history?limit=2&cursor=${encodeURIComponent(nodeCursor)}`).expect(400)).body
          .message,
      ).toMatch(/different query/);
    });

    it('a garbage or tampered cursor is a 400 naming the cursor, never a 500 or a database error', async () => {
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const link = nextLink(await get(`${base}?limit=4`).expect(200))!;
      const real = JSON.parse(Buffer.from(new URL(link, 'http://x').searchParams.get('cursor')!, 'base64url').toString('utf8')) as {
        k: string[];
        q: string;
      };
      const bad = [
        'garbage',
        'not a cursor!!',
        b64(null),
        b64({ k: [1, 2], q: real.q }),
        b64({ k: ['1'], q: real.q }),
        b64({ k: ['x', 'y'], q: real.q }),
        // A well-formed cursor of this very query whose key is out of range.
        b64({ k: ['99999999999999999999', '1'], q: real.q }),
        b64({ k: [real.k[0], '99999999999999999999'], q: real.q }),
        b64({ k: ['9223372036854775807', '1'], q: real.q }),
        'x'.repeat(600),
      ];
      const answers: Array<{ cursor: string; status: number; message: string }> = [];
      for (const c of bad) {
        const res = await get(`${base}?limit=4&cursor=${encodeURIComponent(c)}`);
        answers.push({ cursor: c, status: res.status, message: String(res.body.message) });
      }
      expect(answers).toEqual(bad.map((c) => ({ cursor: c, status: 400, message: expect.stringMatching(/cursor/) })));
    });
  });

  describe('the 5,000-row history', () => {
    it('has 5,000 rows with many identical sort times (setup check)', async () => {
      const stats = await t.sql.query(
        `SELECT count(*)::int AS n, count(DISTINCT sort_time)::int AS times, max(c)::int AS biggest
         FROM deployment_history h, LATERAL (SELECT count(*) AS c FROM deployment_history x WHERE x.cluster_id = h.cluster_id AND x.sort_time = h.sort_time) s
         WHERE h.cluster_id = ${BULK}`,
      );
      expect(stats.rows[0].n).toBe(BULK_ROWS);
      expect(stats.rows[0].times).toBeLessThan(30);
      expect(stats.rows[0].biggest).toBeGreaterThan(333);
    });

    it('walks every page with limit 333 (newest first) and gets every row exactly once, ties broken by id', async () => {
      const { rows, sizes, links } = await walk(`/api/v1/clusters/${BULK}/deployment_history/?limit=333`);
      expect(sizes).toEqual([...Array(15).fill(333), BULK_ROWS - 15 * 333]);
      expect(links).toBe(15);
      const got = rows.map(keyOf);
      expect(new Set(got).size).toBe(BULK_ROWS);
      const expected = await dbOrder();
      expect(new Set(got)).toEqual(new Set(expected));
      expect(got).toEqual(expected);
      expect(rows.every((r) => r.transaction_uuid.startsWith('bulk-'))).toBe(true);
    });

    it('walks every page with limit 1000 and order=time_start; the exactly full last page has no Link', async () => {
      const { rows, sizes, links, pages } = await walk(`/api/v1/clusters/${BULK}/deployment_history?limit=1000&order=time_start`);
      expect(sizes).toEqual([1000, 1000, 1000, 1000, 1000]);
      expect(links).toBe(4);
      expect(pages[4].headers['link']).toBeUndefined();
      const got = rows.map(keyOf);
      expect(new Set(got).size).toBe(BULK_ROWS);
      expect(got).toEqual(await dbOrder('', true));
    });

    it('walks a filtered history the same way (statuses=ready,skipped, limit 250)', async () => {
      const { rows } = await walk(`/api/v1/clusters/${BULK}/deployment_history?limit=250&statuses=ready,skipped`);
      expect(rows.map(keyOf)).toEqual(await dbOrder(`AND h.status IN ('ready', 'skipped')`));
    });
  });

  describe('the per-run list', () => {
    it("without limit/cursor/order stays the whole list, in Fuel's order, with no Link", async () => {
      const res = await get(`/api/v1/transactions/${txIds['c21-a']}/deployment_history`).expect(200);
      expect(res.body.map((r: Row) => [r.node_id, r.task_name])).toEqual([
        [null, 'post_deployment_start'],
        ['master', 'upload_configuration'],
        ['1', 'netconfig'],
        ['1', 'hiera'],
        ['2', 'netconfig'],
      ]);
      expect(res.headers['link']).toBeUndefined();
      // More rows than any page: still whole.
      const [{ id }] = (await t.sql.query(`SELECT id FROM transactions WHERE uuid = 'bulk-1'`)).rows;
      const big = await get(`/api/v1/transactions/${id}/deployment_history`).expect(200);
      expect(big.body).toHaveLength(1000);
      expect(big.headers['link']).toBeUndefined();
    });

    it('with limit: paged newest first with a Link header, following it verbatim gives the whole run once', async () => {
      const url = `/api/v1/transactions/${txIds['c21-a']}/deployment_history?limit=2`;
      const { rows, sizes, links } = await walk(url);
      expect(sizes).toEqual([2, 2, 1]);
      expect(links).toBe(2);
      expect(rows.map((r) => `c21-a|${r.node_id}|${r.task_name}`)).toEqual(expectKeys((m) => m.uuid === 'c21-a'));
      const first = await get(url).expect(200);
      expect(nextLink(first)).toMatch(new RegExp(`^/api/v1/transactions/${txIds['c21-a']}/deployment_history\\?.*cursor=`));
      const asc = await walk(`/api/v1/transactions/${txIds['c21-a']}/deployment_history?order=time_start&limit=3&nodes=1,2,master`);
      expect(asc.rows.map((r) => `c21-a|${r.node_id}|${r.task_name}`)).toEqual(
        expectKeys((m) => m.uuid === 'c21-a' && m.node !== null).reverse(),
      );
      expect(asc.sizes).toEqual([3, 1]);
      // Exactly full: no Link.
      const full = await get(`/api/v1/transactions/${txIds['c21-a']}/deployment_history?limit=5`).expect(200);
      expect(full.body).toHaveLength(5);
      expect(full.headers['link']).toBeUndefined();
      // A bulk run, 1000 rows, paged by 300.
      const [{ id }] = (await t.sql.query(`SELECT id FROM transactions WHERE uuid = 'bulk-2'`)).rows;
      const bulk = await walk(`/api/v1/transactions/${id}/deployment_history?limit=300`);
      expect(bulk.sizes).toEqual([300, 300, 300, 100]);
      expect(new Set(bulk.rows.map((r) => `${r.node_id}|${r.task_name}`)).size).toBe(1000);
    });

    it('a cursor of one run is refused on another; limit 0/1001 and a bad order are 400', async () => {
      const link = nextLink(await get(`/api/v1/transactions/${txIds['c21-a']}/deployment_history?limit=2`).expect(200))!;
      const cursor = new URL(link, 'http://x').searchParams.get('cursor')!;
      const res = await get(
        `/api/v1/transactions/${txIds['c21-b']}/deployment_history?limit=2&cursor=${encodeURIComponent(cursor)}`,
      ).expect(400);
      expect(res.body.message).toMatch(/different query/);
      await get(
        `/api/v1/transactions/${txIds['c21-a']}/deployment_history?limit=2&statuses=ready&cursor=${encodeURIComponent(cursor)}`,
      ).expect(400);
      expect((await get(`/api/v1/transactions/${txIds['c21-a']}/deployment_history?limit=0`).expect(400)).body.message).toMatch(/limit/);
      expect((await get(`/api/v1/transactions/${txIds['c21-a']}/deployment_history?limit=1001`).expect(400)).body.message).toMatch(/limit/);
      expect((await get(`/api/v1/transactions/${txIds['c21-a']}/deployment_history?order=up`).expect(400)).body.message).toMatch(/order/);
      expect((await get(`/api/v1/transactions/${txIds['c21-a']}/deployment_history?cursor=garbage`).expect(400)).body.message).toMatch(
        /cursor/,
      );
    });
  });

  describe('CSV', () => {
    const HEADER = 'transaction_id,transaction_uuid,transaction_name,task_name,node_id,status,type,time_start,time_end';
    /** A CSV answer: text/csv, an attachment named `filename`, the header line then `rows` (CRLF after each). */
    const csvAttachment = async (url: string, filename: string, rows: string[]) => {
      const res = await get(url, 'text/csv').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toBe(`attachment; filename="${filename}"`);
      expect(res.text.split('\r\n')).toEqual([HEADER, ...rows, '']);
      return res;
    };

    it('Accept: text/csv on the cluster route: text/csv, attachment filename, header line, rows; Link kept when paged', async () => {
      const res = await csvAttachment('/api/v1/clusters/21/deployment_history?limit=2', 'cluster-21-deployment-history.csv', [
        `${txIds['c21-c']},c21-c,provision,netconfig,2,error,puppet,2026-01-03T10:04:00.000Z,2026-01-03T10:04:00.000Z`,
        `${txIds['c21-c']},c21-c,provision,hiera,1,ready,puppet,2026-01-03T10:03:00.000Z,2026-01-03T10:03:00.000Z`,
      ]);
      const link = nextLink(res);
      expect(link).toMatch(/cursor=/);
      // The Link leads to the next CSV page.
      const next = await get(link!, 'text/csv').expect(200);
      expect(next.text.split('\r\n')).toEqual([
        HEADER,
        `${txIds['c21-c']},c21-c,provision,netconfig,1,running,puppet,2026-01-03T10:02:00.000Z,`,
        `${txIds['c21-c']},c21-c,provision,upload_configuration,master,ready,upload_file,2026-01-03T10:01:00.000Z,2026-01-03T10:01:00.000Z`,
        '',
      ]);
      // Walking the CSV pages gives every row once; the last page has no Link.
      const { pages } = await walk('/api/v1/clusters/21/deployment_history?limit=4', 'text/csv');
      expect(pages).toHaveLength(4);
      expect(pages[3].headers['link']).toBeUndefined();
      const lines = pages.flatMap((p) => p.text.split('\r\n').filter((l) => l && l !== HEADER));
      expect(lines).toHaveLength(15);
      expect(lines.filter((l) => l.startsWith(`${txIds['c21-a']},c21-a,deployment,`))).toHaveLength(5);
      // Unpaged (15 < 100): no Link, the cluster-level row has an empty node_id.
      const whole = await get('/api/v1/clusters/21/deployment_history?nodes=null', 'text/csv').expect(200);
      expect(whole.headers['link']).toBeUndefined();
      expect(whole.text.split('\r\n')).toContain(
        `${txIds['c21-a']},c21-a,deployment,post_deployment_start,,ready,stage,2026-01-01T10:00:00.000Z,2026-01-01T10:00:00.000Z`,
      );
    });

    it('Accept: text/csv on the node route, with filters; Link kept when paged', async () => {
      const res = await csvAttachment(
        '/api/v1/clusters/21/nodes/master/deployment_history?limit=2&order=time_start',
        'cluster-21-node-master-deployment-history.csv',
        [
          `${txIds['c21-a']},c21-a,deployment,upload_configuration,master,ready,upload_file,2026-01-01T10:01:00.000Z,2026-01-01T10:01:00.000Z`,
          `${txIds['c21-b']},c21-b,deployment,upload_configuration,master,ready,upload_file,2026-01-02T10:01:00.000Z,2026-01-02T10:01:00.000Z`,
        ],
      );
      expect(nextLink(res)).toMatch(/^\/api\/v1\/clusters\/21\/nodes\/master\/deployment_history\?.*cursor=/);
      const cl = await get('/api/v1/clusters/21/nodes/null/deployment_history?statuses=ready', 'text/csv').expect(200);
      expect(cl.headers['content-disposition']).toMatch(/filename="cluster-21-node-null-deployment-history\.csv"/);
      expect(cl.text.split('\r\n').filter(Boolean)).toHaveLength(4);
      const empty = await get('/api/v1/clusters/21/nodes/7/deployment_history', 'text/csv').expect(200);
      expect(empty.text).toBe(`${HEADER}\r\n`);
      expect(empty.headers['link']).toBeUndefined();
    });

    it('without Accept: text/csv the answer is JSON', async () => {
      const res = await get('/api/v1/clusters/21/deployment_history?limit=1', 'application/json').expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toHaveLength(1);
    });
  });

  describe('errors', () => {
    const routes = (id: string) => [
      `/api/v1/clusters/${id}/deployment_history`,
      `/api/v1/clusters/${id}/nodes/1/deployment_history`,
      `/api/clusters/${id}/nodes/master/deployment_history/`,
    ];

    it('404 for an unknown cluster, naming it, on both routes (JSON and CSV)', async () => {
      for (const url of routes('999')) {
        const res = await get(url).expect(404);
        expect(res.body.message).toMatch(/[Cc]luster 999/);
        await get(url, 'text/csv').expect(404);
      }
    });

    it('a page with rows is answered without reading the cluster again; an empty one asks whether it exists', async () => {
      // Issue #17 (reads over their target): the guard has read the cluster already; a row of it proves it
      // exists (a cluster is never deleted), so only an empty page costs the lookup that tells 404 from [].
      const lookup = jest.spyOn(t.app.get(ClusterRegistry), 'get');
      try {
        for (const url of [
          '/api/v1/clusters/21/deployment_history',
          '/api/v1/clusters/21/nodes/1/deployment_history',
          '/api/v1/clusters/21/state',
        ]) {
          expect((await get(url).expect(200)).body.length).toBeGreaterThan(0);
        }
        expect(lookup).not.toHaveBeenCalled();
        expect((await get('/api/v1/clusters/21/nodes/7/deployment_history').expect(200)).body).toEqual([]);
        expect((await get('/api/v1/clusters/21/deployment_history?statuses=skipped').expect(200)).body).toEqual([]);
        expect(lookup.mock.calls).toEqual([[21], [21]]);
        expect((await get('/api/v1/clusters/998/state').expect(404)).body.message).toMatch(/[Cc]luster 998/);
      } finally {
        lookup.mockRestore();
      }
    });

    it('400 for a cluster id that is not one, on both routes', async () => {
      for (const id of ['abc', '-1', '1.5', '99999999999']) {
        for (const url of routes(id)) {
          const res = await get(url);
          expect({ url, status: res.status }).toEqual({ url, status: 400 });
          expect(res.body.message).toMatch(/cluster id/);
        }
      }
    });

    it('409 for a pre-9.0 cluster on both routes, naming the cluster, its release and the 9.0 minimum (JSON and CSV)', async () => {
      for (const url of routes('23')) {
        const res = await get(url).expect(409);
        expect(res.body.message).toMatch(/Cluster 23 \('legacy'\) runs release 'liberty-8.0'.*9\.0/);
        await get(url, 'text/csv').expect(409);
        await get(`${url}${url.includes('?') ? '&' : '?'}limit=1`).expect(409);
      }
    });
  });
});
