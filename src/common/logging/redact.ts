/** What a logged secret is replaced with. */
export const REDACTED = '[redacted]';

/** Headers that carry credentials: their values are never logged (pino's redact paths, LoggingModule). */
export const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'x-auth-token', 'cookie'] as const;

/**
 * Query parameters whose value may be a credential, by name (case-insensitive, any bracket suffix):
 * anything with `token` in it (`token`, `access_token`, `id_token`, `x-auth-token`...), `secret`
 * (`client_secret`), `password`/`passwd`/`pwd`, `credential`, `api_key`/`api-key`/`apikey`, and exactly
 * `key`, `auth`, `authorization`, `sig`, `signature`. The service takes none of them (its tokens travel
 * in headers), but a client may still send one, and the URL of every request is logged.
 */
const SECRET_PARAM = /token|secret|passw(or)?d|^pwd$|credential|api[-_.]?key|^(key|auth|authorization|sig|signature)$/i;

export function isSecretParam(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    // a malformed escape: judged as written
  }
  return SECRET_PARAM.test(decoded.replace(/\[.*$/, '').trim());
}

/**
 * A URL (or a header holding URLs, such as `Link`) with the value of every secret query parameter
 * replaced by `[redacted]`; the rest is kept as it was written.
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&;])([^=&#\s<>;]+)=([^&#\s<>;]*)/g, (whole, sep: string, name: string) =>
    isSecretParam(name) ? `${sep}${name}=${REDACTED}` : whole,
  );
}

/** A parsed query (`req.query`) with the values of secret parameters replaced; never changes `query` itself. */
export function redactQuery(query: unknown): unknown {
  if (!query || typeof query !== 'object') return query;
  if (Array.isArray(query)) return query.map(redactQuery);
  return Object.fromEntries(Object.entries(query).map(([k, v]) => [k, isSecretParam(k) ? REDACTED : redactQuery(v)]));
}
