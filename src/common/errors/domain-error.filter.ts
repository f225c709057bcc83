import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { QueryFailedError } from 'typeorm';
import { isDataError } from '../database/db-errors';
import { DomainError } from './domain-errors';

const STATUS: Record<DomainError['kind'], number> = {
  not_found: HttpStatus.NOT_FOUND,
  invalid: HttpStatus.BAD_REQUEST,
  conflict: HttpStatus.CONFLICT,
};

/** Maps domain errors to HTTP: `{"message": ...}` as Fuel answered, plus the status code. */
@Catch(DomainError)
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(error: DomainError, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const status = STATUS[error.kind];
    const res = host.switchToHttp().getResponse<Response>();
    this.logger.debug(`${status} ${error.message}`);
    const body: Record<string, unknown> = { statusCode: status, message: error.message };
    if (error.details !== undefined) body.details = error.details;
    res.status(status).json(body);
  }
}

/**
 * The last line against a client's mistake turning into a 500: a value PostgreSQL refuses (class 22,
 * e.g. out of range) that validation let through is a 400 naming the database's reason.
 */
@Catch(QueryFailedError)
export class DataErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(error: QueryFailedError, host: ArgumentsHost): void {
    if (host.getType() !== 'http' || !isDataError(error.driverError ?? error)) throw error;
    this.logger.warn(`400 for a value the database refused: ${error.message}`);
    const res = host.switchToHttp().getResponse<Response>();
    res.status(HttpStatus.BAD_REQUEST).json({ statusCode: 400, message: `invalid value: ${error.message}` });
  }
}
