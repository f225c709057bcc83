import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
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
