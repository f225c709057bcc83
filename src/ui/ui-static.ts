import type { NextFunction, Request, Response } from 'express';
import { strongEtag } from '../common/http/etag';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Types of the built page's files by their ending (web/build.js writes them to dist/web/). */
const TYPES: ReadonlyArray<[string, string]> = [
  ['.js.map', 'application/json; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
];
/** How long a browser keeps an asset named after its content: a year, never revalidated (its content never changes). */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * Headers of every answer of the page (its files, the redirect to it, its 404s). The page needs nothing
 * beyond its own origin: its script and stylesheet are files (no inline <script> or <style>; styles set
 * from script go through the CSSOM, which CSP allows), it draws on a <canvas>, and fetches the API and
 * its live stream (fetch, not EventSource) from the same origin; "Export CSV" downloads a blob: link,
 * which is a navigation CSP does not govern. The token form is handled by script, never submitted
 * (`form-action 'none'`: a token must not end up in a URL). No framing (clickjacking): CSP's
 * frame-ancestors and, for older browsers, X-Frame-Options. No referrer: URLs name runs and clusters.
 */
export const UI_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/**
 * Where the built page is: dist/web/, found from dist/src/ui/ (the built service) or from src/ui/
 * (ts-node, ts-jest); UI_DIR overrides. A built page has its manifest (web/build.js): the sources in
 * web/ have an index.html too, not a built one.
 */
export function uiDirectory(): string | undefined {
  const candidates = [process.env.UI_DIR, resolve(__dirname, '../../web'), resolve(__dirname, '../../dist/web')].filter(
    (d): d is string => !!d,
  );
  return candidates.find((d) => existsSync(join(d, 'index.html')) && existsSync(join(d, MANIFEST)));
}

/** What web/build.js wrote: the current asset names (`main.js` → `main.<hash>.js`...). */
const MANIFEST = 'manifest.json';

/** The built page as served: its index.html with its ETag, and its assets' names (those of manifest.json). */
interface BuiltPage {
  /** The manifest's modification time and size when read: a new build is read again. */
  stamp: string;
  index: Buffer;
  /** A strong validator: the hash of index.html's bytes. */
  etag: string;
  assets: ReadonlySet<string>;
}

/**
 * The page as built, read again when the build changes (the manifest is written last): its index.html
 * is served from memory, revalidated by its ETag; only the asset names of this build are served.
 */
async function builtPage(dir: string, last: BuiltPage | undefined): Promise<BuiltPage> {
  const st = await stat(join(dir, MANIFEST));
  const stamp = `${st.mtimeMs}:${st.size}`;
  if (last?.stamp === stamp) return last;
  const [manifest, index] = await Promise.all([readFile(join(dir, MANIFEST), 'utf8'), readFile(join(dir, 'index.html'))]);
  const names = JSON.parse(manifest) as Record<string, string>;
  return { stamp, index, etag: strongEtag(index), assets: new Set(Object.values(names)) };
}

/**
 * The web page (clusters → runs → one run's timeline) at /ui/, and / redirecting to it. Served as
 * Express middleware, like Swagger UI, outside Nest's routes and guards: the page holds no data and is
 * public; it asks for a token when the API answers 401. Not in the Swagger document.
 *
 * Caching: index.html (and /ui/) is `no-cache` with a strong ETag, so a browser asks each visit and gets
 * 304 while the build is the same; the script, its map and the stylesheet are named after their content
 * (web/build.js) and cached for a year, `immutable`. Any other name is a 404, the old `main.js` included.
 */
export function serveUi() {
  const dir = uiDirectory();
  let page: BuiltPage | undefined;
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const path = req.path;
    const m = /^\/ui(?:\/([^/]*))?$/.exec(path);
    if (path !== '/' && !m) return next();
    res.set(UI_HEADERS);
    if (!m) return res.redirect(302, '/ui/');
    const file = m[1] || 'index.html';
    const notFound = () => {
      // Not the asset's type nor its year of caching: a JSON error, which a new build may make obsolete.
      res.removeHeader('Content-Type');
      res.removeHeader('Cache-Control');
      res.status(404).json({ statusCode: 404, message: `No such file in the page: ${file}` });
    };
    if (!dir) {
      res.status(503).json({ statusCode: 503, message: 'The web page is not built: run `npm run build`' });
      return;
    }
    builtPage(dir, page).then(
      (built) => {
        page = built;
        if (file === 'index.html') {
          res.setHeader('Content-Type', 'text/html; charset=utf-8');
          res.setHeader('Cache-Control', 'no-cache');
          res.setHeader('ETag', built.etag);
          // Express answers 304 when If-None-Match names this ETag (req.fresh), without the body.
          res.send(built.index);
          return;
        }
        const type = TYPES.find(([ending]) => file.endsWith(ending));
        if (!type || !built.assets.has(file)) return notFound();
        res.setHeader('Content-Type', type[1]);
        res.setHeader('Cache-Control', IMMUTABLE);
        // send answers HEAD, ranges and conditional requests (its own ETag and Last-Modified) itself.
        res.sendFile(join(dir, file), { cacheControl: false }, (err?: Error & { status?: number }) => {
          if (!err || res.headersSent) return;
          if (err.status === 404) return notFound();
          next(err);
        });
      },
      (err: unknown) => next(err),
    );
  };
}
