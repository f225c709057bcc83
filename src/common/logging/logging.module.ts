import { Module, RequestMethod } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { LoggerModule } from 'nestjs-pino';
import type { Options } from 'pino-http';
import { APP_CONFIG, AppConfig, LogLevelName } from '../config/app-config';
import { logColours, prettyDestination, prettyLogs } from './pretty-log';
import { REDACTED, SECRET_HEADERS, redactQuery, redactUrl } from './redact';

const PINO_LEVEL: Record<LogLevelName, string> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** Response headers that repeat the request's URL (the next page's link, a redirect). */
const URL_HEADERS = ['link', 'location'];

/**
 * A request's id: the caller's `X-Request-Id` when it is a sane one, else a new UUID; returned in the
 * answer's `X-Request-Id`. pino-http's genReqId, and the fast path of POST /casts (receiver/casts-fast-path.ts).
 */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w.:-]{1,100}$/.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

/** The level of a finished request's log line. 503 is a deliberate answer (the database is away, a queue is full: retry later), not a fault. */
export function requestLogLevel(status: number, err?: unknown): 'info' | 'warn' | 'error' {
  return status === 503 ? 'warn' : err || status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
}

/**
 * Logs (pino): JSON lines, or one readable line per event on a terminal (LOG_FORMAT, pretty-log.ts);
 * every HTTP request with a request id (taken from `X-Request-Id` when the caller sends one, else
 * generated, and returned in the response), and no secrets: credential headers and the values of
 * token-like query parameters are redacted (redact.ts).
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        const options: Options = {
          level: PINO_LEVEL[config.logLevels[config.logLevels.length - 1]],
          genReqId: requestId,
          redact: { paths: SECRET_HEADERS.map((h) => `req.headers["${h}"]`), censor: REDACTED },
          serializers: {
            // Given pino's serialized copies (the request's own url and query are left as they are).
            req: (req: { url?: unknown; query?: unknown }) => {
              if (typeof req.url === 'string') req.url = redactUrl(req.url);
              req.query = redactQuery(req.query);
              return req;
            },
            res: (res: { headers?: Record<string, unknown> }) => {
              if (res.headers) {
                const redacted = (k: string, v: unknown) =>
                  URL_HEADERS.includes(k.toLowerCase()) && typeof v === 'string' ? redactUrl(v) : v;
                res.headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, redacted(k, v)]));
              }
              return res;
            },
          },
          autoLogging: { ignore: (req: IncomingMessage) => /^\/(health|metrics)/.test(req.url ?? '') },
          customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) => requestLogLevel(res.statusCode, err),
          // For a 5xx without an error of its own, pino-http makes one up ("failed with status code N") and
          // logs its stack, which says nothing (the error filter logged the real one): left out.
          customErrorObject: (_req: IncomingMessage, _res: ServerResponse, error: Error, value: Record<string, unknown>) =>
            error.message.startsWith('failed with status code') ? { ...value, err: undefined } : value,
        };
        const pretty = prettyLogs(config.logFormat, process.stdout.isTTY, process.env);
        return {
          pinoHttp: pretty ? [options, prettyDestination(process.stdout, logColours(process.env))] : options,
          // Every route, in path-to-regexp 8's words: nestjs-pino's default ('*') made Nest warn at every start
          // that it converted "/api/v1/*" to this.
          forRoutes: [{ path: '{*path}', method: RequestMethod.ALL }],
        };
      },
    }),
  ],
})
export class LoggingModule {}
