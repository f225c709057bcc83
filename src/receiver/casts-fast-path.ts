import { Logger, PayloadTooLargeException } from '@nestjs/common';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { PinoLogger } from 'nestjs-pino';
import { storage, Store } from 'nestjs-pino/storage';
import { accessRefusal } from '../common/auth/auth.guard';
import type { Access } from '../common/auth/auth.decorators';
import type { AppConfig } from '../common/config/app-config';
import { errorAnswer } from '../common/errors/error-answer.filter';
import { compressAnswers } from '../common/http/compression';
import { BODY_MAX_BYTES, contentEncoding, parseJsonBody, readBody } from '../common/http/request-body';
import { requestId, requestLogLevel } from '../common/logging/logging.module';
import type { Metrics } from '../common/metrics/metrics.service';
import { busyAnswered } from './casts.controller';
import type { CastsService } from './casts.service';

/**
 * POST /casts without the framework, for the requests that need nothing of it.
 *
 * Why: some orchestrators send one cast per request (ARA's way). Through Express and Nest such a request
 * cost the service ~1.4 ms of CPU (issue #17: Express's router and its request/response wrapping, Nest's
 * guard, interceptor and pipe chain with their rxjs and AsyncResource layers, pino-http's child logger
 * and serializers, compression's wrapping), where node:http alone answers for ~0.2 ms; that, not the
 * database, bounded the rate of the HTTP path.
 *
 * What it takes: `POST /api/v1/casts` (or Fuel's `/api/casts`, with or without the trailing slash), no
 * query string, a JSON body (`application/json`, UTF-8 if a charset is given, no content encoding) of a
 * declared length within BODY_MAX_BYTES, no `Expect`, and a token the gate lets through (accessRefusal,
 * the guard's own rule). Everything else — a refused token, a query string (its 400 naming parameters),
 * compressed, chunked, large or non-JSON bodies, odd spellings of the path — is handed to Express and Nest
 * untouched (nothing of it read), and answered there as before. POST /api/v1/casts stays a Nest route
 * (the OpenAPI document, and every request this leaves alone).
 *
 * What it keeps of the full way: the body read by the same reader (readBody, parseJsonBody: its 400s),
 * the casts applied by the same CastsService.applyHttp (validation, the shared batcher, 404/400/503),
 * every error answered by THE mapping (errorAnswer: the one JSON shape, Retry-After on 503), the request
 * id (requestId: taken or made, returned in `X-Request-Id`, bound to what is logged while it is served), the timing metric under the route's name,
 * compression of answers of 1 KB or more as compressAnswers() decides, and a request log line at the
 * level pino-http would use (requestLogLevel), lighter: id, method, path, client address, status, time,
 * never headers or bodies. Express's `ETag` of a POST's answer (which no client can use) is not sent.
 */
export interface CastsFastPathDeps {
  casts: CastsService;
  config: AppConfig;
  metrics: Metrics;
  /** What the route needs of the gate (its @AdminOnly()): read from the Nest handler, not said twice. */
  needs: Access;
  /** The route's name in the timing metric: Nest's route path. */
  route: string;
}

/** The paths taken: the API's, and Fuel's `/api/` alias that bootstrap.ts rewrites for Nest. */
const PATHS = new Set(['/api/v1/casts', '/api/v1/casts/', '/api/casts', '/api/casts/']);
/** JSON, as `req.is('application/json')` takes it, in its plain spellings; others take the full way. */
const JSON_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-?8"?\s*)?$/i;
/** compression's own threshold: smaller answers are never compressed, so they need not be wrapped. */
const COMPRESS_FROM_BYTES = 1024;

/**
 * A `request` listener for the HTTP server, in front of Express: true when it took the request (and
 * will answer it), false when the request is left, untouched, to the listeners behind it (Express's app).
 */
export function castsFastPath(deps: CastsFastPathDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const maxBytes = Math.min(BODY_MAX_BYTES, deps.config.bodyMaxCastsBytes);
  const compress = compressAnswers();
  const takes = (req: IncomingMessage): number | undefined => {
    if (req.method !== 'POST' || !PATHS.has(req.url ?? '')) return undefined;
    const h = req.headers;
    if (h.expect !== undefined || h['transfer-encoding'] !== undefined) return undefined;
    const length = Number(h['content-length']);
    if (!(length >= 0 && length <= maxBytes)) return undefined;
    // The body reader's own rule (an encoding it does not know throws: caught below, the full way answers its 415).
    if (contentEncoding(req) !== 'identity') return undefined;
    if (!JSON_TYPE.test(h['content-type'] ?? '')) return undefined;
    if (accessRefusal(deps.config.auth, deps.needs, req)) return undefined;
    return length;
  };

  const send = (req: IncomingMessage, res: ServerResponse, status: number, json: string): void => {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Vary', 'Accept-Encoding');
    // compression decides (and wraps the answer) only when it may compress: as Express's middleware would.
    if (json.length >= COMPRESS_FROM_BYTES && req.headers['accept-encoding'] !== undefined) compress(req as never, res as never, noop);
    res.setHeader('Content-Length', Buffer.byteLength(json));
    res.end(json);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, length: number, id: string): Promise<void> => {
    const started = performance.now();
    res.once('finish', () => {
      const ms = performance.now() - started;
      deps.metrics.httpRequest('POST', deps.route, res.statusCode, ms / 1000);
      const level = requestLogLevel(res.statusCode);
      const log = PinoLogger.root;
      if (log?.isLevelEnabled(level)) {
        // Through pino-http's serializers, as its own lines: the request without its headers (no credential to
        // redact, less to write), the answer as it is (status, headers).
        log[level](
          { req: { id, method: req.method, url: req.url, socket: req.socket }, res, responseTime: Math.round(ms) },
          res.statusCode >= 500 ? 'request errored' : 'request completed',
        );
      }
    });
    try {
      const tooLarge = () => new PayloadTooLargeException({ statusCode: 413, message: 'the request body is larger than it said' });
      const body = await parseJsonBody(await readBody(req, 'identity', length, maxBytes, tooLarge));
      send(req, res, 200, JSON.stringify(await busyAnswered(deps.casts.applyHttp(body), res)));
    } catch (e) {
      const { status, body, headers } = errorAnswer(e, id);
      if (res.headersSent) {
        res.end();
        return;
      }
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      send(req, res, status, JSON.stringify(body));
    }
  };

  return (req, res) => {
    let length: number | undefined;
    try {
      length = takes(req);
    } catch {
      // Whatever the fast path cannot judge goes the full way, which answers it.
      return false;
    }
    if (length === undefined) return false;
    // The request's own logger for what is logged while it is served (a skipped entry's warning, say), as
    // nestjs-pino binds one per request on the full way: those lines carry the request's id too.
    const root = PinoLogger.root;
    const id = requestId(req, res);
    const served = () => serve(req, res, length, id);
    (root ? storage.run(new Store(root.child({ req: { id, method: req.method, url: req.url } })), served) : served()).catch(
      (e: unknown) => {
        // Not reached (serve answers its errors); were it, the request ends rather than the process.
        new Logger('HTTP').error(`POST /casts fast path: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        res.destroy();
      },
    );
    return true;
  };
}

/** Puts `fast` in front of the server's `request` listeners (Express's app): what it does not take goes on to them. */
export function mountInFront(server: Server, fast: (req: IncomingMessage, res: ServerResponse) => boolean): void {
  const rest = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req, res) => {
    if (fast(req, res)) return;
    for (const listener of rest) listener.call(server, req, res);
  });
}

const noop = () => undefined;
