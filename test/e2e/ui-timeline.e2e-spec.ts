import type { Page } from 'playwright-core';
import { at, ran, finish, resp, start, type Graph } from '../support/casts';
import { postCasts } from '../support/app';
import { axeViolations, DESKTOP, horizontalOverflow, PHONE, screenshots, startUi, type UiHarness } from '../support/browser';

/**
 * The run's timeline (web/timeline/), issue #16 items 1, 2 (scrolling lanes), 4 (timeline), 5 (touch,
 * zoom buttons), 7 and node identity, in Chromium against the real app: names on bars wide enough, in a
 * colour that reads on them; a gutter naming each node with its roles; lanes that scroll (wheel) while
 * ctrl+wheel zooms; the keyboard moving between tasks with a focus ring and announcements; touch pinch
 * and pan, zoom buttons; tasks with no start drawn as markers, never as spans they did not have.
 */
jest.setTimeout(60_000);

const COLORS = { pending: '#94a3b8', running: '#2563eb', ready: '#16a34a', error: '#dc2626', skipped: '#f59e0b' };
const LANE_BACKGROUNDS = ['#ffffff', '#f4f6f8'];
const RING = '#2563eb';

type Box = { kind: 'bar' | 'marker'; status: string; color: string; x: number; y: number; w: number; h: number };
type Win = { from: number; to: number } | null;
type Stats = {
  total: number;
  labels: Array<{ node: string | null; task: string; x: number; y: number }>;
  gutter: string[];
  focused: { node: string | null; task: string } | null;
  announced: string;
};
const stats = (page: Page) => page.evaluate(() => (globalThis as any).__timeline.stats as Stats);
const bar = (page: Page, node: string | null, name: string) =>
  page.evaluate(([n, k]) => (globalThis as any).__timeline.bar(n, k) as Box | null, [node, name] as const);
const pixel = (page: Page, x: number, y: number) => page.evaluate(([a, b]) => (globalThis as any).__timeline.pixel(a, b) as string, [x, y]);
const getWindow = (page: Page) => page.evaluate(() => (globalThis as any).__timelineApi.getWindow() as Win);
const canvasBox = async (page: Page) => (await page.locator('#timeline canvas').boundingBox())!;
/** Waits until the page has drawn (two frames): what a scheduled redraw needs. */
const frames = (page: Page) =>
  page.evaluate(() => new Promise((r) => (globalThis as any).requestAnimationFrame(() => (globalThis as any).requestAnimationFrame(r))));

