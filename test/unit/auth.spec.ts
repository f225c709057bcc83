import { ExecutionContext, ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { inspect } from 'node:util';
import { Access, AUTH_ACCESS } from '../../src/common/auth/auth.decorators';
import { AuthGuard, presentedToken } from '../../src/common/auth/auth.guard';
import { AuthTokens, loadAuthTokens } from '../../src/common/auth/auth-tokens';
import { AppConfig, ConfigError, loadConfig } from '../../src/common/config/app-config';

const READ = 'r'.repeat(16);
const READ2 = 'read-token-0123456789abcdef';
const ADMIN = 'A'.repeat(40);

/** Loads tokens from env (and a fake file system), returning the tokens and the problems found. */
function load(env: Record<string, string | undefined>, files: Record<string, string> = {}) {
  const problems: string[] = [];
  const tokens = loadAuthTokens(env, problems, (p) => {
    if (!(p in files)) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
    return files[p];
  });
  return { tokens, problems };
}

describe('auth tokens: loading', () => {
  it('no variable: no token, auth not required', () => {
    const { tokens, problems } = load({});
    expect(problems).toEqual([]);
    expect(tokens.required).toBe(false);
    expect(tokens.match(READ)).toBeUndefined();
    expect(loadConfig({}).auth.required).toBe(false);
    expect(loadConfig({ AUTH_READ_TOKENS: '', AUTH_ADMIN_TOKENS: '', AUTH_TOKENS_FILE: '' }).auth.required).toBe(false);
  });

  it('reads comma-separated lists, ignoring blanks and empty entries', () => {
    const { tokens, problems } = load({ AUTH_READ_TOKENS: ` ${READ} ,, ${READ2},`, AUTH_ADMIN_TOKENS: ADMIN });
    expect(problems).toEqual([]);
    expect(tokens.required).toBe(true);
    expect([tokens.count('read'), tokens.count('admin')]).toEqual([2, 1]);
    expect(tokens.match(READ)).toBe('read');
    expect(tokens.match(READ2)).toBe('read');
    expect(tokens.match(ADMIN)).toBe('admin');
    expect(tokens.sources).toEqual(['AUTH_READ_TOKENS', 'AUTH_ADMIN_TOKENS']);
  });

  it('admin tokens alone, or read tokens alone, are a valid configuration', () => {
    expect(load({ AUTH_ADMIN_TOKENS: ADMIN }).tokens.match(ADMIN)).toBe('admin');
    expect(load({ AUTH_READ_TOKENS: READ }).tokens.count('admin')).toBe(0);
  });

  it('reads a tokens file: read:/admin: lines, comments, blank lines, CRLF, blanks around', () => {
    const file = `# deployment-history tokens\n\nread:${READ}\r\n  admin : ${ADMIN}  \n# read:${READ2}\n`;
    const { tokens, problems } = load({ AUTH_TOKENS_FILE: '/etc/dh/tokens' }, { '/etc/dh/tokens': file });
    expect(problems).toEqual([]);
    expect(tokens.match(READ)).toBe('read');
    expect(tokens.match(ADMIN)).toBe('admin');
    expect(tokens.match(READ2)).toBeUndefined();
    expect(tokens.sources).toEqual(['AUTH_TOKENS_FILE (/etc/dh/tokens)']);
  });

  it('combines the file with the variables', () => {
    const { tokens, problems } = load({ AUTH_READ_TOKENS: READ, AUTH_TOKENS_FILE: 'f' }, { f: `admin:${ADMIN}` });
    expect(problems).toEqual([]);
    expect([tokens.match(READ), tokens.match(ADMIN)]).toEqual(['read', 'admin']);
  });

  it('accepts hex, base64 and base64url tokens; the same token twice with one role counts once', () => {
    const b64 = 'dGhpcyBpcyBhIHRva2VuIQ+/ab==';
    const b64url = 'dGhpcyBpcyBhIHRva2VuIQ-_ab';
    const { tokens, problems } = load({ AUTH_READ_TOKENS: `${b64},${b64url},${READ},${READ}`, AUTH_ADMIN_TOKENS: 'deadbeef'.repeat(8) });
    expect(problems).toEqual([]);
    expect(tokens.count('read')).toBe(3);
    expect(tokens.match(b64)).toBe('read');
  });

  it('rejects a token shorter than 16 characters, naming where it is but not the token', () => {
    const { problems } = load({ AUTH_READ_TOKENS: `${READ},short-secret` });
    expect(problems).toEqual([
      "token 2 of AUTH_READ_TOKENS is 12 characters long; a token must have at least 16 (e.g. from 'openssl rand -hex 32')",
    ]);
    expect(problems.join()).not.toContain('short-secret');
  });

  it('rejects a token over 4096 characters and one with characters outside the token alphabet', () => {
    const { problems } = load({ AUTH_ADMIN_TOKENS: `${'x'.repeat(4097)},${'tok en'.repeat(4)},${'tok=en'.repeat(4)}` });
    expect(problems).toEqual([
      'token 1 of AUTH_ADMIN_TOKENS is 4097 characters long; a token must have at most 4096',
      "token 2 of AUTH_ADMIN_TOKENS has a character outside letters, digits, '-', '.', '_', '~', '+', '/' (and trailing '=')",
      "token 3 of AUTH_ADMIN_TOKENS has a character outside letters, digits, '-', '.', '_', '~', '+', '/' (and trailing '=')",
    ]);
  });

  it('rejects a token given both as read and as admin (in the variables or across file and variables)', () => {
    expect(load({ AUTH_READ_TOKENS: `${READ2},${ADMIN}`, AUTH_ADMIN_TOKENS: ADMIN }).problems).toEqual([
      'token 2 of AUTH_READ_TOKENS (read) and token 1 of AUTH_ADMIN_TOKENS (admin) are the same token; give each token one role (admin tokens can also read)',
    ]);
    expect(load({ AUTH_ADMIN_TOKENS: ADMIN, AUTH_TOKENS_FILE: 'f' }, { f: `\nread:${ADMIN}` }).problems).toEqual([
      'token 1 of AUTH_ADMIN_TOKENS (admin) and AUTH_TOKENS_FILE line 2 (read) are the same token; give each token one role (admin tokens can also read)',
    ]);
  });

  it('rejects bad file lines by number, without echoing a token', () => {
    const file = [`read:${READ}`, `write:${READ2}`, ADMIN, `admin:`, `read:short`].join('\n');
    const { problems } = load({ AUTH_TOKENS_FILE: 'f' }, { f: file });
    expect(problems).toEqual([
      "AUTH_TOKENS_FILE line 2: expected 'read:<token>' or 'admin:<token>' (got role 'write')",
      "AUTH_TOKENS_FILE line 3: expected 'read:<token>' or 'admin:<token>'",
      "AUTH_TOKENS_FILE line 4 is 0 characters long; a token must have at least 16 (e.g. from 'openssl rand -hex 32')",
      "AUTH_TOKENS_FILE line 5 is 5 characters long; a token must have at least 16 (e.g. from 'openssl rand -hex 32')",
    ]);
    for (const secret of [READ2, ADMIN]) expect(problems.join()).not.toContain(secret);
  });

  it('rejects a tokens file that cannot be read, or that defines no token (it must not open the API)', () => {
    expect(load({ AUTH_TOKENS_FILE: '/nope/tokens' }).problems).toEqual(["AUTH_TOKENS_FILE: cannot read '/nope/tokens' (ENOENT)"]);
    expect(load({ AUTH_TOKENS_FILE: 'f' }, { f: '# nothing yet\n\n' }).problems).toEqual([
      "AUTH_TOKENS_FILE: 'f' defines no token; write lines 'read:<token>' or 'admin:<token>', or unset AUTH_TOKENS_FILE to run without authentication",
    ]);
  });

  it('loadConfig fails fast with a ConfigError naming the variable, reading a real file', () => {
    let error: unknown;
    try {
      loadConfig({ AUTH_ADMIN_TOKENS: 'admin', PORT: 'x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.problems).toEqual([
      expect.stringMatching(/^PORT must be/),
      expect.stringMatching(/^token 1 of AUTH_ADMIN_TOKENS is 5 characters long/),
    ]);
    expect(e.message).toContain('AUTH_ADMIN_TOKENS');
    expect(() => loadConfig({ AUTH_TOKENS_FILE: '/definitely/not/here' })).toThrow(
      /AUTH_TOKENS_FILE: cannot read '\/definitely\/not\/here' \(ENOENT\)/,
    );
  });

  it('keeps digests only: printing or serialising the config shows counts, never a token', () => {
    const config = loadConfig({ AUTH_READ_TOKENS: READ2, AUTH_ADMIN_TOKENS: ADMIN });
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- what String() makes of the tokens is the point here
    for (const text of [JSON.stringify(config), inspect(config, { depth: 10 }), String(config.auth)]) {
      expect(text).not.toContain(READ2);
      expect(text).not.toContain(ADMIN);
    }
    expect(JSON.parse(JSON.stringify(config)).auth).toEqual({
      required: true,
      read: 1,
      admin: 1,
      sources: ['AUTH_READ_TOKENS', 'AUTH_ADMIN_TOKENS'],
    });
  });
});

describe('auth tokens: matching', () => {
  const tokens = new AuthTokens([
    { role: 'read', token: READ },
    { role: 'admin', token: ADMIN },
  ]);

  it('finds the role of a configured token, and nothing for any other', () => {
    expect(tokens.match(READ)).toBe('read');
    expect(tokens.match(ADMIN)).toBe('admin');
    for (const other of ['', 'r', READ.slice(1), `${READ}r`, READ.toUpperCase(), ADMIN.toLowerCase(), `${READ} `, 'x'.repeat(100000)]) {
      expect(tokens.match(other)).toBeUndefined();
    }
  });

  it('compares digests with timingSafeEqual (no length-dependent throw, every entry compared)', () => {
    const crypto = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const spy = jest.spyOn(crypto, 'timingSafeEqual');
    try {
      expect(tokens.match('x')).toBeUndefined();
      expect(tokens.match(READ)).toBe('read');
      // Two entries, two calls each, even when the first one matched.
      expect(spy).toHaveBeenCalledTimes(4);
      for (const [a, b] of spy.mock.calls) expect([(a as Buffer).length, (b as Buffer).length]).toEqual([32, 32]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('auth: the presented token', () => {
  const h = (headers: Record<string, string | string[]>) => presentedToken({ headers });

  it('takes Authorization: Bearer (any case, extra blanks) or X-Auth-Token', () => {
    expect(h({ authorization: `Bearer ${READ}` })).toEqual({ token: READ });
    expect(h({ authorization: `bearer   ${READ}  ` })).toEqual({ token: READ });
    expect(h({ 'x-auth-token': ` ${READ} ` })).toEqual({ token: READ });
  });

  it('takes both when they carry the same token; refuses different ones', () => {
    expect(h({ authorization: `Bearer ${READ}`, 'x-auth-token': READ })).toEqual({ token: READ });
    expect(h({ authorization: `Bearer ${READ}`, 'x-auth-token': ADMIN })).toEqual({
      problem: expect.stringMatching(/carry different tokens/),
    });
  });

  it('no token: missing; another Authorization scheme: refused, unless X-Auth-Token is given', () => {
    expect(h({})).toEqual({ problem: expect.stringMatching(/^Authentication required/), missing: true });
    expect(h({ authorization: '  ', 'x-auth-token': '' })).toMatchObject({ missing: true });
    expect(h({ authorization: 'Basic dXNlcjpwYXNz' })).toEqual({
      problem: expect.stringMatching(/^Authorization scheme 'Basic' is not supported/),
    });
    expect(h({ authorization: 'Bearer' })).toEqual({ problem: expect.stringMatching(/^Authorization: Bearer carries no token/) });
    expect(h({ authorization: `Bearer ${READ} ${READ}` })).toEqual({
      problem: expect.stringMatching(/^Authorization: Bearer carries no token \(or more than one\)/),
    });
    expect(h({ authorization: 'Basic dXNlcjpwYXNz', 'x-auth-token': READ })).toEqual({ token: READ });
  });

  // Issue #12: `Authorization: <token>` (no scheme) was answered "Authorization scheme '<first 20
  // characters of the token>' is not supported": a token pasted without `Bearer ` went back in the
  // answer (and to whatever logs answers).
  it('a token sent without a scheme, or under a scheme it does not know, is echoed in no part', () => {
    const tokens = ['Zq8xW3vN0pLk7Rt2Ys5uHa9bCd1eFg4', 'admin-0123456789abcdef0123456789', 'dXNlcjpwYXNz01234567', 'a1b2c3d4e5f6a7b8c9d0'];
    for (const token of tokens) {
      const split = `${token.slice(0, 9)} ${token.slice(9)}`;
      const headers = [token, `${token} ${token}`, `Token ${token}`, split, `Bearer: ${token}`, `Bearer=${token}`];
      for (const value of headers) {
        const answer = h({ authorization: value });
        expect(answer).toEqual({ problem: expect.stringMatching(/^Authorization: /) });
        const message = (answer as { problem: string }).problem;
        // No run of 4 characters of the token is in the message.
        const echoed = [...Array(token.length - 3).keys()].map((i) => token.slice(i, i + 4)).filter((part) => message.includes(part));
        expect({ value, message, echoed }).toEqual({ value, message, echoed: [] });
      }
    }
    // A registered scheme is named: its name is not a secret and says what went wrong.
    const digest = h({ authorization: 'Digest username="x"' });
    expect(digest).toEqual({ problem: expect.stringMatching(/^Authorization scheme 'Digest' is not supported/) });
  });
});

describe('AuthGuard', () => {
  const config = (env: Record<string, string>) => ({ auth: loadConfig(env).auth }) as AppConfig;
  const context = (type: string, method: string, headers: Record<string, string>, access?: Access) => {
    const res = { setHeader: jest.fn() };
    const handler = () => undefined;
    if (access) Reflect.defineMetadata(AUTH_ACCESS, access, handler);
    const ctx = {
      getType: () => type,
      getHandler: () => handler,
      getClass: () => class {},
      switchToHttp: () => ({ getRequest: () => ({ method, path: '/api/v1/x', headers }), getResponse: () => res }),
    } as unknown as ExecutionContext;
    return { ctx, res };
  };
  const guard = new AuthGuard(new Reflector(), config({ AUTH_READ_TOKENS: READ, AUTH_ADMIN_TOKENS: ADMIN }));

  it('lets RabbitMQ handlers (rpc) through without looking at anything', () => {
    const ctx = {
      getType: () => 'rpc',
      switchToHttp: () => {
        throw new Error('must not be called');
      },
    } as unknown as ExecutionContext;
    expect(guard.canActivate(ctx)).toBe(true);
  });

  it('lets everything through when no token is configured', () => {
    const open = new AuthGuard(new Reflector(), config({}));
    expect(open.canActivate(context('http', 'DELETE', {}).ctx)).toBe(true);
  });

  it('defaults: GET/HEAD need a read token, other methods an admin token; marks override', () => {
    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    expect(guard.canActivate(context('http', 'GET', bearer(READ)).ctx)).toBe(true);
    expect(guard.canActivate(context('http', 'HEAD', bearer(READ)).ctx)).toBe(true);
    expect(() => guard.canActivate(context('http', 'POST', bearer(READ)).ctx)).toThrow(ForbiddenException);
    expect(guard.canActivate(context('http', 'POST', bearer(ADMIN)).ctx)).toBe(true);
    expect(guard.canActivate(context('http', 'POST', bearer(READ), 'read').ctx)).toBe(true);
    expect(() => guard.canActivate(context('http', 'GET', bearer(READ), 'admin').ctx)).toThrow(ForbiddenException);
    expect(guard.canActivate(context('http', 'POST', {}, 'public').ctx)).toBe(true);
  });

  it('401 with WWW-Authenticate: Bearer for no token and for an unknown one; 403 names the route', () => {
    const none = context('http', 'GET', {});
    expect(() => guard.canActivate(none.ctx)).toThrow(UnauthorizedException);
    expect(none.res.setHeader).toHaveBeenCalledWith('WWW-Authenticate', 'Bearer realm="deployment-history"');
    const wrong = context('http', 'GET', { 'x-auth-token': READ2 });
    expect(() => guard.canActivate(wrong.ctx)).toThrow(/^Invalid token/);
    expect(wrong.res.setHeader).toHaveBeenCalledWith('WWW-Authenticate', 'Bearer realm="deployment-history", error="invalid_token"');
    const write = context('http', 'PUT', { 'x-auth-token': READ }, 'admin');
    expect(() => guard.canActivate(write.ctx)).toThrow(
      'Forbidden: PUT /api/v1/x changes data and needs an admin token; the token sent is a read token',
    );
  });
});
