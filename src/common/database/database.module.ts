import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';
import { DatabaseServer } from './database-server';
import { runMigrationsLocked } from './migrate';
import { pgDriver } from './pg-driver';
import { READ_DB, readDbProvider } from './read-db';
import { StoreHealth } from './store-health';
import { TypeOrmLogger } from './typeorm-logger';

@Global()
@Module({ providers: [DatabaseServer], exports: [DatabaseServer] })
class DatabaseServerModule {}

@Global()
@Module({ providers: [StoreHealth], exports: [StoreHealth] })
class StoreHealthModule {}

/** READ_DB: DATABASE_READ_URL's replica, or the primary (read-db.ts). */
@Global()
@Module({ providers: [readDbProvider], exports: [READ_DB] })
class ReadDbModule {}

/**
 * TypeORM on PostgreSQL. Entities come from the feature modules (autoLoadEntities); the schema
 * comes only from the migrations, run at boot under an advisory lock. `synchronize` stays off.
 */
@Module({
  imports: [
    DatabaseServerModule,
    TypeOrmModule.forRootAsync({
      inject: [DatabaseServer],
      useFactory: async (server: DatabaseServer) => ({
        type: 'postgres' as const,
        // pg, with a pool whose connection failures carry a class of their own (pg-driver.ts).
        driver: pgDriver,
        url: await server.url(),
        autoLoadEntities: true,
        synchronize: false,
        migrationsRun: false,
        migrations: MIGRATIONS,
        logging: ['error' as const, 'warn' as const, 'migration' as const],
        logger: new TypeOrmLogger(),
        // A connection attempt that gets no answer (a host gone, a firewall dropping packets) fails after
        // 5 s instead of hanging a write, and the outage handling (StoreHealth) takes over.
        extra: { max: 10, application_name: 'deployment-history', connectionTimeoutMillis: 5000 },
      }),
      dataSourceFactory: async (options) => {
        const ds = await new DataSource(options!).initialize();
        await runMigrationsLocked(ds);
        return ds;
      },
    }),
    StoreHealthModule,
    ReadDbModule,
  ],
  exports: [DatabaseServerModule],
})
export class DatabaseModule {}
