import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  OnModuleInit,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import type { AuthTokens } from './auth-tokens';
import { Access, AUTH_ACCESS } from './auth.decorators';

const REALM = 'Bearer realm="deployment-history"';
const HOW = "send a token as 'Authorization: Bearer <token>' or 'X-Auth-Token: <token>'";
/** HTTP authentication schemes (IANA's registry, and NTLM): names that may be repeated in an answer. */
const KNOWN_SCHEMES = [
  ...['Basic', 'Concealed', 'Digest', 'DPoP', 'GNAP', 'HOBA', 'Mutual', 'Negotiate', 'NTLM', 'OAuth', 'PrivateToken'],
  ...['SCRAM-SHA-1', 'SCRAM-SHA-256', 'vapid'],
];

/**
 * The one gate of the HTTP API, registered globally (APP_GUARD), so it runs before every other
 * guard, pipe and handler: a caller without a token learns nothing, not even whether a cluster exists.
 *
 * Only HTTP is checked: the RabbitMQ consumer's handlers pass (the bus is trusted).
 * With no token configured every request passes (the service warns at start).
 */
@Injectable()
export class AuthGuard implements CanActivate, OnModuleInit {
  private readonly logger = new Logger('Auth');

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const tokens = this.config.auth;
    if (!tokens.required) {
      this.logger.warn(
        'No API token is configured (AUTH_READ_TOKENS, AUTH_ADMIN_TOKENS, AUTH_TOKENS_FILE): the HTTP API is OPEN, ' +
          'anyone who can reach it can read and change the history',
      );
    } else {
      this.logger.log(`tokens required: ${tokens.count('read')} read, ${tokens.count('admin')} admin, from ${tokens.sources.join(', ')}`);
    }
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request>();
    const needs =
      this.reflector.getAllAndOverride<Access | undefined>(AUTH_ACCESS, [context.getHandler(), context.getClass()]) ??
      (req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'admin');
    const refusal = accessRefusal(this.config.auth, needs, req);
    if (!refusal) return true;
    context.switchToHttp().getResponse<Response>().setHeader('WWW-Authenticate', refusal.wwwAuthenticate);
    const body = { statusCode: refusal.status, message: refusal.message, error: refusal.error };
    throw refusal.status === 403 ? new ForbiddenException(body) : new UnauthorizedException(body);
  }
}

/** Why a request may not pass the gate: its status (401 or 403), message and `WWW-Authenticate` challenge. */
export interface AccessRefusal {
  status: 401 | 403;
  message: string;
  error: 'Unauthorized' | 'Forbidden';
  wwwAuthenticate: string;
}

/**
 * THE rule of the gate, for a route that needs `needs`: undefined when the request may pass, else why not.
 * Used by AuthGuard (every Nest route) and by the fast path of POST /casts (receiver/casts-fast-path.ts),
 * which hands every request this refuses to Nest, so that its answer is the guard's.
 */
export function accessRefusal(
  tokens: AuthTokens,
  needs: Access,
  req: { method?: string; path?: string; url?: string; headers: Request['headers'] },
): AccessRefusal | undefined {
  if (!tokens.required || needs === 'public') return undefined;
  const presented = presentedToken(req);
  if ('problem' in presented) {
    const wwwAuthenticate = presented.missing ? REALM : `${REALM}, error="invalid_request"`;
    return { status: 401, message: presented.problem, error: 'Unauthorized', wwwAuthenticate };
  }
  const role = tokens.match(presented.token);
  if (!role) {
    const message = `Invalid token: it is not a configured read or admin token; ${HOW}`;
    return { status: 401, message, error: 'Unauthorized', wwwAuthenticate: `${REALM}, error="invalid_token"` };
  }
  if (needs === 'admin' && role !== 'admin') {
    const path = req.path ?? req.url?.split('?')[0];
    return {
      status: 403,
      message: `Forbidden: ${req.method} ${path} changes data and needs an admin token; the token sent is a read token`,
      error: 'Forbidden',
      wwwAuthenticate: `${REALM}, error="insufficient_scope"`,
    };
  }
  return undefined;
}

/**
 * The token of a request: `Authorization: Bearer <t>` or Fuel's `X-Auth-Token: <t>`. Both may be sent
 * (the dhist CLI does) if they carry the same token. An Authorization header of another scheme is
 * ignored when X-Auth-Token is given, else refused.
 */
export function presentedToken(req: Pick<Request, 'headers'>): { token: string } | { problem: string; missing?: boolean } {
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    const s = (Array.isArray(v) ? v.join(', ') : v)?.trim();
    return s ? s : undefined;
  };
  const authorization = header('authorization');
  const xAuth = header('x-auth-token');
  let bearer: string | undefined;
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (m) bearer = m[1];
    else if (xAuth === undefined) {
      const scheme = /^\S+/.exec(authorization)![0];
      if (/^Bearer$/i.test(scheme)) return { problem: `Authorization: Bearer carries no token (or more than one); ${HOW}` };
      // Only a registered scheme's name is repeated: what stands first may be the token itself, sent without `Bearer `.
      const known = KNOWN_SCHEMES.find((s) => s.toLowerCase() === scheme.toLowerCase());
      return known
        ? { problem: `Authorization scheme '${known}' is not supported; ${HOW}` }
        : { problem: `Authorization: the header is not 'Bearer <token>'; ${HOW}` };
    }
  }
  if (bearer !== undefined && xAuth !== undefined && bearer !== xAuth) {
    return { problem: 'Authorization: Bearer and X-Auth-Token carry different tokens; send one token, or the same in both' };
  }
  const token = bearer ?? xAuth;
  return token === undefined ? { problem: `Authentication required: ${HOW}`, missing: true } : { token };
}
