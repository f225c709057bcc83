import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ran, at, finish, resp, start, task, type Graph } from '../support/casts';
import { startApp, TestApp, postCasts } from '../support/app';

/**
 * The web page (/ui/), in Debian's Chromium driven by playwright-core, against the real app on a
 * fresh database: the run list, the timeline's bars and colours, a live cast changing a bar, the
 * table filter, the CSV export, and a 30,000-task run. Screenshots go to test-artifacts/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
const COLORS = { pending: '#94a3b8', running: '#2563eb', ready: '#16a34a', error: '#dc2626', skipped: '#f59e0b' };

jest.setTimeout(60_000);

// In-page helpers (the page exposes window.__timeline for tests).
type Stats = { total: number; byStatus: Record<string, number>; firstDrawMs: number | null };
const stats = (page: Page) => page.evaluate(() => (globalThis as any).__timeline.stats as Stats);
/** The colour drawn in a task's bar (its top row of pixels: a name drawn on the bar is in its middle), and the bar's status. */
const barColour = (page: Page, node: string | null, name: string) =>
  page.evaluate(
    ([n, t]) => {
      const tl = (globalThis as any).__timeline;
      const b = tl.bar(n, t);
      return b ? { status: b.status as string, pixel: tl.pixel(b.x + b.w / 2, b.y + 1) as string } : null;
    },
    [node, name] as const,
  );

