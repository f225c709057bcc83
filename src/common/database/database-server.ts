import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { EmbeddedHandle, startEmbeddedPostgres } from './embedded-postgres';

/** The PostgreSQL server in use: DATABASE_URL's, or the embedded one started on demand. */
@Injectable()
export class DatabaseServer implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private embedded?: EmbeddedHandle;
  private urlPromise?: Promise<string>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  url(): Promise<string> {
    this.urlPromise ??= this.resolve();
    return this.urlPromise;
  }

  private async resolve(): Promise<string> {
    if (this.config.databaseUrl) return this.config.databaseUrl;
    this.logger.log('DATABASE_URL is not set: starting the embedded PostgreSQL');
    this.embedded = await startEmbeddedPostgres({
      dir: this.config.embeddedPgDir,
      port: this.config.embeddedPgPort,
      stateDir: this.config.embeddedPgStateDir,
    });
    return this.embedded.url;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.embedded?.stop().catch((e) => this.logger.warn(`stopping embedded PostgreSQL: ${e}`));
  }
}
