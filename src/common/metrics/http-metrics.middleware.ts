import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Metrics } from './metrics.service';

/**
 * Times every HTTP request, labelled by its route template (not its path, which holds ids), with its
 * final status (errors included: they are answered before `finish`); a request that no route took is
 * `unmatched`. A middleware rather than a global interceptor, because an interceptor would also wrap
 * every message of the bus consumer, at a cost per message that showed at scale.
 *
 * Registered by configureApp (bootstrap.ts) as one plain Express layer, not through Nest's
 * MiddlewareConsumer: `forRoutes('{*path}')` under the global prefix made 9 router layers (the prefix, its
 * wildcard, each excluded route with and without its slash), each a path match for every request
 * (issue #17: the router's matching was ~8 % of the service's CPU per `POST /casts`).
 */
export function httpMetrics(metrics: Metrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = performance.now();
    res.once('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.httpRequest(req.method, route, res.statusCode, (performance.now() - started) / 1000);
    });
    next();
  };
}
