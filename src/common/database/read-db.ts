import { DataSource } from 'typeorm';
import { getDataSourceToken } from '@nestjs/typeorm';
import type { FactoryProvider, OnApplicationShutdown } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/app-config';
import { pgDriver } from './pg-driver';
import { TypeOrmLogger } from './typeorm-logger';

/**
 * What the REST reads that may lag run their statements on: a read replica (DATABASE_READ_URL), or
 * the primary when none is configured. Only plain SELECTs may go there: writes, transactions (every
 * lock, every kept answer's "if unchanged" check) and the live stream (LISTEN/NOTIFY, rows just
 * committed) stay on the primary DataSource.
 */
export const READ_DB = Symbol('READ_DB');

/** The replica's DataSource, closed with the app (the primary's is TypeOrmModule's). */
class ReplicaDataSource extends DataSource implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    if (this.isInitialized) await this.destroy();
  }
}

export const readDbProvider: FactoryProvider<DataSource> = {
  provide: READ_DB,
  inject: [APP_CONFIG, getDataSourceToken()],
  useFactory: async (config: AppConfig, primary: DataSource): Promise<DataSource> => {
    if (!config.databaseReadUrl) return primary;
    return new ReplicaDataSource({
      type: 'postgres',
      driver: pgDriver,
      url: config.databaseReadUrl,
      synchronize: false,
      migrationsRun: false,
      logging: ['error', 'warn'],
      logger: new TypeOrmLogger(),
      // Read-only sessions: a write that strayed here fails at once (25006) on a server that would take it.
      extra: {
        max: 10,
        application_name: 'deployment-history-read',
        connectionTimeoutMillis: 5000,
        options: '-c default_transaction_read_only=on',
      },
    }).initialize();
  },
};
