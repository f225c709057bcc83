import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Metrics } from './metrics.service';

/**
 * Times every HTTP request, labelled by its route template (not its path, which holds ids), with its
 * final status (errors included: they are answered before `finish`). A middleware rather than a global
 * interceptor, because an interceptor would also wrap every message of the bus consumer, at a cost
 * per message that showed at scale.
 */
@Injectable()
export class HttpMetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: Metrics) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const started = performance.now();
    res.once('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      this.metrics.httpRequest(req.method, route, res.statusCode, (performance.now() - started) / 1000);
    });
    next();
  }
}
