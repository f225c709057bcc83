import {
  applyDecorators,
  BadRequestException,
  CallHandler,
  ExecutionContext,
  Inject,
  Injectable,
  Logger,
  NestInterceptor,
  PayloadTooLargeException,
  ServiceUnavailableException,
  SetMetadata,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiPayloadTooLargeResponse } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { from, Observable, switchMap } from 'rxjs';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ErrorDto } from '../errors/error.dto';
import { LogThrottle } from '../logging/log-throttle';
import { Metrics } from '../metrics/metrics.service';
import { JsonSyntaxError, parseJsonIncrementally } from './incremental-json';
import { QueryParameters } from './query-parameters';

/**
 * THE reading of request bodies (JSON), after authentication.
 *
 * Express's body parser runs before Nest's guards: with it, a caller without a token had its body
 * read and parsed (up to 64 MB, on every route) before being told 401 (issue #12). Here the body is
 * read by a global interceptor, which Nest runs after the guards (AuthGuard) and before the pipes and
 * the handler; a request the guard refuses, or one to no route, is answered without a byte of its
 * body read (Node then reads and throws away what the client still sends, so that the connection
 * stays usable; an unfinished upload ends with the connection, or after Node's requestTimeout). A
 * client that sends `Expect: 100-continue` is told to go on only here, so a refused one sends nothing.
 *
 * - Only `application/json` bodies are read (UTF-8; gzip, deflate or br encoded); of another type
 *   the body is left unread and the handler finds none. An empty JSON body is `{}`.
 * - Limits: 1 MB (BODY_MAX_BYTES); routes marked @LargeBody() take up to BODY_MAX_CASTS_BYTES (64 MB),
 *   routes marked @SmallBody(n) only n bytes (a public route, whose bodies anyone may send).
 *   Over it, 413 naming the limit, at once when Content-Length says so (the body is not read).
 * - A body over 1 MB (or of unknown size) waits for its turn: LARGE_BODIES_AT_ONCE are read and
 *   handled at once (each may take hundreds of MB once parsed, until its answer is sent), and
 *   LARGE_BODIES_WAITING more may wait, their bodies unread; past that, 503 with Retry-After.
 * - A large body is parsed in steps (incremental-json.ts): other requests are answered meanwhile.
 */

/** What every route takes, but those marked @LargeBody(). */
export const BODY_MAX_BYTES = 1_048_576;
/** Bodies over BODY_MAX_BYTES read and handled at once: they share one core, and each may cost hundreds of MB. */
export const LARGE_BODIES_AT_ONCE = 2;
/** Bodies over BODY_MAX_BYTES that may wait for their turn (unread: a waiting request costs a socket). */
export const LARGE_BODIES_WAITING = 8;
const RETRY_AFTER_S = 5;

const LARGE_BODY = 'deployment-history:large-body';

/** The route takes JSON bodies up to BODY_MAX_CASTS_BYTES (64 MB by default) instead of 1 MB. */
export const LargeBody = () =>
  applyDecorators(
    SetMetadata(LARGE_BODY, true),
    ApiPayloadTooLargeResponse({ type: ErrorDto, description: 'The body is larger than BODY_MAX_CASTS_BYTES (64 MB by default)' }),
  );

const SMALL_BODY = 'deployment-history:small-body';

/**
 * The route takes JSON bodies up to `bytes` (less than BODY_MAX_BYTES): for a public route (Keystone's
 * login), which reads the body of whoever calls it.
 */
export const SmallBody = (bytes: number) => SetMetadata(SMALL_BODY, Math.min(bytes, BODY_MAX_BYTES));

const KB = 1024;
const MB = 1_048_576;
export const describeBytes = (n: number) =>
  n % MB === 0 ? `${n / MB} MB` : n >= MB ? `${(n / MB).toFixed(1)} MB` : n % KB === 0 ? `${n / KB} KB` : `${n} bytes`;

/**
 * First come, first served: `atOnce` holders at most and `maxWaiting` in line; past that, refused.
 * A holder's turn ends when it calls the function it was given; a waiter whose signal aborts (its
 * client went away) leaves the line.
 */
export class Admission {
  private active = 0;
  private readonly line: Array<() => void> = [];

  constructor(
    readonly atOnce: number,
    readonly maxWaiting: number,
    private readonly changed: (active: number, waiting: number) => void = () => undefined,
  ) {}

