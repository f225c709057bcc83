import type { NextFunction, Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Files of the built page (web/build.js writes them to dist/web/). */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'main.js': 'text/javascript; charset=utf-8',
  'main.js.map': 'application/json; charset=utf-8',
  'main.css': 'text/css; charset=utf-8',
};

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
 * (ts-node, ts-jest); UI_DIR overrides.
 */
export function uiDirectory(): string | undefined {
  const candidates = [process.env.UI_DIR, resolve(__dirname, '../../web'), resolve(__dirname, '../../dist/web')].filter(
    (d): d is string => !!d,
  );
  return candidates.find((d) => existsSync(join(d, 'index.html')) && existsSync(join(d, 'main.js')));
}

/**
 * The web page (clusters → runs → one run's timeline) at /ui/, and / redirecting to it. Served as
 * Express middleware, like Swagger UI, outside Nest's routes and guards: the page holds no data and is
 * public; it asks for a token when the API answers 401. Not in the Swagger document.
 */
export function serveUi() {
  const dir = uiDirectory();
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const path = req.path;
    const m = /^\/ui(?:\/([^/]*))?$/.exec(path);
    if (path !== '/' && !m) return next();
    res.set(UI_HEADERS);
    if (!m) return res.redirect(302, '/ui/');
    const file = m[1] || 'index.html';
    if (!Object.prototype.hasOwnProperty.call(FILES, file)) {
      res.status(404).json({ statusCode: 404, message: `No such file in the page: ${file}` });
      return;
    }
    if (!dir) {
      res.status(503).json({ statusCode: 503, message: 'The web page is not built: run `npm run build`' });
      return;
    }
    res.setHeader('Content-Type', FILES[file]);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(join(dir, file));
  };
}
