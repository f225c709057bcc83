import { ExecutionContext, Type } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { getMetadataStorage } from 'class-validator';
import type { Request } from 'express';
import { parse } from 'node:querystring';
import { InvalidInputError } from '../errors/domain-errors';
import { isListParam } from './validators';

/**
 * THE rule of query strings, for every route of the API: a parameter the route does not take, a
 * bracketed key (`nodes[]`, `nodes[a]`: qs-style arrays and objects, which this API never reads), or a
 * single-valued parameter given more than once is a 400 naming it, before the route does anything. A
 * typo on a deleting route (`?dry-run=true` for `dry_run`) must not be ignored, and a filter that is not
 * read must not return unfiltered rows. List parameters (ListParam(): `nodes`, `statuses`...) may be
 * repeated: `?statuses=error&statuses=ready` means `?statuses=error,ready`.
 *
 * What a route takes is read from its handler: the properties of its `@Query()` DTO that carry a
 * class-validator decorator (exactly what the ValidationPipe's whitelist keeps), and any `@Query('name')`.
 * A route without either takes no parameter at all. Nothing is listed per controller.
 *
 * The web page and the API docs (/ui/, /api/docs) are static files served outside Nest's routes: they
 * read no parameter, so a query string there changes nothing and is left alone.
 */
export interface QuerySpec {
  /** The parameters the route takes, in alphabetical order. */
  readonly names: readonly string[];
  /** Those that may be given more than once (list parameters). */
  readonly lists: ReadonlySet<string>;
}

/**
 * Pairs read at most. Express's query parser (node:querystring) keeps the first 1,000 and drops the rest
 * without a word: values past them would silently not filter.
 */
export const MAX_QUERY_PAIRS = 1000;

/** What a handler's query may hold, from its metadata (see above). */
export function querySpecOf(controller: Type<unknown>, method: string): QuerySpec {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) ?? {}) as Record<string, { index: number; data?: unknown }>;
  const types = (Reflect.getMetadata('design:paramtypes', controller.prototype as object, method) ?? []) as Array<
    Type<unknown> | undefined
  >;
  const names = new Set<string>();
  const lists = new Set<string>();
  for (const [key, arg] of Object.entries(args)) {
    if (Number(key.split(':')[0]) !== (RouteParamtypes.QUERY as number)) continue;
    if (typeof arg.data === 'string') {
      names.add(arg.data);
      continue;
    }
    const dto = types[arg.index];
    // A bare `@Query()` without a class would take anything: a programming error, not the caller's.
    if (!dto || dto === Object) {
      throw new Error(`${controller.name}.${method} reads @Query() without a DTO class: its parameters cannot be checked`);
    }
    for (const m of getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false)) {
      names.add(m.propertyName);
      if (isListParam(dto, m.propertyName)) lists.add(m.propertyName);
    }
  }
  return { names: [...names].sort(), lists };
}

/**
 * The problems of a raw query string (what follows `?`, undecoded) for a route taking `spec`, each
 * naming its key; undefined when there is none.
 */
export function queryProblems(raw: string, spec: QuerySpec): QueryProblems | undefined {
  if (raw === '') return undefined;
  const pairs = raw.split('&').length;
  if (pairs > MAX_QUERY_PAIRS) {
    return { message: `the query string has ${pairs} parameters: at most ${MAX_QUERY_PAIRS} are read`, parameters: [] };
  }
  // The parser Express uses, without its cap: the same keys, a list for a repeated one.
  const query = parse(raw, '&', '=', { maxKeys: 0 });
  const problems: string[] = [];
  const parameters: string[] = [];
  let unknown = false;
  for (const [key, value] of Object.entries(query)) {
    const problem = problemOf(key, Array.isArray(value) ? value.length : 1, spec);
    if (!problem) continue;
    problems.push(problem);
    parameters.push(key);
    unknown ||= !spec.names.includes(key);
  }
  if (!problems.length) return undefined;
  // Said once, for a typo to be easy to fix.
  const takes = spec.names.length ? `this route takes ${spec.names.join(', ')}` : 'this route takes no query parameter';
  return { message: problems.join('; ') + (unknown ? ` (${takes})` : ''), parameters };
}

function problemOf(key: string, times: number, spec: QuerySpec): string | undefined {
  const name = shown(key);
  if (/[[\]]/.test(key)) {
    const base = shown(key.split('[')[0]) || 'name';
    return `query parameter '${name}' has brackets, which this API does not read: send ${base}=a,b`;
  }
  if (!spec.names.includes(key)) return `unknown query parameter '${name}'`;
  if (times > 1 && !spec.lists.has(key)) return `query parameter '${name}' is given ${times} times: it takes one value`;
  return undefined;
}

export interface QueryProblems {
  message: string;
  /** The keys at fault, as sent (decoded). */
  parameters: string[];
}

/** A key as it can be echoed: control and bidi characters escaped, at most 100 characters. */
function shown(key: string): string {
  const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  const text = key.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, escape);
  return text.length > 100 ? `${text.slice(0, 100)}...` : text;
}

/**
 * Applies the rule to an HTTP request, after the guards (authentication: a stranger learns nothing of a
 * route's parameters; an unknown or pre-9.0 run stays a 404/409) and before pipes and the handler
 * (nothing is done for a refused request): called by the one global interceptor, RequestBodyInterceptor
 * (request-body.ts), once the body is read. Not an interceptor of its own: each global interceptor costs
 * every request (and every bus message) a layer of Nest's interceptor chain (issue #17).
 */
export class QueryParameters {
  private readonly specs = new WeakMap<object, QuerySpec>();

  /** Throws the 400 (InvalidInputError) naming the parameters at fault, if any. */
  check(context: ExecutionContext): void {
    const handler = context.getHandler();
    let spec = this.specs.get(handler);
    if (!spec) {
      spec = querySpecOf(context.getClass(), handler.name);
      this.specs.set(handler, spec);
    }
    const url = context.switchToHttp().getRequest<Request>().originalUrl;
    const at = url.indexOf('?');
    const problems = at < 0 ? undefined : queryProblems(url.slice(at + 1), spec);
    if (problems) throw new InvalidInputError(problems.message, { parameters: problems.parameters, allowed: spec.names });
  }
}