  /** Resolves with the function that ends the turn, once it has come; undefined when the line is full. */
  enter(signal: AbortSignal): Promise<() => void> | undefined {
    if (this.active < this.atOnce) {
      this.active++;
      this.report();
      return Promise.resolve(this.turn());
    }
    if (this.line.length >= this.maxWaiting) return undefined;
    return new Promise((resolve, reject) => {
      const go = () => {
        signal.removeEventListener('abort', leave);
        resolve(this.turn());
      };
      const leave = () => {
        const i = this.line.indexOf(go);
        if (i >= 0) this.line.splice(i, 1);
        this.report();
        reject(new Error('gone while waiting for its turn'));
      };
      signal.addEventListener('abort', leave, { once: true });
      this.line.push(go);
      this.report();
    });
  }

  private turn(): () => void {
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const next = this.line.shift();
      if (next)
        next(); // the turn passes on: as many active as before
      else this.active--;
      this.report();
    };
  }

  private report(): void {
    this.changed(this.active, this.line.length);
  }
}

/**
 * Reads the JSON body of every request that reaches a route, after the guards, then applies the rule of
 * query strings (query-parameters.ts): the one global interceptor (APP_INTERCEPTOR), as each costs every
 * request and bus message a layer of Nest's chain (an rxjs defer and an AsyncResource per layer, issue #17:
 * several % of the service's CPU per request).
 */
@Injectable()
export class RequestBodyInterceptor implements NestInterceptor {
  private readonly refusals = new LogThrottle(new Logger('HTTP'));
  private readonly admission: Admission;
  private readonly query = new QueryParameters();

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {
    const report = (active: number, waiting: number) => metrics.largeBodiesNow(active, waiting);
    this.admission = new Admission(LARGE_BODIES_AT_ONCE, LARGE_BODIES_WAITING, report);
    metrics.largeBodiesNow(0, 0);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    // The RabbitMQ consumer shares the global interceptors (inheritAppConfig); its messages have no HTTP body.
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    if (!hasBody(req)) {
      this.query.check(context);
      return next.handle();
    }
    const res = context.switchToHttp().getResponse<Response>();
    const targets = [context.getHandler(), context.getClass()];
    const large = this.reflector.getAllAndOverride<boolean | undefined>(LARGE_BODY, targets) === true;
    const small = this.reflector.getAllAndOverride<number | undefined>(SMALL_BODY, targets);
    return from(this.read(req, res, large, small)).pipe(
      switchMap(() => {
        this.query.check(context);
        return next.handle();
      }),
    );
  }

  private async read(req: Request, res: Response, large: boolean, small: number | undefined): Promise<void> {
    // Another type is left unread: the handler's validation says what it misses.
    if (!req.is('application/json')) return;
    const limit = large ? this.config.bodyMaxCastsBytes : (small ?? BODY_MAX_BYTES);
    const encoding = contentEncoding(req);
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
      // RFC 8259 §8.1: JSON exchanged between systems is UTF-8.
      const message = `unsupported charset "${charset.slice(0, 40)}": a JSON body is read as UTF-8`;
      throw new UnsupportedMediaTypeException({ statusCode: 415, message });
    }
    const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    if (encoding === 'identity' && declared !== undefined && declared > limit) throw this.tooLarge(limit, large);
    if (large && (declared === undefined || declared > BODY_MAX_BYTES || encoding !== 'identity')) await this.waitForTurn(req, res);
    // The client waits for this before it sends (bootstrap.ts lets Node answer no `Expect` by itself).
    if (/^100-continue$/i.test(req.headers.expect ?? '')) res.writeContinue();
    const bytes = await readBody(req, encoding, encoding === 'identity' ? declared : undefined, limit, () => this.tooLarge(limit, large));
    req.body = await parseJsonBody(bytes);
  }

  /** Waits for a turn among the large bodies (its body unread meanwhile); the turn ends with the answer. */
  private async waitForTurn(req: Request, res: Response): Promise<void> {
    const gone = new AbortController();
    const onClose = () => gone.abort();
    res.once('close', onClose);
    const entered = this.admission.enter(gone.signal);
    if (!entered) {
      res.off('close', onClose);
      this.metrics.largeBodyRefused();
      const busy = `${this.admission.atOnce} large request bodies are being handled and ${this.admission.maxWaiting} more are waiting`;
      this.refusals.warn('large-bodies', `503 for ${req.method} ${req.path}: ${busy}`);
      res.setHeader('Retry-After', String(RETRY_AFTER_S));
      throw new ServiceUnavailableException({ statusCode: 503, message: `${busy}: retry in ${RETRY_AFTER_S} s` });
    }
    const end = await entered.catch(() => {
      // Nobody to answer: a client error, not one of the service (which would be logged as a 500).
      throw new BadRequestException({ statusCode: 400, message: 'the client went away while its body waited for its turn' });
    });
    res.off('close', onClose);
    // The turn lasts until the answer is sent (the parsed body lives that long), or the client is gone.
    if (res.closed) end();
    else res.once('close', end);
  }

  private tooLarge(limit: number, large: boolean): PayloadTooLargeException {
    const most = describeBytes(this.config.bodyMaxCastsBytes);
    const others = large ? '' : `; only POST /casts and POST /transactions take more (up to ${most})`;
    return new PayloadTooLargeException({
      statusCode: 413,
      message: `the request body is too large: this route takes up to ${describeBytes(limit)} (${limit} bytes)${others}`,
    });
  }
}

