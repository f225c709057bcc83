import { Logger } from '@nestjs/common';
import type { Logger as TypeOrmLoggerInterface } from 'typeorm';
import { LogThrottle } from '../logging/log-throttle';
import { classifyDbError } from './db-errors';

const MAX_QUERY_CHARS = 300;

/**
 * TypeORM's messages through Nest's logger (JSON lines, like every other log). A failed query is
 * logged with its SQL shortened and never its parameters (they may hold whole casts); a failure on
 * the store's side (the database away) is logged once per interval with a count, since during an
 * outage every query fails the same way and the outage itself is reported by StoreHealth.
 */
export class TypeOrmLogger implements TypeOrmLoggerInterface {
  private readonly logger = new Logger('Database');
  private readonly throttle = new LogThrottle(this.logger);

  logQuery(): void {}

  logQueryError(error: string | Error, query: string): void {
    const message = error instanceof Error ? error.message : error;
    const sql = query.replace(/\s+/g, ' ').slice(0, MAX_QUERY_CHARS);
    if (classifyDbError(error) === 'store') this.throttle.warn(`store:${message}`, `query failed, the database is unavailable: ${message}`);
    else this.logger.error(`query failed: ${message}; query: ${sql}`);
  }

  logQuerySlow(): void {}

  logSchemaBuild(): void {}

  logMigration(message: string): void {
    this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.throttle.warn(`warn:${String(message)}`, String(message));
    else this.logger.debug(String(message));
  }
}
