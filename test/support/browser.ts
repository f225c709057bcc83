import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startApp, type TestApp } from './app';

/**
 * What the web page's browser tests share: the real app listening on its own port, Debian's Chromium
 * driven by playwright-core (own empty profile), the CSP refusals seen, axe-core run in the page, and
 * screenshots at 1440 and 390 px in test-artifacts/ui/ (not committed: .gitignore).
 */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** Where the browser tests write their screenshots (a reviewer looks there). */
export const SCREENSHOTS = join(__dirname, '..', '..', 'test-artifacts', 'ui');
export const DESKTOP = { width: 1440, height: 900 };
export const PHONE = { width: 390, height: 844 };
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface UiHarness {
  t: TestApp;
  /** http://127.0.0.1:PORT */
  base: string;
  browser: BrowserContext;
  page: Page;
  /** Whatever the page's Content-Security-Policy refused, and the page's uncaught errors. */
  refused: string[];
  pageErrors: string[];
  close: () => Promise<void>;
}

/** The app (on a fresh database) and Chromium, one page open at desktop size. */
export async function startUi(opts: Parameters<typeof startApp>[0] = {}): Promise<UiHarness> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const t = await startApp(opts);
  await t.app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(t.app.getHttpServer().address() as { port: number }).port}`;
  const profile = mkdtempSync(join(tmpdir(), 'dh-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
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
    viewport: DESKTOP,
    acceptDownloads: true,
  });
  const refused: string[] = [];
  const pageErrors: string[] = [];
  await browser.addInitScript(() => {
    const report = (e: any) => console.error(`Content Security Policy refused ${e.violatedDirective}: ${e.blockedURI}`);
    (globalThis as any).document.addEventListener('securitypolicyviolation', report);
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => void (/Content Security Policy/i.test(m.text()) && refused.push(m.text())));
  return {
    t,
    base,
    browser,
    page,
    refused,
    pageErrors,
    close: async () => {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
      await t.close();
    },
  };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * axe-core's violations on the page as it is now (WCAG 2 A/AA and best practices), one line per rule
 * with the selectors of what broke it. Injected by evaluate, not by a <script> tag: the page's CSP
 * allows no script but its own.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (globalThis as any).axe;
    const r = await axe.run((globalThis as any).document, { resultTypes: ['violations'] });
    return r.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n: any) => String(n.target.join(' ')) + (n.failureSummary ? ` — ${n.failureSummary}` : '')),
    }));
  });
}

/** Fails with axe-core's findings (readable) when the page as it is now has any. */
export async function expectNoAxeViolations(page: Page, where: string): Promise<void> {
  const v = await axeViolations(page);
  if (v.length)
    throw new Error(
      `axe-core on ${where}:\n${v.map((x) => `- ${x.id} (${x.impact}): ${x.help}\n    ${x.nodes.join('\n    ')}`).join('\n')}`,
    );
}

/**
 * Screenshots of the page as it is now at 1440 and at 390 px wide (test-artifacts/ui/NAME-1440.png,
 * NAME-390.png), the viewport set back to what it was.
 */
export async function screenshots(page: Page, name: string): Promise<void> {
  const was = page.viewportSize() ?? DESKTOP;
  for (const size of [DESKTOP, PHONE]) {
    await page.setViewportSize(size);
    await page.evaluate(
      () => new Promise((r) => (globalThis as any).requestAnimationFrame(() => (globalThis as any).requestAnimationFrame(r))),
    );
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${size.width}.png`), fullPage: true });
  }
  await page.setViewportSize(was);
}

/** The page's horizontal overflow: how far the document is wider than the viewport (0 when it fits). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const d = (globalThis as any).document.documentElement;
    return Math.max(0, d.scrollWidth - d.clientWidth);
  });
}
