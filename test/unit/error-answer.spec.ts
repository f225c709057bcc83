import {
  BadRequestException,
  ForbiddenException,
  InternalServerErrorException,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { QueryFailedError } from 'typeorm';
import { errorAnswer, expressErrorHandler, STORE_RETRY_AFTER_S } from '../../src/common/errors/error-answer.filter';
import { ConflictError, InvalidInputError, NotFoundError, NotServedError } from '../../src/common/errors/domain-errors';

/** A pg driver error with its SQLSTATE, wrapped by TypeORM as a query's failure. */
const pgError = (code: string, message: string) => new QueryFailedError('SELECT 1', [], Object.assign(new Error(message), { code }));

describe('errorAnswer: every error as {statusCode, message, details?}', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));

  it.each([
    ['a NotFoundError', new NotFoundError('Cluster 7 not found'), 404, 'Cluster 7 not found'],
    ['an InvalidInputError', new InvalidInputError('bad cast', ['casts[0]: bad']), 400, 'bad cast'],
    ['a ConflictError', new ConflictError('runs in progress'), 409, 'runs in progress'],
    ['an HttpException with a message', new NotFoundException('Cannot GET /x'), 404, 'Cannot GET /x'],
    [
      'validation messages as a list',
      new BadRequestException({ statusCode: 400, message: ['a is bad', 'b is bad'], error: 'Bad Request' }),
      400,
      'a is bad; b is bad',
    ],
    ['the auth guard', new ForbiddenException({ statusCode: 403, message: 'admin only', error: 'Forbidden' }), 403, 'admin only'],
    [
      'a body too large (body-parser)',
      Object.assign(new Error('request entity too large'), { status: 413, statusCode: 413, expose: true, type: 'entity.too.large' }),
      413,
      'request entity too large',
    ],
    [
      'a file server error naming a path',
      Object.assign(new Error("ENOENT: no such file, stat '/srv/web/main.css'"), { status: 404, code: 'ENOENT', syscall: 'stat' }),
      404,
      'Not Found',
    ],
    ['a value PostgreSQL refused', pgError('22003', 'integer out of range'), 400, 'invalid value: integer out of range'],
  ])('%s: its status and message', (_what, e, status, message) => {
    const a = errorAnswer(e);
    expect(a.status).toBe(status);
    expect(a.body.statusCode).toBe(status);
    expect(a.body.message).toBe(message);
    expect(Object.keys(a.body).filter((k) => !['statusCode', 'message', 'details'].includes(k))).toEqual([]);
  });

  it('keeps the details of a domain error; puts a body without a message (terminus) in details', () => {
    const invalid = errorAnswer(new InvalidInputError('bad cast', ['casts[0]: bad']));
    expect(invalid.body).toEqual({ statusCode: 400, message: 'bad cast', details: ['casts[0]: bad'] });
    const health = { status: 'error', info: {}, error: { database: { status: 'down' } }, details: { database: { status: 'down' } } };
    const unready = errorAnswer(new ServiceUnavailableException(health));
    expect(unready.body).toEqual({ statusCode: 503, message: 'Service Unavailable', details: health });
  });

  it('a NotServedError: 405 with Allow naming the methods served there (empty when none), and no Allow on other errors', () => {
    const refused = errorAnswer(new NotServedError('This service does not delete environments', ['GET', 'PUT']));
    expect(refused.status).toBe(405);
    expect(refused.body).toEqual({ statusCode: 405, message: 'This service does not delete environments' });
    expect(refused.headers).toEqual({ Allow: 'GET, PUT' });
    expect(errorAnswer(new NotServedError('no graphs here', [])).headers).toEqual({ Allow: '' });
    expect(errorAnswer(new NotFoundError('Cluster 7 not found')).headers).toEqual({});
  });

  it.each([
    ['a connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect' })],
    ['the server shutting down', pgError('57P01', 'terminating connection due to administrator command')],
    ['a database refusing connections', Object.assign(new Error('database "x" is not currently accepting connections'), { code: '55000' })],
    ['a deadlock lost past every retry', pgError('40P01', 'deadlock detected')],
  ])('the database unavailable (%s): 503 with Retry-After, saying to retry', (_what, e) => {
    const a = errorAnswer(e);
    expect(a.status).toBe(503);
    expect(a.headers).toEqual({ 'Retry-After': String(STORE_RETRY_AFTER_S) });
    expect(a.body).toEqual({ statusCode: 503, message: `the database is unavailable: retry in ${STORE_RETRY_AFTER_S} s` });
  });

  it.each([
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['an unexpected SQLSTATE', pgError('42P01', 'relation "cluster_state" does not exist')],
    ['an InternalServerErrorException', new InternalServerErrorException('secret detail')],
    ['a thrown string', 'boom'],
  ])('anything else (%s): 500 "internal error" with the request id, nothing of the error', (_what, e) => {
    const a = errorAnswer(e, 'req-1');
    expect(a.status).toBe(500);
    const message = 'internal error: the server log has its details under request id req-1';
    expect(a.body).toEqual({ statusCode: 500, message, details: { request_id: 'req-1' } });
    expect(errorAnswer(e).body).toEqual({ statusCode: 500, message: 'internal error' });
  });
});

