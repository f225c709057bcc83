import { Module } from '@nestjs/common';
import { ClustersModule } from './clusters/clusters.module';
import { AuthModule } from './common/auth/auth.module';
import { ConfigModule } from './common/config/config.module';
import { DatabaseModule } from './common/database/database.module';
import { ErrorsModule } from './common/errors/errors.module';
import { HealthModule } from './common/health/health.module';
import { RequestBodyModule } from './common/http/request-body.module';
import { LoggingModule } from './common/logging/logging.module';
import { MetricsModule } from './common/metrics/metrics.module';
import { HistoryModule } from './history/history.module';
import { ReceiverModule } from './receiver/receiver.module';

@Module({
  imports: [
    ConfigModule,
    LoggingModule,
    MetricsModule,
    AuthModule,
    RequestBodyModule,
    DatabaseModule,
    ErrorsModule,
    // Before the others: Nest registers routes in this order, and Express tries them in turn for every
    // request. The receiver's POST /casts is the hot path (one request per cast from some orchestrators):
    // first, it is found after ~10 route matches instead of ~80 (issue #17). No route of the others
    // matches its three (POST /casts, POST /transactions, GET /receiver/stats), so none is shadowed.
    ReceiverModule,
    HealthModule,
    ClustersModule,
    HistoryModule,
  ],
})
export class AppModule {}
