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
    HealthModule,
    ClustersModule,
    HistoryModule,
    ReceiverModule,
  ],
})
export class AppModule {}