describe('web page (/ui/) in Chromium', () => {
  let t: TestApp;
  let base: string;
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  const runs: Record<string, number> = {};
  /** Whatever the page's Content-Security-Policy refused, over every test (Chromium says so on the console and in an event). */
  const refused: string[] = [];

  const cast = async (...casts: unknown[]): Promise<Array<Record<string, any>>> => postCasts(t, casts);
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `ui-${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    t = await startApp();
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as { port: number }).port}`;
    profile = mkdtempSync(join(tmpdir(), 'dh-chromium-'));
    // An empty profile directory of our own (playwright's name for --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      viewport: { width: 1400, height: 900 },
      acceptDownloads: true,
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (e) => console.error('page error:', e));
    page.on('console', (m) => void (/Content Security Policy/i.test(m.text()) && refused.push(m.text())));
    await browser.addInitScript(() => {
      const report = (e: any) => console.error(`Content Security Policy refused ${e.violatedDirective}: ${e.blockedURI}`);
      (globalThis as any).document.addEventListener('securitypolicyviolation', report);
    });

    // Two runs of one cluster: a finished one that failed, and one in progress.
    const graph: Graph = {
      master: [{ id: 'upload_repos', type: 'shell' }],
      '1': [
        { id: 'netconfig', type: 'puppet' },
        { id: 'ceph', type: 'puppet', requires: ['netconfig'] },
      ],
      '2': [
        { id: 'netconfig', type: 'puppet' },
        { id: 'ceph', type: 'puppet' },
      ],
      null: [{ id: 'post_deploy', type: 'shell' }],
    };
    const cluster = { id: 70, name: 'ui-cluster', release: 'mitaka-9.0' };
    const t1 = Date.now() - 3600_000;
    [{ transaction_id: runs.failed }] = await cast(start('ui-failed', cluster, graph, { time: at(t1, 0) }));
    await cast(
      resp('ui-failed', [
        ...ran('master', 'upload_repos', t1, 1, 10),
        ...ran('1', 'netconfig', t1, 10, 30),
        ...ran('1', 'ceph', t1, 30, 50, 'error', { error_msg: 'ceph-deploy failed' }),
        ...ran('2', 'netconfig', t1, 10, 25),
      ]),
      finish('ui-failed', 'error', { time: at(t1, 55) }),
    );
    const t2 = Date.now() - 60_000;
    [{ transaction_id: runs.live }] = await cast(start('ui-live', cluster, graph, { time: at(t2, 0) }));
    await cast(
      resp('ui-live', [
        ...ran('master', 'upload_repos', t2, 1, 10),
        ...ran('1', 'netconfig', t2, 10, 30),
        task('1', 'ceph', 'running', { time: at(t2, 30) }),
      ]),
    );
  });

  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await t?.close();
  });

  it('redirects / to the page and lists the clusters, then the cluster’s runs', async () => {
    await page.goto(base + '/');
    expect(new URL(page.url()).pathname).toBe('/ui/');
    await page.locator('#clusters a', { hasText: 'ui-cluster' }).click();
    await page.locator('#runs tbody tr').first().waitFor();
    const rows = await page
      .locator('#runs tbody tr')
      .evaluateAll((trs) => trs.map((tr: any) => [Number(tr.dataset.run), tr.dataset.status]));
    expect(rows).toEqual([
      [runs.live, 'running'],
      [runs.failed, 'error'],
    ]);
    // Counts per status arrive from the summaries.
    await page.locator(`#runs tr[data-run="${runs.failed}"] .counts .count`).first().waitFor();
    expect(await page.locator(`#runs tr[data-run="${runs.failed}"] .counts`).textContent()).toMatch(/^6 .*ready 3.*error 1.*skipped 2/);
    await shot('runs');
  });

  it('draws one bar per task, coloured by status, and shows a task’s detail on click', async () => {
    await page.goto(`${base}/ui/#/runs/${runs.failed}`);
    await page.waitForFunction(() => (globalThis as any).__timeline?.stats.total === 6);
    const s = await stats(page);
    expect(s.byStatus).toEqual({ pending: 0, running: 0, ready: 3, error: 1, skipped: 2 });
    expect(JSON.parse((await page.locator('#timeline').getAttribute('data-bars'))!)).toMatchObject({
      total: 6,
      ready: 3,
      error: 1,
      skipped: 2,
    });
    for (const [node, name, status] of [
      ['master', 'upload_repos', 'ready'],
      ['1', 'ceph', 'error'],
      ['2', 'ceph', 'skipped'],
      [null, 'post_deploy', 'skipped'],
    ] as const) {
      expect(await barColour(page, node, name)).toEqual({ status, pixel: COLORS[status] });
    }
    // Lanes in the API's node order (src/common/node-order.ts): the cluster-level row first, then master, then nodes by number.
    expect(await page.evaluate(() => (globalThis as any).__timeline.stats.lanes)).toEqual(['cluster', 'master', 'node 1', 'node 2']);

    const box = (await page.evaluate(() => (globalThis as any).__timeline.bar('1', 'ceph')))!;
    const canvas = (await page.locator('#timeline canvas').boundingBox())!;
    await page.mouse.move(canvas.x + box.x + box.w / 2, canvas.y + box.y + box.h / 2);
    await page.locator('#tooltip', { hasText: 'ceph' }).waitFor();
    expect(await page.locator('#tooltip').textContent()).toContain('duration 20.0 s');
    await page.mouse.click(canvas.x + box.x + box.w / 2, canvas.y + box.y + box.h / 2);
    await page.locator('#detail .definition', { hasText: 'requires' }).waitFor();
    expect(await page.locator('#detail').textContent()).toContain('ceph-deploy failed');
    await shot('timeline');
  });

  it('filters and sorts the table, and exports the CSV', async () => {
    await page.locator('.tabs button[data-tab="table"]').click();
    const count = () => page.locator('.rowtable').getAttribute('data-rows');
    expect(await count()).toBe('6');
    await page.locator('.filters [data-status-filter="skipped"]').click();
    await page.waitForFunction(() => (globalThis as any).document.querySelector('.rowtable').dataset.rows === '2');
    await page.locator('.filters [data-status-filter="skipped"]').click();
    await page.locator('.filters input[name="task"]').fill('netconf');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('.rowtable').dataset.rows === '2');
    await page.locator('.filters select[name="node"]').selectOption('2');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('.rowtable').dataset.rows === '1');
    await page.locator('.filters input[name="task"]').fill('');
    await page.locator('.filters select[name="node"]').selectOption([]);
    // Nodes in the API's order too: in the node filter, and sorted by the Node column (cluster-level rows first).
    expect(await page.locator('.filters select[name="node"] option').evaluateAll((os) => os.map((o: any) => o.value))).toEqual([
      'null',
      'master',
      '1',
      '2',
    ]);
    await page.locator('.thead [data-col="node_id"]').click();
    expect(await page.locator('.tbody .trow .col-node_id').allTextContents()).toEqual([
      'cluster',
      'master',
      'node 1',
      'node 1',
      'node 2',
      'node 2',
    ]);
    await page.locator('.thead [data-col="status"]').click();
    expect(await page.locator('.tbody .trow').evaluateAll((rs) => rs.map((r: any) => r.dataset.status))).toEqual([
      'error',
      'ready',
      'ready',
      'ready',
      'skipped',
      'skipped',
    ]);
    await shot('table');

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-csv').click()]);
    expect(download.suggestedFilename()).toBe(`transaction-${runs.failed}-deployment-history.csv`);
    const csv = readFileSync(await download.path(), 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    expect(lines[0]).toBe('task_name,node_id,status,type,time_start,time_end');
    expect(lines).toHaveLength(7);
  });

  it('updates a bar live when a cast arrives, and compares with the previous run', async () => {
    await page.goto(`${base}/ui/#/runs/${runs.live}`);
    await page.waitForFunction(() => (globalThis as any).__timeline?.stats.total === 6 && (globalThis as any).__timeline.live);
    expect((await stats(page)).byStatus).toEqual({ pending: 3, running: 1, ready: 2, error: 0, skipped: 0 });
    expect(await barColour(page, '2', 'netconfig')).toEqual({ status: 'pending', pixel: COLORS.pending });
    expect(await barColour(page, '1', 'ceph')).toEqual({ status: 'running', pixel: COLORS.running });
    const events = await page.evaluate(() => (globalThis as any).__timeline.streamEvents as number);

    const now = Date.now();
    await cast(resp('ui-live', ran('2', 'netconfig', now - 40_000, 0, 15)));
    await page.waitForFunction((green) => {
      const tl = (globalThis as any).__timeline;
      const b = tl.bar('2', 'netconfig');
      return b.status === 'ready' && tl.pixel(b.x + b.w / 2, b.y + 1) === green;
    }, COLORS.ready);
    expect((await stats(page)).byStatus).toEqual({ pending: 2, running: 1, ready: 3, error: 0, skipped: 0 });
    expect(await page.evaluate(() => (globalThis as any).__timeline.streamEvents as number)).toBeGreaterThan(events);
    await shot('live');

    // The compare view is a route of its own (#/clusters/ID/compare), linked from the toolbar.
    await page.waitForFunction(
      (want) => (globalThis as any).document.querySelector('#compare-prev').getAttribute('href') === want,
      `#/clusters/70/compare?a=${runs.failed}&b=${runs.live}`,
    );
  });

  it('draws a 30,000-task run on the canvas', async () => {
    const graph: Graph = {};
    for (let n = 1; n <= 200; n++) graph[String(n)] = Array.from({ length: 150 }, (_, i) => ({ id: `task_${i}`, type: 'puppet' }));
    const t0 = Date.now() - 7200_000;
    const [{ transaction_id: id }] = await cast(
      start('ui-big', { id: 71, name: 'big', release: 'mitaka-9.0' }, graph, { time: at(t0, 0) }),
    );
    const nodes = [];
    for (let n = 1; n <= 200; n++)
      for (let i = 0; i < 150; i++)
        nodes.push(...ran(String(n), `task_${i}`, t0, i * 20 + (n % 7), i * 20 + 15 + (n % 5), n === 13 && i === 7 ? 'error' : 'ready'));
    await cast(resp('ui-big', nodes), finish('ui-big', 'error', { time: at(t0, 3100) }));

    await page.goto(`${base}/ui/#/runs/${id}`);
    await page.waitForFunction(() => (globalThis as any).__timeline?.stats.total === 30000, undefined, { timeout: 30_000 });
    const s = await stats(page);
    expect(s.byStatus).toEqual({ pending: 0, running: 0, ready: 29999, error: 1, skipped: 0 });
    const loadMs = await page.evaluate(() => (globalThis as any).__timeline.loadMs as number);
    // Timing is reported, not asserted (timed assertions belong in the benchmarks).
    console.log(
      `30,000-task run: first draw ${s.firstDrawMs?.toFixed(1)} ms (model + canvas), ${loadMs.toFixed(0)} ms from opening the run (fetch included)`,
    );
    await shot('30k');
  });

  it('draws a live 30,000-task run from the stream, which sends it in pages, then follows a change', async () => {
    const graph: Graph = {};
    for (let n = 1; n <= 200; n++) graph[String(n)] = Array.from({ length: 150 }, (_, i) => ({ id: `task_${i}`, type: 'puppet' }));
    const t0 = Date.now() - 600_000;
    const cluster = { id: 72, name: 'big-live', release: 'mitaka-9.0' };
    const [{ transaction_id: id }] = await cast(start('ui-big-live', cluster, graph, { time: at(t0, 0) }));
    await cast(resp('ui-big-live', ran('1', 'task_0', t0, 0, 10)));

    await page.goto(`${base}/ui/#/runs/${id}`);
    const drawn = () => (globalThis as any).__timeline?.stats.total === 30000 && (globalThis as any).__timeline.live;
    await page.waitForFunction(drawn, undefined, { timeout: 30_000 });
    expect((await stats(page)).byStatus).toEqual({ pending: 29999, running: 0, ready: 1, error: 0, skipped: 0 });
    // The first rows came as 30 events of 1,000 rows (and the run).
    expect(await page.evaluate(() => (globalThis as any).__timeline.streamEvents as number)).toBeGreaterThanOrEqual(30);

    await cast(resp('ui-big-live', ran('200', 'task_149', Date.now() - 20_000, 0, 5, 'error')));
    await page.waitForFunction(() => (globalThis as any).__timeline.bar('200', 'task_149')?.status === 'error');
    expect((await stats(page)).byStatus).toEqual({ pending: 29998, running: 0, ready: 1, error: 1, skipped: 0 });
  });

  it('says so when the live run it shows is deleted, and stops following it', async () => {
    const t0 = Date.now() - 60_000;
    const graph: Graph = {
      '1': [
        { id: 'netconfig', type: 'puppet' },
        { id: 'ceph', type: 'puppet' },
        { id: 'hiera', type: 'puppet' },
      ],
    };
    const [{ transaction_id: id }] = await cast(
      start('ui-doomed', { id: 79, name: 'doomed', release: 'mitaka-9.0' }, graph, { time: at(t0, 0) }),
    );
    await cast(resp('ui-doomed', [task('1', 'netconfig', 'running', { time: at(t0, 1) })]));
    await page.goto(`${base}/ui/#/runs/${id}`);
    await page.waitForFunction(() => (globalThis as any).__timeline?.stats.total === 3 && (globalThis as any).__timeline.live);

    await t.http().delete(`/api/v1/transactions/${id}/?force=1`).expect(204);
    await page.locator('#live-status', { hasText: 'this run was deleted' }).waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (globalThis as any).__timeline.live)).toBe(false);
    // What was drawn stays on screen, marked as gone.
    expect((await stats(page)).total).toBe(3);
    await shot('deleted');
  });

  it('serves the page with security headers: CSP, no framing, no sniffing, no referrer', async () => {
    const headers = {
      'content-security-policy': expect.stringMatching(/^default-src 'self';/),
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    };
    // The script and stylesheet have content-hashed names, read from the page that links them.
    const html = (await t.http().get('/ui/').expect(200)).text;
    const assets = [...html.matchAll(/(?:src|href)="(\/ui\/main\.[0-9a-f]+\.(?:js|css))"/g)].map((x) => x[1]);
    expect(assets).toHaveLength(2);
    for (const path of ['/ui/', '/ui', '/ui/index.html', ...assets, '/', '/ui/missing.js', '/ui/main.js']) {
      const res = await t.http().get(path);
      expect({ path, status: res.status, ...res.headers }).toMatchObject({ path, ...headers });
      expect(res.headers['content-security-policy']).toMatch(/(^|; )frame-ancestors 'none'(;|$)/);
    }
    const csp = (await t.http().get('/ui/').expect(200)).headers['content-security-policy'];
    // Nothing beyond the page's own origin: no inline script, no eval, no other site, no plugin, no <base>.
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:|data:/);
    expect(csp).toMatch(/object-src 'none'/);
    expect(csp).toMatch(/base-uri 'none'/);
  });

  it('shows the detail of tasks named .. and . (not the run, which a path ending in /.. would reach)', async () => {
    // A run's graph defines each task name once: `..` on node 1, `.` at cluster level.
    const graph: Graph = {
      '1': [{ id: '..', type: 'shell', marker: 'the task named ..' }],
      null: [{ id: '.', type: 'stage', marker: 'the task named .' }],
    };
    const t0 = Date.now() - 600_000;
    const cluster = { id: 73, name: 'dots', release: 'mitaka-9.0' };
    const [{ transaction_id: id }] = await cast(start('ui-dots', cluster, graph, { time: at(t0, 0) }));
    await cast(
      resp('ui-dots', [...ran('1', '..', t0, 1, 10, 'error', { error_msg: 'dot dot failed' }), ...ran(null, '.', t0, 10, 20)]),
      finish('ui-dots', 'error', { time: at(t0, 40) }),
    );
    await page.goto(`${base}/ui/#/runs/${id}`);
    await page.waitForFunction(() => (globalThis as any).__timeline?.stats.total === 2);
    const canvas = (await page.locator('#timeline canvas').boundingBox())!;
    for (const [node, name, shown] of [
      ['1', '..', ['node1', 'statuserror', 'dot dot failed']],
      [null, '.', ['nodecluster (null)', 'statusready']],
    ] as const) {
      const box = (await page.evaluate(([n, k]) => (globalThis as any).__timeline.bar(n, k), [node, name] as const))!;
      await page.mouse.click(canvas.x + box.x + box.w / 2, canvas.y + box.y + box.h / 2);
      await page.locator('#detail .definition', { hasText: `the task named ${name}` }).waitFor({ timeout: 10_000 });
      expect(await page.locator('#detail h3').textContent()).toBe(name);
      const text = await page.locator('#detail dl').textContent();
      for (const s of shown) expect(text).toContain(s);
    }
    await shot('dots');
  });

  it('asks for a token when the API answers 401, and keeps it for the session', async () => {
    const READ = 'ui-read-token-0123456789';
    const auth = await startApp({ env: { AUTH_READ_TOKENS: READ } });
    try {
      await auth.app.listen(0, '127.0.0.1');
      const url = `http://127.0.0.1:${(auth.app.getHttpServer().address() as { port: number }).port}/ui/`;
      await page.goto(url);
      await page.locator('.token-form input[name="token"]').fill('not-the-token-0123456789');
      await page.locator('.token-form button[type="submit"]').click();
      await page.locator('.token-form .error-box').waitFor();
      await page.locator('.token-form input[name="token"]').fill(READ);
      await page.locator('.token-form button[type="submit"]').click();
      await page.locator('h1', { hasText: 'Clusters' }).waitFor();
      expect(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('deployment-history.token'))).toBe(READ);
      await page.reload();
      await page.locator('h1', { hasText: 'Clusters' }).waitFor();
      await shot('auth');
    } finally {
      await page.evaluate(() => (globalThis as any).sessionStorage.clear());
      await auth.close();
    }
  });

  it("breaks no rule of the page's Content-Security-Policy (every test above included)", () => {
    expect(refused).toEqual([]);
  });
});
