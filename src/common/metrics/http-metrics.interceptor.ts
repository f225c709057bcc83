import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Observable, finalize } from 'rxjs';
import { Metrics } from './metrics.service';

/** Times every HTTP request, labelled by its route template (not its path, which holds ids). */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(private readonly metrics: Metrics) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const started = performance.now();
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      finalize(() => {
        const route = (req.route?.path as string | undefined) ?? 'unmatched';
        // Errors are answered after this point by the filters: count them with their final status.
        res.once('finish', () => this.metrics.httpRequest(req.method, route, res.statusCode, (performance.now() - started) / 1000));
      }),
    );
  }
}