/** RFC 9112 §6.3: a request has a body when it says how long it is (even 0) or that it is chunked. */
function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;
}

export function contentEncoding(req: IncomingMessage): 'identity' | 'gzip' | 'deflate' | 'br' {
  const e = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (e === 'identity' || e === 'gzip' || e === 'deflate' || e === 'br') return e;
  const message = `unsupported content encoding "${e.slice(0, 40)}": send the body as identity, gzip, deflate or br`;
  throw new UnsupportedMediaTypeException({ statusCode: 415, message });
}

/**
 * The body's bytes (decoded), up to `limit`. Past it, rejects with `tooLarge()` at once, and the rest
 * of the request is read and thrown away (its connection stays usable).
 */
export function readBody(
  req: IncomingMessage,
  encoding: ReturnType<typeof contentEncoding>,
  declared: number | undefined,
  limit: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const decoder = { identity: undefined, gzip: createGunzip, deflate: createInflate, br: createBrotliDecompress }[encoding]?.();
    const source: Readable = decoder ? req.pipe(decoder) : req;
    // Known size: one buffer, no copy at the end.
    const whole = declared !== undefined ? Buffer.allocUnsafe(declared) : undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const stop = (error?: Error) => {
      if (settled) return;
      settled = true;
      source.off('data', onData).off('end', onEnd).off('error', onError).off('error', onCut);
      req.off('close', onClose).off('error', onCut);
      if (decoder) {
        req.unpipe(decoder);
        decoder.destroy();
      }
      // Whatever the request still holds (past the limit, after the end of the compressed data) is read and
      // thrown away: left unread, it would hold the connection.
      if (error || decoder) req.resume();
      if (error) {
        reject(error);
      } else {
        resolve(whole ? whole.subarray(0, received) : Buffer.concat(chunks, received));
      }
    };
    const onData = (chunk: Buffer) => {
      if (received + chunk.length > limit || (whole && received + chunk.length > whole.length)) return stop(tooLarge());
      if (whole) chunk.copy(whole, received);
      else chunks.push(chunk);
      received += chunk.length;
    };
    const onEnd = () => stop();
    const onError = (e: Error) =>
      stop(
        decoder && e !== CUT_OFF
          ? new BadRequestException({ statusCode: 400, message: `the body is not valid ${encoding} data: ${e.message}` })
          : new BadRequestException({ statusCode: 400, message: 'the request was cut off before its body was complete' }),
      );
    const onCut = () => onError(CUT_OFF);
    const onClose = () => {
      if (!req.complete) onCut();
    };
    source
      .on('data', onData)
      .on('end', onEnd)
      .on('error', decoder ? onError : onCut);
    req.on('close', onClose);
    if (decoder) req.on('error', onCut);
  });
}

const CUT_OFF = new Error('the request was cut off');

/** JSON.parse's answer for the body, or a 400 saying why not; an empty body is `{}` (a common client habit). */
export async function parseJsonBody(bytes: Buffer): Promise<unknown> {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3); // a byte order mark
  if (bytes.length === 0) return {};
  try {
    return await parseJsonIncrementally(bytes, { containerOnly: true });
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw new BadRequestException({ statusCode: 400, message: `the body is not valid JSON: ${e.message}` });
  }
}
