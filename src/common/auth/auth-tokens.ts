import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

/**
 * API tokens: where they come from, how they are checked.
 *
 * Sources (both may be used; their tokens are combined):
 * - `AUTH_READ_TOKENS`, `AUTH_ADMIN_TOKENS`: comma-separated lists (blanks around a token and empty
 *   entries are ignored).
 * - `AUTH_TOKENS_FILE`: a file read once at boot, one token per line written `read:<token>` or
 *   `admin:<token>`; blank lines and lines starting with `#` are ignored.
 *
 * Rules, checked at boot (a violation stops the service with a ConfigError naming the variable or
 * file line, never the token itself):
 * - a token is 16 to 4096 characters of RFC 6750's token alphabet: letters, digits, `-._~+/`,
 *   optionally ending with `=` padding (hex, base64 and base64url all fit; `openssl rand -hex 32`);
 * - a token has one role: the same token given as both read and admin is an error (admin already
 *   includes read); the same token twice with the same role is accepted once;
 * - a tokens file that defines no token is an error (a file set by mistake must not open the API).
 *
 * No token configured at all means the API is open (the service warns at start).
 *
 * Only SHA-256 digests are kept; a presented token is hashed and compared with every configured
 * digest with crypto.timingSafeEqual (equal lengths by construction), so neither the position of
 * the first differing byte nor the token's length shows in the time taken.
 */
export type AuthRole = 'read' | 'admin';

export const MIN_TOKEN_LENGTH = 16;
export const MAX_TOKEN_LENGTH = 4096;
const TOKEN_ALPHABET = /^[A-Za-z0-9\-._~+/]+=*$/;

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** The configured tokens, as digests. Prints and serialises as counts only. */
export class AuthTokens {
  private readonly entries: ReadonlyArray<{ role: AuthRole; digest: Buffer }>;

  constructor(
    tokens: ReadonlyArray<{ role: AuthRole; token: string }>,
    /** Where the tokens came from, for the start-up log (variable names and file path, never values). */
    readonly sources: readonly string[] = [],
  ) {
    this.entries = tokens.map((t) => ({ role: t.role, digest: digest(t.token) }));
  }

  static none(): AuthTokens {
    return new AuthTokens([]);
  }

  /** False when no token is configured: the API is open. */
  get required(): boolean {
    return this.entries.length > 0;
  }

  count(role: AuthRole): number {
    return this.entries.filter((e) => e.role === role).length;
  }

  /** The role of a presented token, or undefined for an unknown one. Constant time in the token. */
  match(token: string): AuthRole | undefined {
    const presented = digest(token);
    let role: AuthRole | undefined;
    // Every digest is compared, whatever matched before: the time does not depend on which matched.
    for (const e of this.entries) if (timingSafeEqual(e.digest, presented)) role ??= e.role;
    return role;
  }

  toJSON() {
    return { required: this.required, read: this.count('read'), admin: this.count('admin'), sources: this.sources };
  }

  [inspect.custom]() {
    return `AuthTokens ${JSON.stringify(this.toJSON())}`;
  }
}

type Env = Record<string, string | undefined>;

/** Where a token was given, for messages: `token 2 of AUTH_READ_TOKENS`, `AUTH_TOKENS_FILE line 7`. */
interface Given {
  role: AuthRole;
  token: string;
  where: string;
}

/**
 * Reads the tokens from `env` (and the file it names). Problems are appended to `problems` (the
 * caller throws one ConfigError for all); the result is then meaningless.
 */
export function loadAuthTokens(
  env: Env,
  problems: string[],
  readFile: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): AuthTokens {
  const given: Given[] = [];
  const sources: string[] = [];

  for (const [name, role] of [
    ['AUTH_READ_TOKENS', 'read'],
    ['AUTH_ADMIN_TOKENS', 'admin'],
  ] as const) {
    const list = (env[name] ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    list.forEach((token, i) => given.push({ role, token, where: `token ${i + 1} of ${name}` }));
    if (list.length) sources.push(name);
  }

  const file = env.AUTH_TOKENS_FILE;
  if (file !== undefined && file !== '') {
    sources.push(`AUTH_TOKENS_FILE (${file})`);
    let text: string | undefined;
    try {
      text = readFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(`AUTH_TOKENS_FILE: cannot read '${file}'${code ? ` (${code})` : ''}`);
    }
    if (text !== undefined) {
      const before = given.length;
      text.split(/\r?\n/).forEach((raw, i) => {
        const line = raw.trim();
        if (line === '' || line.startsWith('#')) return;
        const where = `AUTH_TOKENS_FILE line ${i + 1}`;
        const colon = line.indexOf(':');
        const role = colon < 0 ? '' : line.slice(0, colon).trim();
        if (role !== 'read' && role !== 'admin') {
          // The line may be a bare token: name the role only when it looks like one.
          const shown = /^\w{1,20}$/.test(role) ? ` (got role '${role}')` : '';
          problems.push(`${where}: expected 'read:<token>' or 'admin:<token>'${shown}`);
          return;
        }
        given.push({ role, token: line.slice(colon + 1).trim(), where });
      });
      if (given.length === before && !problems.some((p) => p.startsWith('AUTH_TOKENS_FILE'))) {
        problems.push(
          `AUTH_TOKENS_FILE: '${file}' defines no token; write lines 'read:<token>' or 'admin:<token>', or unset AUTH_TOKENS_FILE to run without authentication`,
        );
      }
    }
  }

  const seen = new Map<string, Given>();
  const tokens: Array<{ role: AuthRole; token: string }> = [];
  for (const g of given) {
    if (g.token.length < MIN_TOKEN_LENGTH) {
      problems.push(
        `${g.where} is ${g.token.length} characters long; a token must have at least ${MIN_TOKEN_LENGTH} (e.g. from 'openssl rand -hex 32')`,
      );
      continue;
    }
    if (g.token.length > MAX_TOKEN_LENGTH) {
      problems.push(`${g.where} is ${g.token.length} characters long; a token must have at most ${MAX_TOKEN_LENGTH}`);
      continue;
    }
    if (!TOKEN_ALPHABET.test(g.token)) {
      problems.push(`${g.where} has a character outside letters, digits, '-', '.', '_', '~', '+', '/' (and trailing '=')`);
      continue;
    }
    const first = seen.get(g.token);
    if (!first) {
      seen.set(g.token, g);
      tokens.push({ role: g.role, token: g.token });
    } else if (first.role !== g.role) {
      problems.push(
        `${first.where} (${first.role}) and ${g.where} (${g.role}) are the same token; give each token one role (admin tokens can also read)`,
      );
    }
  }
  return new AuthTokens(tokens, sources);
}