describe('the run timeline (web/timeline/) in Chromium', () => {
  let ui: UiHarness;
  let page: Page;
  const runs: Record<string, number> = {};
  let t1 = 0;

  const cast = async (...casts: unknown[]): Promise<Array<Record<string, any>>> => postCasts(ui.t, casts);
  async function open(run: number, total: number): Promise<void> {
    await page.goto(`${ui.base}/ui/#/runs/${run}`);
    await page.waitForFunction((n) => (globalThis as any).__timeline?.stats.total === n, total);
    // The run's header (counts, critical path, regressions) comes in after the rows, above the timeline:
    // once it has, the timeline stays where it is on the page (the pointer's positions are measured from it).
    await page.waitForFunction(() => {
      const d = (globalThis as any).document;
      return (
        !!d.querySelector('#run-insights #critical-path') &&
        !!d.querySelector('#run-insights #regressions') &&
        !/Loading…/.test(d.querySelector('#run-insights').textContent)
      );
    });
    // A failed run opens on its first failure (the run view): the detail beside the timeline, or over it on
    // a phone. These tests are about the timeline: close it (Escape) so the timeline has the whole width.
    if (await page.locator('#detail').isVisible()) {
      await page.keyboard.press('Escape');
      await page.locator('#detail').waitFor({ state: 'hidden' });
    }
    await frames(page);
  }
  /** axe-core on the whole run view and on the timeline alone: no violation on either. */
  async function axeOnTimeline(where: string): Promise<void> {
    // The whole view too, now that every part of the page is in (no violation anywhere on it).
    const all = await axeViolations(page); // injects axe-core too
    expect({ where, violations: all }).toEqual({ where, violations: [] });
    const mine = await page.evaluate(async () => {
      const r = await (globalThis as any).axe.run('#timeline', { resultTypes: ['violations'] });
      return r.violations.map((v: any) => `${v.id}: ${v.help} — ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`);
    });
    expect(mine).toEqual([]);
  }

  beforeAll(async () => {
    ui = await startUi();
    page = ui.page;
    page.on('pageerror', (e) => console.error('page error:', e));

    // A failed run: node 1's ceph failed, node 8 got through netconfig only (its other tasks closed out as
    // skipped at the run's end, with no start), the cluster-level stage never reached.
    t1 = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
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
      '8': ['netconfig', 'hiera', 'globals', 'tools'].map((id) => ({ id, type: 'puppet' })),
      null: [{ id: 'post_deploy', type: 'shell' }],
    };
    const nodes = {
      master: { roles: ['master'], hostname: 'fuel.domain.tld' },
      '1': { roles: ['controller'], hostname: 'node-1.domain.tld' },
      '2': { roles: ['compute'], hostname: 'node-2.domain.tld' },
      '8': { roles: ['ceph-osd', 'compute'], hostname: 'node-8-with-a-rather-long-host-name.domain.tld' },
    };
    const cluster = { id: 80, name: 'tl-cluster', release: 'mitaka-9.0' };
    [{ transaction_id: runs.failed }] = await cast(start('tl-failed', cluster, graph, { time: at(t1, 0), nodes }));
    await cast(
      resp('tl-failed', [
        ...ran('master', 'upload_repos', t1, 1, 10),
        ...ran('1', 'netconfig', t1, 10, 30),
        ...ran('1', 'ceph', t1, 30, 50, 'error', { error_msg: 'ceph-deploy failed' }),
        ...ran('2', 'netconfig', t1, 10, 25),
        ...ran('8', 'netconfig', t1, 10, 20),
      ]),
      finish('tl-failed', 'error', { time: at(t1, 120) }),
    );

    // 62 nodes of four tasks each: more lanes than the canvas holds.
    const wide: Graph = {};
    const wideNodes: Record<string, { roles: string[]; hostname: string }> = {};
    const wideRows = [];
    const t2 = Date.now() - 7200_000;
    for (let n = 1; n <= 62; n++) {
      wide[String(n)] = ['prepare', 'netconfig', 'deploy', 'post'].map((id) => ({ id, type: 'puppet' }));
      wideNodes[String(n)] = { roles: [n <= 3 ? 'controller' : 'compute'], hostname: `node-${n}.domain.tld` };
      wideRows.push(
        ...ran(String(n), 'prepare', t2, 0, 60),
        ...ran(String(n), 'netconfig', t2, 60, 200 + n),
        ...ran(String(n), 'deploy', t2, 300, 900 + n * 5),
        ...ran(String(n), 'post', t2, 1300, 1400),
      );
    }
    [{ transaction_id: runs.wide }] = await cast(
      start('tl-wide', { id: 81, name: 'tl-wide', release: 'mitaka-9.0' }, wide, { time: at(t2, 0), nodes: wideNodes }),
    );
    await cast(resp('tl-wide', wideRows), finish('tl-wide', 'ready', { time: at(t2, 1500) }));

    // 120 tasks per node: the barcode, where no bar is wide enough for its name.
    const barcode: Graph = {};
    const codeRows = [];
    const t3 = Date.now() - 9000_000;
    for (const n of ['1', '2']) {
      barcode[n] = Array.from({ length: 120 }, (_, i) => ({ id: `custom-step-${i}`, type: 'shell' }));
      for (let i = 0; i < 120; i++) codeRows.push(...ran(n, `custom-step-${i}`, t3, i * 10, i * 10 + 8));
    }
    [{ transaction_id: runs.barcode }] = await cast(
      start('tl-barcode', { id: 82, name: 'tl-barcode', release: 'mitaka-9.0' }, barcode, { time: at(t3, 0) }),
    );
    await cast(resp('tl-barcode', codeRows), finish('tl-barcode', 'ready', { time: at(t3, 1200) }));
  });

  afterAll(async () => {
    await ui?.close();
  });

  it('draws tasks with no start as markers at a time they have (never spans they did not have), the closing reason in the tooltip', async () => {
    await open(runs.failed, 10);
    // Node 8's three skipped tasks: no start, closed out at the run's end (120 s).
    for (const name of ['hiera', 'globals', 'tools']) {
      const b = (await bar(page, '8', name))!;
      expect(b).toMatchObject({ kind: 'marker', status: 'skipped' });
      expect(await pixel(page, b.x + b.w / 2, b.y + b.h / 2)).toBe(COLORS.skipped);
    }
    const net = (await bar(page, '8', 'netconfig'))!;
    const marker = (await bar(page, '8', 'hiera'))!;
    // The marker sits at the run's end, not right after node 8's last work.
    const msPerPx = (20_000 - 10_000) / net.w;
    expect(Math.abs(marker.x + marker.w / 2 - (net.x + (120_000 - 10_000) / msPerPx))).toBeLessThan(3);
    // Where they used to be drawn (one slot each after node 8's netconfig: 21.5 s to 65 s), the lane is empty.
    for (const s of [25, 35, 45, 60]) {
      const x = net.x + ((s - 10) * 1000) / msPerPx;
      expect(LANE_BACKGROUNDS).toContain(await pixel(page, x, net.y + net.h / 2));
    }
    // Still bars where times exist: node 1's failed ceph.
    expect(await bar(page, '1', 'ceph')).toMatchObject({ kind: 'bar', status: 'error' });
    expect((await bar(page, null, 'post_deploy'))!.kind).toBe('marker');

    const c = await canvasBox(page);
    await page.mouse.move(c.x + marker.x + marker.w / 2, c.y + marker.y + marker.h / 2);
    await page.locator('#tooltip', { hasText: 'not reached' }).waitFor();
    const tip = (await page.locator('#tooltip').textContent())!;
    expect(tip).toContain('start —');
    expect(tip).toMatch(/end \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    expect(tip).toContain('closed not reached: transaction ended with error');
    await page.mouse.move(0, 0);
    await screenshots(page, 'timeline-failed');
  });

  it('names the bars wide enough for their names, in a colour that reads on them; the barcode names none', async () => {
    await open(runs.failed, 10);
    // Zoomed on node 1's ceph (20 s): a bar over 1,200 px wide carries its name.
    await page.evaluate(
      ([from, to]) => (globalThis as any).__timelineApi.setWindow({ from, to }),
      [Date.parse(at(t1, 29.9)), Date.parse(at(t1, 50.1))],
    );
    await page.waitForFunction(() => (globalThis as any).__timeline.stats.labels.some((l: any) => l.node === '1' && l.task === 'ceph'));
    const b = (await bar(page, '1', 'ceph'))!;
    expect(b.w).toBeGreaterThan(1200);
    // Text is drawn inside the bar: along its middle, pixels of another colour than the bar's (white on red).
    const row = await page.evaluate(
      ([x, y]) => Array.from({ length: 120 }, (_, i) => (globalThis as any).__timeline.pixel(x + 2 + i, y) as string),
      [Math.max(b.x, 168), b.y + b.h / 2],
    );
    const inked = row.filter((p) => p !== COLORS.error);
    expect(inked.length).toBeGreaterThan(5);
    // The text colour is the one that reads on red: white (4.8:1), so the ink is much lighter than the bar.
    expect(inked.some((p) => parseInt(p.slice(3, 5), 16) > 0x90)).toBe(true);
    await screenshots(page, 'timeline-zoomed');

    // On amber (a marker has none) and green, the text is dark: zoom on node 2's netconfig (ready, green).
    await page.evaluate(
      ([from, to]) => (globalThis as any).__timelineApi.setWindow({ from, to }),
      [Date.parse(at(t1, 9)), Date.parse(at(t1, 26))],
    );
    await page.waitForFunction(() =>
      (globalThis as any).__timeline.stats.labels.some((l: any) => l.node === '2' && l.task === 'netconfig'),
    );
    const g = (await bar(page, '2', 'netconfig'))!;
    const greenRow = await page.evaluate(
      ([x, y]) => Array.from({ length: 100 }, (_, i) => (globalThis as any).__timeline.pixel(x + 2 + i, y) as string),
      [Math.max(g.x, 168), g.y + g.h / 2],
    );
    expect(greenRow.some((p) => parseInt(p.slice(3, 5), 16) < 0x60)).toBe(true); // dark ink on green

    // The barcode: 120 tasks a lane, bars of a few pixels: no name on them, the gutter names the nodes.
    await open(runs.barcode, 240);
    const s = await stats(page);
    expect(s.labels).toEqual([]);
    expect(s.gutter).toEqual(['node 1', 'node 2']);
    expect((await bar(page, '1', 'custom-step-7'))!.w).toBeLessThan(30);
    // The one the keyboard is on says its name beside it.
    await page.locator('#timeline .tl-scroll').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    // The draw after the second move (each key's redraw comes at the next frame: the first one's label shows before).
    await page.waitForFunction(() => {
      const labels = (globalThis as any).__timeline.stats.labels;
      return labels.length === 1 && labels[0].task === 'custom-step-1';
    });
    const [beside] = (await stats(page)).labels;
    expect(beside).toMatchObject({ node: '1', task: 'custom-step-1' });
    expect(beside.x).toBeGreaterThan((await bar(page, '1', 'custom-step-1'))!.x + 5);
    await screenshots(page, 'timeline-barcode');
  });

  it('scrolls 62 lanes with the wheel and the scrollbar, zooms with ctrl+wheel around the pointer, pans with shift+wheel', async () => {
    await page.setViewportSize(DESKTOP);
    await open(runs.wide, 248);
    const c = await canvasBox(page);
    const scroll = page.locator('#timeline .tl-scroll');
    /** The scrollbar to the top; waits for the lanes drawn from there (lane 1 in view, under the axis: a lane
     * scrolled away above is "above 60 px" too, before the container's scroll event has come). Set again while
     * waiting: the wheel's smooth scrolling above can still be running, and carried it back to the bottom (CI saw
     * scrollTop 732 = scrollHeight − clientHeight after it was set to 0). */
    const scrollToTop = async () => {
      await scroll.evaluate((e: any) => (e.scrollTop = 0));
      await page
        .waitForFunction(() => {
          const box = (globalThis as any).document.querySelector('#timeline .tl-scroll');
          if (box.scrollTop !== 0) box.scrollTop = 0;
          const y = (globalThis as any).__timeline.bar('1', 'deploy').y;
          return y > 24 && y < 60;
        })
        .catch(async (e: Error) => {
          // Seen once in a row of local runs (4 times, 2026-12-01, then not again): where it stood, for the next time.
          const state = await scroll.evaluate((el: any) => ({
            scrollTop: el.scrollTop,
            scrollHeight: el.scrollHeight,
            clientHeight: el.clientHeight,
            lane1: (globalThis as any).__timeline.bar('1', 'deploy'),
          }));
          throw new Error(`${e.message}; lane 1 not drawn in view after scrollTop = 0: ${JSON.stringify(state)}`);
        });
    };
    const geo = await scroll.evaluate((e: any) => ({ top: e.scrollTop, height: e.scrollHeight, client: e.clientHeight }));
    // Not all 62 lanes fit: the container scrolls, with a real scrollbar (taller content than box).
    expect(geo.height).toBeGreaterThan(geo.client + 22 * 10);
    expect((await bar(page, '62', 'deploy'))!.y).toBeGreaterThan(c.height);

    // A plain wheel over the timeline scrolls the lanes (not a zoom): the window stays fitted.
    await page.mouse.move(c.x + c.width / 2, c.y + 100);
    for (let i = 0; i < 40 && (await scroll.evaluate((e: any) => e.scrollTop + e.clientHeight < e.scrollHeight - 1)); i++) {
      await page.mouse.wheel(0, 400);
      await frames(page);
    }
    expect(await getWindow(page)).toBeNull();
    await page.waitForFunction(() => {
      const b = (globalThis as any).__timeline.bar('62', 'deploy');
      const c = (globalThis as any).document.querySelector('#timeline canvas');
      return b && b.y > 24 && b.y + b.h <= c.clientHeight;
    });
    await screenshots(page, 'timeline-62-scrolled');

    // The scrollbar (scrollTop) back to the top, then to the bottom: the last lane's bars inside the canvas.
    await scrollToTop();
    await scroll.evaluate((e: any) => (e.scrollTop = e.scrollHeight));
    await page.waitForFunction(() => {
      const b = (globalThis as any).__timeline.bar('62', 'post');
      return b.y > 24 && b.y + b.h <= (globalThis as any).document.querySelector('#timeline canvas').clientHeight;
    });
    // The run's nodes as the orchestrator named them (GET /transactions/:id/nodes, fetched by the run view).
    expect((await stats(page)).gutter.at(-1)).toBe('node 62 · compute');

    // ctrl+wheel zooms in around the pointer: the time under it stays under it.
    let views = 0;
    await page.exposeFunction('__viewChanged', () => void views++);
    await page.evaluate(() => {
      const v = (globalThis as any).__timelineApi.view;
      const prev = v.onViewChange;
      v.onViewChange = () => ((globalThis as any).__viewChanged(), prev?.());
    });
    const px = c.x + 168 + 300;
    const timeAt = () =>
      page.evaluate((x) => {
        const v = (globalThis as any).__timelineApi.view;
        return v.x0 + (x - v.gutter) * v.msPerPx;
      }, px - c.x);
    const before = await timeAt();
    const fitted = await page.evaluate(() => (globalThis as any).__timelineApi.view.msPerPx as number);
    const top = await scroll.evaluate((e: any) => e.scrollTop);
    await page.mouse.move(px, c.y + 100);
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -300);
    await page.keyboard.up('Control');
    await page.waitForFunction((f) => (globalThis as any).__timelineApi.view.msPerPx < f, fitted);
    const w = (await getWindow(page))!;
    expect(w.to - w.from).toBeLessThan(1500_000 * 0.9);
    expect(Math.abs((await timeAt()) - before)).toBeLessThan(fitted * 2);
    expect(await scroll.evaluate((e: any) => e.scrollTop)).toBe(top); // zooming did not scroll the lanes
    // shift+wheel pans in time.
    await page.keyboard.down('Shift');
    await page.mouse.wheel(0, 200);
    await page.keyboard.up('Shift');
    await page.waitForFunction((from) => (globalThis as any).__timelineApi.getWindow().from > from, w.from);
    expect(views).toBeGreaterThanOrEqual(2);

    // reveal(): a lane out of view and a time out of the window brought into view, the zoom kept.
    await scrollToTop();
    const zoom = await page.evaluate(() => (globalThis as any).__timelineApi.view.msPerPx as number);
    expect(await page.evaluate(() => (globalThis as any).__timelineApi.reveal('40', 'post'))).toBe(true);
    await page.waitForFunction(() => {
      const b = (globalThis as any).__timeline.bar('40', 'post');
      return b.y > 24 && b.y + b.h <= (globalThis as any).document.querySelector('#timeline canvas').clientHeight;
    });
    const r = (await bar(page, '40', 'post'))!;
    const cw = await page.evaluate(() => (globalThis as any).document.querySelector('#timeline canvas').clientWidth as number);
    expect(r.y).toBeGreaterThan(24);
    expect(r.y + r.h).toBeLessThanOrEqual((await canvasBox(page)).height);
    expect(r.x).toBeGreaterThanOrEqual(168);
    expect(r.x + r.w).toBeLessThanOrEqual(cw);
    expect(await page.evaluate(() => (globalThis as any).__timelineApi.view.msPerPx)).toBe(zoom);
    // reveal() right after the scrollbar moved (in the same script: its scroll event comes at the next frame):
    // from where the lanes are (the bottom, node 20 above the view), not where they were drawn (node 20 in view).
    expect(
      await scroll.evaluate((e: any) => {
        e.scrollTop = e.scrollHeight;
        return (globalThis as any).__timelineApi.reveal('20', 'post');
      }),
    ).toBe(true);
    await page.waitForFunction(() => {
      const b = (globalThis as any).__timeline.bar('20', 'post');
      return b.y > 24 && b.y + b.h <= (globalThis as any).document.querySelector('#timeline canvas').clientHeight;
    });
    await frames(page); // the scroll event has come: the lane stays in view
    const r20 = (await bar(page, '20', 'post'))!;
    expect(r20.y).toBeGreaterThan(24);
    expect(r20.y + r20.h).toBeLessThanOrEqual((await canvasBox(page)).height);
    expect(await scroll.evaluate((e: any) => e.scrollTop)).toBe(await page.evaluate(() => (globalThis as any).__timelineApi.view.yOff));
    await page.locator('#timeline .tl-fit').click();
    await page.waitForFunction(() => (globalThis as any).__timelineApi.getWindow() === null);
  });

  it('shows each node with its roles in the gutter, its host name in the tooltip and when announced', async () => {
    await page.setViewportSize(DESKTOP);
    await open(runs.failed, 10);
    // The run's nodes as GET /transactions/:id/nodes gives them (part A's route; the run view passes them on).
    await page.evaluate(() => {
      const info = new Map<string | null, { roles: string[]; hostname: string | null }>([
        ['master', { roles: ['master'], hostname: 'fuel.domain.tld' }],
        ['1', { roles: ['controller'], hostname: 'node-1.domain.tld' }],
        ['2', { roles: ['compute'], hostname: 'node-2.domain.tld' }],
        ['8', { roles: ['ceph-osd', 'compute', 'cinder', 'mongo'], hostname: 'node-8.domain.tld' }],
      ]);
      (globalThis as any).__timelineApi.setNodeInfo(info);
    });
    await page.waitForFunction(() => (globalThis as any).__timeline.stats.gutter.includes('node 1 · controller'));
    const gutter = (await stats(page)).gutter;
    expect(gutter.slice(0, 4)).toEqual(['cluster', 'master · master', 'node 1 · controller', 'node 2 · compute']);
    // Too long for the gutter: ellipsised.
    expect(gutter[4]).toMatch(/^node 8 · ceph-osd.*…$/);
    const c = await canvasBox(page);
    const b = (await bar(page, '1', 'ceph'))!;
    await page.mouse.move(c.x + 30, c.y + b.y + b.h / 2);
    await page.locator('#tooltip', { hasText: 'node-1.domain.tld' }).waitFor();
    expect(await page.locator('#tooltip').textContent()).toContain('roles controller');
    await page.mouse.move(0, 0);
  });

  it('moves between tasks by keyboard with a focus ring, announces each, opens one with Enter', async () => {
    await page.setViewportSize(DESKTOP);
    await open(runs.failed, 10);
    await page.evaluate(() =>
      (globalThis as any).__timelineApi.setNodeInfo(new Map([['1', { roles: ['controller'], hostname: 'node-1.domain.tld' }]])),
    );
    await page.evaluate(() => (globalThis as any).__timelineApi.select(null)); // the keyboard starts from nothing selected
    const scroll = page.locator('#timeline .tl-scroll');
    expect(await scroll.getAttribute('tabindex')).toBe('0');
    expect(await scroll.getAttribute('aria-label')).toMatch(
      new RegExp(`^Timeline of run #${runs.failed}: 10 tasks on 5 nodes; arrow keys move between tasks, Enter opens`),
    );
    // Tab into the timeline (from the page's start).
    await page.locator('body').focus();
    for (let i = 0; i < 40 && !(await scroll.evaluate((e: any) => e === (globalThis as any).document.activeElement)); i++)
      await page.keyboard.press('Tab');
    expect(await scroll.evaluate((e: any) => e === (globalThis as any).document.activeElement)).toBe(true);

    // The first key lands on the first task of the first lane in view (the cluster-level lane's marker).
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => (globalThis as any).__timeline.stats.focused);
    expect((await stats(page)).focused).toEqual({ node: null, task: 'post_deploy' });
    await page.keyboard.press('ArrowDown'); // master
    await page.keyboard.press('ArrowDown'); // node 1: the task nearest in time
    await page.keyboard.press('End');
    expect((await stats(page)).focused).toEqual({ node: '1', task: 'ceph' });
    const live = page.locator('#timeline [aria-live="polite"]');
    await page.waitForFunction(() =>
      /ceph on node 1/.test((globalThis as any).document.querySelector('#timeline [aria-live]').textContent),
    );
    const said = (await live.textContent())!;
    expect(said).toContain(`ceph on node 1 (controller, node-1.domain.tld): error, 20.0 s, started ${at(t1, 30).slice(11, 19)} UTC`);
    await page.keyboard.press('ArrowLeft');
    expect((await stats(page)).focused).toEqual({ node: '1', task: 'netconfig' });
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown'); // node 2: nearest in time to ceph (30–50 s)
    expect((await stats(page)).focused).toEqual({ node: '2', task: 'netconfig' });
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    expect((await stats(page)).focused).toEqual({ node: '1', task: 'ceph' });

    // The focus ring: blue, around the focused bar.
    await frames(page);
    const b = (await bar(page, '1', 'ceph'))!;
    const ring = await pixel(page, b.x + b.w / 2, b.y - 5.5);
    expect(ring).toBe(RING);
    await screenshots(page, 'timeline-focus');

    // Enter opens the task, as a click does.
    await page.keyboard.press('Enter');
    await page.locator('#detail', { hasText: 'ceph-deploy failed' }).waitFor();
    // +, − and 0 zoom and fit.
    await scroll.focus();
    await page.keyboard.press('+');
    await page.waitForFunction(() => (globalThis as any).__timelineApi.getWindow() !== null);
    const w1 = (await getWindow(page))!;
    await page.keyboard.press('-');
    await page.waitForFunction((span) => {
      const w = (globalThis as any).__timelineApi.getWindow();
      return w && w.to - w.from > span;
    }, w1.to - w1.from);
    await page.keyboard.press('0');
    expect(await getWindow(page)).toBeNull();

    await axeOnTimeline('run view (desktop, detail open)');
  });

  it('on a phone: one finger pans, two fingers pinch-zoom around their midpoint, a double tap fits; zoom buttons; no page overflow', async () => {
    await page.setViewportSize(PHONE);
    await open(runs.wide, 248);
    // A narrower gutter on a phone, the names still there (ellipsised when long).
    const v0 = await page.evaluate(() => {
      const v = (globalThis as any).__timelineApi.view;
      return { gutter: v.gutter as number, width: v.width as number };
    });
    expect(v0.gutter).toBeLessThan(120);
    expect(v0.width).toBeLessThanOrEqual(PHONE.width);
    expect(await horizontalOverflow(page)).toBe(0);
    // The page may be panned by touch over the timeline (the lanes' own scroll): not touch-action none.
    expect(await page.locator('#timeline canvas').evaluate((e: any) => (globalThis as any).getComputedStyle(e).touchAction)).toBe('pan-y');

    const touch = (type: string, id: number, x: number, y: number) =>
      page.evaluate(
        ([type, id, x, y]) => {
          const c = (globalThis as any).document.querySelector('#timeline canvas');
          const r = c.getBoundingClientRect();
          const PE = (globalThis as any).PointerEvent;
          c.dispatchEvent(
            new PE(type, {
              pointerId: id,
              pointerType: 'touch',
              isPrimary: id === 1,
              clientX: r.left + x,
              clientY: r.top + y,
              bubbles: true,
              buttons: type === 'pointerup' ? 0 : 1,
            }),
          );
        },
        [type, id, x, y] as const,
      );
    // Two fingers spread apart around x=250: zoom in there.
    await touch('pointerdown', 1, 220, 120);
    await touch('pointerdown', 2, 280, 120);
    for (let d = 40; d <= 120; d += 20) {
      await touch('pointermove', 1, 250 - d, 120);
      await touch('pointermove', 2, 250 + d, 120);
    }
    await touch('pointerup', 1, 130, 120);
    await touch('pointerup', 2, 370, 120);
    const zoomed = (await getWindow(page))!;
    expect(zoomed).not.toBeNull();
    expect(zoomed.to - zoomed.from).toBeLessThan(1500_000 / 2);
    // One finger pans: dragging left shows later times.
    await touch('pointerdown', 1, 300, 150);
    for (const x of [280, 250, 220, 200]) await touch('pointermove', 1, x, 150);
    await touch('pointerup', 1, 200, 150);
    const panned = (await getWindow(page))!;
    expect(panned.from).toBeGreaterThan(zoomed.from);
    expect(panned.to - panned.from).toBeCloseTo(zoomed.to - zoomed.from, -3);
    // Real touches (Chromium's own touch handling, touch-action included): a sideways swipe pans in time,
    // an upward swipe scrolls the lanes (the browser's own scroll of the container), a pinch zooms.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
    // On a phone the run's header and filters come first: the timeline is below them.
    await page.locator('#timeline canvas').scrollIntoViewIfNeeded();
    const c = await canvasBox(page);
    const swipe = async (pts: Array<[number, number]>, second?: Array<[number, number]>) => {
      const at = (i: number) => [pts[i], ...(second ? [second[i]] : [])].map(([x, y], id) => ({ x: c.x + x, y: c.y + y, id }));
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(0) });
      for (let i = 1; i < pts.length; i++) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(i) });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
      await frames(page);
    };
    const timeAt = (x: number) =>
      page.evaluate((px) => {
        const v = (globalThis as any).__timelineApi.view;
        return v.x0 + (px - v.gutter) * v.msPerPx;
      }, x);
    const beforeSwipe = (await getWindow(page))!;
    await swipe([
      [300, 200],
      [290, 202],
      [270, 203],
      [240, 204],
      [200, 205],
    ]);
    const swiped = (await getWindow(page))!;
    expect(swiped.from).toBeGreaterThan(beforeSwipe.from + (beforeSwipe.to - beforeSwipe.from) / 10);
    const scrollTop = () => page.locator('#timeline .tl-scroll').evaluate((e: any) => e.scrollTop as number);
    const top0 = await scrollTop();
    await swipe([
      [200, 400],
      [201, 380],
      [202, 340],
      [203, 280],
      [204, 200],
    ]);
    expect(await scrollTop()).toBeGreaterThan(top0 + 100);
    // Two fingers spreading around x=250: zoom in, the time under their midpoint kept.
    const w0 = (await getWindow(page))!;
    const mid0 = await timeAt(250);
    await swipe(
      [
        [230, 150],
        [220, 150],
        [200, 150],
        [180, 150],
        [150, 150],
      ],
      [
        [270, 150],
        [280, 150],
        [300, 150],
        [320, 150],
        [350, 150],
      ],
    );
    const w2 = (await getWindow(page))!;
    expect(w2.to - w2.from).toBeLessThan((w0.to - w0.from) / 2);
    expect(Math.abs((await timeAt(250)) - mid0)).toBeLessThan(((w0.to - w0.from) / (PHONE.width - v0.gutter)) * 12);
    await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: false });
    // A double tap fits.
    for (let i = 0; i < 2; i++) {
      await touch('pointerdown', 1, 200, 10); // on the axis: a tap there picks no task
      await touch('pointerup', 1, 200, 10);
    }
    expect(await getWindow(page)).toBeNull();
    // The zoom buttons, with accessible names.
    expect(
      await page.locator('#timeline .tl-controls button').evaluateAll((bs) => bs.map((b: any) => b.getAttribute('aria-label'))),
    ).toEqual(['Zoom out', 'Zoom in', 'Fit the whole run']);
    await page.locator('#timeline .tl-zoom-in').click();
    const w1 = (await getWindow(page))!;
    expect(w1.to - w1.from).toBeLessThan(1500_000);
    await page.locator('#timeline .tl-zoom-out').click();
    expect((await getWindow(page))!.to - (await getWindow(page))!.from).toBeGreaterThan(w1.to - w1.from);
    await page.locator('#timeline .tl-zoom-in').click();
    await page.locator('#timeline .tl-zoom-in').click();
    await frames(page);
    expect(await horizontalOverflow(page)).toBe(0);
    await axeOnTimeline('run view (phone)');
    await screenshots(page, 'timeline-phone');
    await page.setViewportSize(DESKTOP);
  });

  it('says the controls as they are (Timeline.HINT), and reports draw times (7,440 tasks, fitted and zoomed with names)', async () => {
    await page.setViewportSize(DESKTOP);
    // 62 nodes of 120 tasks: the size of the 7,210-row run.
    const graph: Graph = {};
    const rows = [];
    const t0 = Date.now() - 20_000_000;
    for (let n = 1; n <= 62; n++) {
      graph[String(n)] = Array.from({ length: 120 }, (_, i) => ({ id: `custom-step-${i}`, type: 'shell' }));
      for (let i = 0; i < 120; i++) rows.push(...ran(String(n), `custom-step-${i}`, t0, i * 30 + (n % 5), i * 30 + 25));
    }
    const [{ transaction_id: id }] = await cast(
      start('tl-big', { id: 83, name: 'tl-big', release: 'mitaka-9.0' }, graph, { time: at(t0, 0) }),
    );
    await cast(resp('tl-big', rows), finish('tl-big', 'ready', { time: at(t0, 3700) }));
    await open(id, 7440);
    const fitted = await page.evaluate(() => (globalThis as any).__timeline.stats as { firstDrawMs: number; labels: unknown[] });
    expect(fitted.labels).toEqual([]);
    // Zoomed so that bars are about 60 px wide: every bar in view carries its name.
    const drawMs = await page.evaluate(
      ([from, to]) => {
        const api = (globalThis as any).__timelineApi;
        api.setWindow({ from, to });
        const times = [];
        for (let i = 0; i < 5; i++) {
          const t = performance.now();
          api.draw();
          times.push(performance.now() - t);
        }
        return { ms: Math.min(...times), labels: api.stats.labels.length as number };
      },
      [Date.parse(at(t0, 600)), Date.parse(at(t0, 1200))],
    );
    expect(drawMs.labels).toBeGreaterThan(100);
    console.log(
      `7,440-task run: first draw ${fitted.firstDrawMs.toFixed(1)} ms; a zoomed redraw with ${drawMs.labels} names ${drawMs.ms.toFixed(1)} ms`,
    );
    const hint = await page.evaluate(() => (globalThis as any).__timelineApi.constructor.HINT as string);
    for (const words of ['wheel: scroll nodes', 'ctrl+wheel or pinch: zoom', 'drag', 'arrows', 'Enter: open'])
      expect(hint).toContain(words);
    expect(ui.refused).toEqual([]);
    expect(ui.pageErrors).toEqual([]);
  });
});
