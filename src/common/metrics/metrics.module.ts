import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { Metrics } from './metrics.service';

/**
 * Prometheus metrics: the registry and GET /metrics. The HTTP timings of every route are taken by
 * httpMetrics (http-metrics.middleware.ts), which configureApp registers.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [Metrics],
  exports: [Metrics],
})
export class MetricsModule {}
