import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { QueryFailedError } from 'typeorm';
import { isKeystonePath } from '../auth/keystone';
import { isDataError, isStoreFailure } from '../database/db-errors';
import { LogThrottle } from '../logging/log-throttle';
import { redactUrl } from '../logging/redact';
import { DomainError, NotServedError } from './domain-errors';
import type { ErrorDto } from './error.dto';

const DOMAIN_STATUS: Record<DomainError['kind'], number> = {
  not_found: HttpStatus.NOT_FOUND,
  invalid: HttpStatus.BAD_REQUEST,
  conflict: HttpStatus.CONFLICT,
  not_served: HttpStatus.METHOD_NOT_ALLOWED,
};

/** Seconds a client is told to wait (Retry-After) before trying again while the database is unavailable. */
export const STORE_RETRY_AFTER_S = 5;

export interface ErrorAnswer {
  status: number;
  body: ErrorDto;
  headers: Record<string, string>;
}

const logger = new Logger('HTTP');
// During an outage every request fails the same way: one line per interval, with a count.
const storeLog = new LogThrottle(logger);

/**
 * THE mapping of an error to its HTTP answer, always `{"statusCode", "message", "details"?}` (ErrorDto),
 * never a stack or a server path, and what the server log says of it:
 *
 * - a DomainError: its status (404, 400, 409, 405 with `Allow`), its message and details;
 * - an HttpException (validation, 401/403 of the auth guard, 404 of an unknown route, terminus' 503):
 *   its status and message; an exception whose body has no message (terminus') has it as details;
 * - a client error raised by Express or its body parser (payload too large, bad charset): its status,
 *   the parser's own message, else only the status text (the file server's messages name server paths);
 * - a value PostgreSQL refused (class 22) that validation let through: 400 naming the database's reason;
 * - the database unavailable (isStoreFailure: no connection, shutting down, a race lost past every
 *   retry): 503 with Retry-After, as nothing the client sent is wrong;
 * - anything else, a bug of ours: 500 "internal error" with the request id; the stack goes to the log.
 */
export function errorAnswer(e: unknown, requestId?: string): ErrorAnswer {
  if (e instanceof DomainError) return domainAnswer(e);
  if (e instanceof HttpException && e.getStatus() !== (HttpStatus.INTERNAL_SERVER_ERROR as number)) return httpExceptionAnswer(e);
  const clientStatus = clientErrorStatus(e);
  if (clientStatus !== undefined) {
    const { type, expose, message } = e as { type?: unknown; expose?: unknown; message?: unknown };
    logger.debug(`${clientStatus} ${String(message)}`);
    // body-parser and raw-body errors carry a type and a message meant for the client; others may not.
    const meant = typeof type === 'string' && expose !== false && typeof message === 'string';
    return answer(clientStatus, meant ? message : statusText(clientStatus));
  }
  if (e instanceof QueryFailedError && isDataError(e.driverError ?? e)) {
    logger.warn(`400 for a value the database refused: ${e.message}`);
    return answer(HttpStatus.BAD_REQUEST, `invalid value: ${e.message}`);
  }
  if (isStoreFailure(e)) {
    const what: unknown = (e as { code?: unknown }).code ?? (e as Error).name;
    storeLog.warn(`store:${String(what)}`, `503: the database is unavailable: ${(e as Error).message}`);
    return answer(HttpStatus.SERVICE_UNAVAILABLE, `the database is unavailable: retry in ${STORE_RETRY_AFTER_S} s`, undefined, {
      'Retry-After': String(STORE_RETRY_AFTER_S),
    });
  }
  const id = requestId ? ` (request ${requestId})` : '';
  logger.error(`500${id}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  return answer(
    HttpStatus.INTERNAL_SERVER_ERROR,
    `internal error${requestId ? `: the server log has its details under request id ${requestId}` : ''}`,
    requestId ? { request_id: requestId } : undefined,
  );
}

function answer(status: number, message: string, details?: unknown, headers: Record<string, string> = {}): ErrorAnswer {
  return {
    status,
    body: details === undefined ? { statusCode: status, message } : { statusCode: status, message, details },
    headers,
  };
}

function domainAnswer(e: DomainError): ErrorAnswer {
  logger.debug(`${DOMAIN_STATUS[e.kind]} ${e.message}`);
  // RFC 9110 §15.5.6: a 405 lists the methods the resource does serve (an empty list when none).
  const headers: Record<string, string> = e instanceof NotServedError ? { Allow: e.allowed.join(', ') } : {};
  return answer(DOMAIN_STATUS[e.kind], e.message, e.details, headers);
}

function httpExceptionAnswer(e: HttpException): ErrorAnswer {
  const status = e.getStatus();
  const body = e.getResponse();
  if (typeof body === 'string') return answer(status, body);
  const { message, details } = body as { message?: unknown; details?: unknown };
  if (typeof message === 'string') return answer(status, message, details);
  if (Array.isArray(message)) return answer(status, message.map(String).join('; '), details);
  return answer(status, statusText(status), body);
}

/**
 * Answers the request with the error's answer; a response already under way can only be cut short.
 * Under /keystone/ (Keystone's login, for fuel2) the answer also carries OpenStack's error object,
 * `"error": {"message", "code", "title"}`: OpenStack clients read the message only from there.
 */
export function answerError(e: unknown, req: Request, res: Response): void {
  // pino-http's id (genReqId: always a string), else the header it set.
  const requestId: unknown = (req as { id?: unknown }).id ?? res.getHeader('X-Request-Id');
  const id = typeof requestId === 'string' || typeof requestId === 'number' ? String(requestId) : undefined;
  const { status, body: ours, headers } = errorAnswer(e, id);
  const body = isKeystonePath(req.path) ? { ...ours, error: { message: ours.message, code: status, title: statusText(status) } } : ours;
  if (res.headersSent) {
    logger.warn(`${req.method} ${redactUrl(req.originalUrl)}: failed after the answer began (${status} ${body.message}); cut short`);
    res.end();
    return;
  }
  // Whatever the handler had set for the answer it meant to give (text/csv, an attachment) no longer holds.
  res.removeHeader('Content-Disposition');
  res.status(status).set(headers).type('application/json').json(body);
}

/**
 * Every error of an HTTP request that reaches Nest (handlers, guards, pipes, and Express middlewares
 * through Nest's error layer), whatever its kind: there is no other exception filter.
 */
@Catch()
export class ErrorAnswerFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    // The RabbitMQ consumer shares the global filters (inheritAppConfig): its path keeps its own handling.
    if (host.getType() !== 'http') throw error;
    const http = host.switchToHttp();
    answerError(error, http.getRequest<Request>(), http.getResponse<Response>());
  }
}

/**
 * The last Express error handler, after Nest's routes and error layer: whatever still reaches it is
 * answered in the same shape instead of Express's HTML page (which shows the stack unless NODE_ENV is
 * 'production').
 */
export function expressErrorHandler(err: unknown, req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err); // Express closes the connection
  answerError(err, req, res);
}

/** The 4xx status of an error raised by Express or its middlewares (http-errors: `status`, `statusCode`). */
function clientErrorStatus(e: unknown): number | undefined {
  if (e === null || typeof e !== 'object' || e instanceof QueryFailedError) return undefined;
  const { status, statusCode } = e as { status?: unknown; statusCode?: unknown };
  const s = typeof status === 'number' ? status : statusCode;
  return typeof s === 'number' && Number.isInteger(s) && s >= 400 && s < 500 ? s : undefined;
}

const statusText = (status: number) => STATUS_CODES[status] ?? `HTTP ${status}`;
