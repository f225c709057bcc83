import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';
import { DatabaseServer } from './database-server';
import { runMigrationsLocked } from './migrate';

@Global()
@Module({ providers: [DatabaseServer], exports: [DatabaseServer] })
class DatabaseServerModule {}

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
        url: await server.url(),
        autoLoadEntities: true,
        synchronize: false,
        migrationsRun: false,
        migrations: MIGRATIONS,
        logging: ['error' as const],
        extra: { max: 10, application_name: 'deployment-history' },
      }),
      dataSourceFactory: async (options) => {
        const ds = await new DataSource(options!).initialize();
        await runMigrationsLocked(ds);
        return ds;
      },
    }),
  ],
  exports: [DatabaseServerModule],
})
export class DatabaseModule {}