describe('expressErrorHandler', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['error', 'warn', 'log']));

  const fakeResponse = (headersSent: boolean) => {
    const sent: { status?: number; headers: Record<string, string>; type?: string; body?: unknown } = { headers: {} };
    const res = {
      headersSent,
      getHeader: (name: string) => (name === 'X-Request-Id' ? 'req-9' : undefined),
      removeHeader: () => undefined,
      status(s: number) {
        sent.status = s;
        return this;
      },
      set(h: Record<string, string>) {
        Object.assign(sent.headers, h);
        return this;
      },
      type(t: string) {
        sent.type = t;
        return this;
      },
      json(b: unknown) {
        sent.body = b;
        return this;
      },
    };
    return { res: res as unknown as Response, sent };
  };
  const req = { method: 'GET', originalUrl: '/x' } as Request;

  it('answers what reaches it as JSON in the shape, with the request id of the response', () => {
    const { res, sent } = fakeResponse(false);
    const next = jest.fn() as NextFunction;
    expressErrorHandler(new RangeError('Maximum call stack size exceeded'), req, res, next);
    expect(next).not.toHaveBeenCalled();
    expect(sent).toEqual({
      status: 500,
      headers: {},
      type: 'application/json',
      body: {
        statusCode: 500,
        message: 'internal error: the server log has its details under request id req-9',
        details: { request_id: 'req-9' },
      },
    });
  });

  it("under /keystone/ (fuel2's login) also carries OpenStack's error object, which Keystone clients read", () => {
    const { res, sent } = fakeResponse(false);
    const keystone = { method: 'POST', originalUrl: '/keystone/v3/auth/tokens', path: '/keystone/v3/auth/tokens' } as Request;
    expressErrorHandler(Object.assign(new Error('Not Found'), { status: 404, expose: true, type: 'x' }), keystone, res, jest.fn());
    expect(sent.body).toEqual({ statusCode: 404, message: 'Not Found', error: { message: 'Not Found', code: 404, title: 'Not Found' } });
    const other = fakeResponse(false);
    const api = { ...keystone, path: '/api/v1/keystone' } as Request;
    expressErrorHandler(Object.assign(new Error('Not Found'), { status: 404, expose: true, type: 'x' }), api, other.res, jest.fn());
    expect(other.sent.body).toEqual({ statusCode: 404, message: 'Not Found' });
  });

  it('leaves an answer already under way to Express, which closes the connection', () => {
    const { res, sent } = fakeResponse(true);
    const next = jest.fn() as NextFunction;
    const e = new Error('stream broke');
    expressErrorHandler(e, req, res, next);
    expect(next).toHaveBeenCalledWith(e);
    expect(sent.status).toBeUndefined();
  });
});
