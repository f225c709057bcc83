import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';

/**
 * Issue 12.2: a query parameter a route does not take, a bracketed key (`nodes[]`, `nodes[a]`) or a
 * single-valued parameter given twice is a 400 naming it, on every route, before anything is done;
 * a list parameter may be repeated, and then it filters as its comma form does. Fuel's own requests
 * (as the real fuel2 sends them: trailing slashes, `include_summary=0`, comma lists) still answer 200.
 */
describe('query parameters: unknown, bracketed or repeated ones are refused', () => {
  let t: TestApp;
  const graph = { '1': [{ id: 'netconfig' }, { id: 'hiera' }], '2': [{ id: 'netconfig' }], null: [{ id: 'post_deployment_start' }] };
  const runs = async () => (await t.sql.query('SELECT uuid FROM transactions ORDER BY id')).rows.map((r) => r.uuid as string);
  const epoch = async (cluster: number) =>
    (await t.sql.query('SELECT epoch FROM clusters WHERE id = $1', [cluster])).rows[0].epoch as number;
  let first: number;

  beforeAll(async () => {
    t = await startApp();
    for (const [i, status] of (['ready', 'error', 'ready'] as const).entries()) {
      const uuid = `q-${i + 1}`;
      const time = new Date(Date.UTC(2026, 0, 1 + i)).toISOString();
      await t
        .http()
        .post('/api/v1/casts')
        .send([
          start(uuid, { id: 1, name: 'east', release: 'mitaka-9.0' }, graph, { time }),
          resp(uuid, [
            task('1', 'netconfig', 'ready', { time }),
            task('2', 'netconfig', 'error', { time }),
            task(null, 'post_deployment_start', 'ready', { time }),
          ]),
          finish(uuid, status, { time }),
        ])
        .expect(200);
    }
    first = (await t.sql.query(`SELECT id FROM transactions WHERE uuid = 'q-1'`)).rows[0].id;
  });
  afterAll(() => t?.close());

  /** A 400 whose message names every one of `names`; returns the message. */
  async function refused(method: 'get' | 'post' | 'put' | 'delete', url: string, names: string[], body?: unknown): Promise<string> {
    let req = t.http()[method](url);
    if (body !== undefined) req = req.send(body as object);
    const res = await req;
    const json = expect.stringMatching(/^application\/json/);
    expect({ url, status: res.status, type: res.headers['content-type'] }).toEqual({ url, status: 400, type: json });
    expect(res.body.statusCode).toBe(400);
    for (const n of names) expect(res.body.message).toContain(`'${n}'`);
    return res.body.message as string;
  }

  it('POST /retention with a typo (dry-run for dry_run) is a 400 naming it, and deletes nothing', async () => {
    const message = await refused('post', '/api/v1/retention?keep_runs=1&dry-run=true', ['dry-run']);
    // It says what the route takes, so the typo is easy to fix.
    expect(message).toContain('dry_run');
    expect(await runs()).toEqual(['q-1', 'q-2', 'q-3']);
  });

  it('bracketed keys are refused, not read as arrays or objects, and not ignored', async () => {
    await refused('post', '/api/v1/retention?keep_runs=1&dry_run[]=true', ['dry_run[]']);
    await refused('post', '/api/v1/retention?keep_runs=1&dry_run%5B%5D=true', ['dry_run[]']);
    expect(await runs()).toEqual(['q-1', 'q-2', 'q-3']);
    const history = `/api/v1/transactions/${first}/deployment_history`;
    await refused('get', `${history}?nodes[]=1`, ['nodes[]']);
    await refused('get', `${history}?nodes[a]=1`, ['nodes[a]']);
    await refused('get', `${history}?statuses[x]=error`, ['statuses[x]']);
    await refused('get', `/api/v1/clusters/1/deployment_history?statuses[]=error&nodes[0]=1`, ['statuses[]', 'nodes[0]']);
    await refused('get', `/api/v1/transactions?statuses[]=error`, ['statuses[]']);
  });

  it('a list parameter may be repeated: statuses=error&statuses=ready filters as statuses=error,ready', async () => {
    const history = `/api/v1/transactions/${first}/deployment_history`;
    const all = (await t.http().get(history).expect(200)).body as Array<{ status: string }>;
    const comma = (await t.http().get(`${history}?statuses=error,ready`).expect(200)).body;
    const repeated = (await t.http().get(`${history}?statuses=error&statuses=ready`).expect(200)).body;
    expect(repeated).toEqual(comma);
    const errors = (await t.http().get(`${history}?statuses=error`).expect(200)).body as unknown[];
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThan(all.length);
    // Across runs, and for runs: the same.
    const cluster = '/api/v1/clusters/1/deployment_history';
    expect((await t.http().get(`${cluster}?nodes=1&nodes=null&statuses=ready`).expect(200)).body).toEqual(
      (await t.http().get(`${cluster}?nodes=1,null&statuses=ready`).expect(200)).body,
    );
    const byStatus = (q: string) => t.http().get(`/api/v1/transactions?${q}`).expect(200);
    const twoStatuses = (await byStatus('statuses=error&statuses=stopped')).body as Array<{ uuid: string }>;
    expect(twoStatuses.map((r) => r.uuid)).toEqual(['q-2']);
    expect(twoStatuses).toEqual((await byStatus('statuses=error,stopped')).body);
  });

  it('a repeated list parameter is kept in the next page of a paged list (Link), which answers too', async () => {
    const page1 = await t.http().get('/api/v1/clusters/1/deployment_history?statuses=ready&statuses=error&limit=2').expect(200);
    const next = /<([^>]+)>; rel="next"/.exec(String(page1.headers.link))?.[1];
    expect(next).toContain('statuses=ready&statuses=error');
    const page = (await t.http().get(next!).expect(200)).body as Array<{ status: string }>;
    expect(page.length).toBeGreaterThan(0);
    expect(page.every((r) => ['ready', 'error'].includes(r.status))).toBe(true);
  });

  it('a single-valued parameter given twice is a 400 naming it; a reset with force twice changes nothing', async () => {
    const message = await refused('get', '/api/v1/clusters/1/deployment_history?limit=1&limit=2', ['limit']);
    expect(message).toMatch(/more than once|2 times/);
    await refused('get', `/api/v1/transactions?cluster_id=1&cluster_id=2`, ['cluster_id']);
    await refused('get', `/api/v1/transactions/${first}/deployment_history?include_summary=1&include_summary=0`, ['include_summary']);
    const before = await epoch(1);
    await refused('post', '/api/v1/clusters/1/reset?force=true&force=false', ['force']);
    await refused('post', '/api/v1/retention?keep_runs=1&keep_runs=2', ['keep_runs']);
    await refused('delete', '/api/v1/clusters/1/deployment_history?before=2030-01-01T00:00:00Z&before=2000-01-01T00:00:00Z', ['before']);
    expect(await epoch(1)).toBe(before);
    expect(await runs()).toEqual(['q-1', 'q-2', 'q-3']);
  });

  it('every problem of a query is named at once', async () => {
    const url = '/api/v1/clusters/1/deployment_history?limit=1&limit=2&status=error&nodes[]=1';
    const message = await refused('get', url, ['limit', 'status', 'nodes[]']);
    expect(message).toMatch(/statuses/); // what the route takes, for the typo
  });

  it('a route that takes no query parameter refuses any, and does nothing', async () => {
    await refused('get', `/api/v1/transactions/${first}?verbose=1`, ['verbose']);
    await refused('get', `/api/v1/transactions/${first}/deployment_history/summary?x=1`, ['x']);
    await refused('get', `/api/v1/transactions/${first}/deployment_history/1/netconfig?include_summary=1`, ['include_summary']);
    await refused('get', `/api/v1/transactions/${first}/diff/${first + 1}?x`, ['x']);
    await refused('get', '/api/v1/clusters?limit=1', ['limit']);
    await refused('get', '/api/v1/clusters/1?x=1', ['x']);
    await refused('get', '/api/v1/receiver/stats?x=1', ['x']);
    await refused('get', '/api/v1/version?x=1', ['x']);
    await refused('get', '/health?x=1', ['x']);
    await refused('get', '/health/ready?x=1', ['x']);
    await refused('get', '/metrics?x=1', ['x']);
    await refused('put', '/api/v1/clusters/1?dry_run=true', ['dry_run'], { name: 'renamed', release: 'mitaka-9.0' });
    expect((await t.sql.query('SELECT name FROM clusters WHERE id = 1')).rows[0].name).toBe('east');
    await refused('post', '/api/v1/casts?dry_run=1', ['dry_run'], start('q-new', { id: 2, release: 'mitaka-9.0' }, graph));
    await refused('post', '/api/v1/transactions?dry_run=1', ['dry_run'], start('q-new', { id: 2, release: 'mitaka-9.0' }, graph).args);
    expect(await runs()).toEqual(['q-1', 'q-2', 'q-3']);
    // An empty key, and a key without a value, are parameters too.
    await refused('get', `/api/v1/transactions?=1`, ['']);
    await refused('get', `/api/v1/transactions/${first}/deployment_history/stream?since=1&x`, ['x']);
  });

  it('more parameters than the query parser reads (1000) are refused rather than dropped', async () => {
    // Express's parser keeps the first 1000 pairs: the values after them would be dropped without a word.
    const url = `/api/v1/transactions/${first}/deployment_history?${'nodes=9&'.repeat(1000)}nodes=1`;
    const res = await t.http().get(url);
    expect({ status: res.status, message: res.body.message }).toEqual({ status: 400, message: expect.stringMatching(/1000/) });
  });

  it("Fuel's own requests, as fuel2 sends them, still answer 200", async () => {
    const ok = async (method: 'get' | 'post', url: string) => {
      const res = await t.http()[method](url);
      expect({ url, status: res.status, error: res.status === 200 ? undefined : res.text }).toEqual({ url, status: 200, error: undefined });
      return res.body;
    };
    await ok('get', '/api/v1/version');
    await ok('get', '/api/v1/transactions/');
    expect(await ok('get', '/api/v1/transactions/?cluster_id=1&statuses=ready%2Cerror&transaction_types=deployment')).toHaveLength(3);
    await ok('get', `/api/v1/transactions/${first}/`);
    const filters = 'nodes=1%2C2&statuses=ready%2Cerror&tasks_names=netconfig&include_summary=0';
    const rows = await ok('get', `/api/v1/transactions/${first}/deployment_history/?${filters}`);
    expect(rows).toHaveLength(2);
    await ok('get', `/api/v1/transactions/${first}/deployment_history/?include_summary=1`);
    await ok('get', '/api/v1/clusters/');
    await ok('get', '/api/v1/clusters/1/');
    // The /api/ alias Fuel also served, and dhist's own parameters.
    await ok('get', `/api/transactions/${first}/deployment_history/?include_summary=0`);
    const dhist = 'limit=2&order=time_start&epoch=all&dry_run=0&transaction_types=deployment&include_summary=1&since=2026-01-01T00:00:00Z';
    await ok('get', `/api/v1/clusters/1/deployment_history?${dhist}`);
    await ok('get', '/api/v1/clusters/1/state?nodes=1,2&tasks_names=netconfig');
    await ok('post', '/api/v1/clusters/1/reset?force=0');
    await ok('post', '/api/v1/retention?keep_runs=100&dry_run=true&compact=false');
  });

  it('the web page and the API docs are static files: a query string is not theirs to refuse', async () => {
    await t
      .http()
      .get('/ui/?x=1')
      .expect((r) => expect([200, 503]).toContain(r.status));
    await t.http().get('/api/docs-json?x=1').expect(200);
  });
});

describe('query parameters with auth on: the rule comes after authentication', () => {
  let t: TestApp;
  const READ = 'read-token-0123456789abcdef';
  const ADMIN = 'admin-token-0123456789abcdef';
  beforeAll(async () => {
    t = await startApp({ env: { AUTH_READ_TOKENS: READ, AUTH_ADMIN_TOKENS: ADMIN } });
  });
  afterAll(() => t?.close());

  it('a stranger learns nothing of the parameters (401), a read token cannot write (403), an admin gets the 400', async () => {
    const url = '/api/v1/retention?keep_runs=1&dry-run=true';
    await t.http().post(url).expect(401);
    await t.http().post(url).set('Authorization', `Bearer ${READ}`).expect(403);
    const res = await t.http().post(url).set('Authorization', `Bearer ${ADMIN}`).expect(400);
    expect(res.body.message).toContain("'dry-run'");
    expect(res.body.details).toEqual({ parameters: ['dry-run'], allowed: ['compact', 'dry_run', 'keep_runs', 'older_than_days'] });
  });
});
