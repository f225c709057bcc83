import { createHmac, randomBytes } from 'node:crypto';
import type { Request } from 'express';
import { presentedToken } from './auth.guard';

/** Per process: a key found in memory or in a log cannot be checked against a guessed token elsewhere. */
const SECRET = randomBytes(32);

/**
 * Who makes a request, for per-caller limits: a keyed digest of the token it presents (never the
 * token itself), or its address when it presents none (the API is open).
 */
export function callerKey(req: Pick<Request, 'headers' | 'ip' | 'socket'>): string {
  const presented = presentedToken(req);
  if ('token' in presented) return `token:${createHmac('sha256', SECRET).update(presented.token, 'utf8').digest('base64url').slice(0, 22)}`;
  return `address:${req.ip ?? req.socket.remoteAddress ?? 'unknown'}`;
}
