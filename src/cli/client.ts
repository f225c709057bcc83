import { CliError, EXIT, UsageError } from './errors';

/** Query values: lists are sent comma-separated (Fuel's style); undefined and empty lists are left out. */
export type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface ClientOptions {
  /** The service, e.g. `http://127.0.0.1:8000` (the API prefix `/api/v1` is added unless the URL has one). */
  url: string;
  /** Sent as `Authorization: Bearer` and `X-Auth-Token` when given. */
  token?: string;
  timeoutMs?: number;
  userAgent?: string;
}

export interface Answer<T> {
  body: T;
  status: number;
  headers: Headers;
}

/** The server's largest page. */
export const MAX_PAGE = 1000;

/** The REST API of the service, over Node's global fetch. Every failure is a CliError with one readable line. */
export class ApiClient {
  /** The API root, ending with a slash: `http://host:port/api/v1/`. */
  readonly base: URL;
  /** `http://host:port`, as named in messages. */
  readonly origin: string;

  constructor(private readonly opts: ClientOptions) {
    this.base = apiBase(opts.url);
    this.origin = `${this.base.protocol}//${this.base.host}`;
  }

  /** An API URL: `path` is relative to the API root (`transactions/5`). */
  url(path: string, query: Query = {}): URL {
    const u = new URL(path.replace(/^\/+/, ''), this.base);
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      const text = Array.isArray(v) ? v.join(',') : String(v);
      if (Array.isArray(v) && v.length === 0) continue;
      u.searchParams.set(k, text);
    }
    return u;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', this.url(path, query)).then((a) => a.body);
  }

  post<T>(path: string, query?: Query, body?: unknown): Promise<T> {
    return this.request<T>('POST', this.url(path, query), body).then((a) => a.body);
  }

  delete<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('DELETE', this.url(path, query)).then((a) => a.body);
  }

  /**
   * A paged list followed to its end through `Link: <...>; rel="next"`, or until `limit` rows.
   * `pageSize` rows are asked per request (the last request asks only for what is still missing).
   */
  async collect<T>(path: string, query: Query, opts: { limit?: number; pageSize?: number } = {}): Promise<T[]> {
    const { limit } = opts;
    const pageSize = opts.pageSize ?? Math.min(limit ?? MAX_PAGE, MAX_PAGE);
    const rows: T[] = [];
    if (limit === 0) return rows;
    let url: URL | null = this.url(path, { ...query, limit: Math.min(pageSize, limit ?? Infinity) });
    const seen = new Set<string>();
    while (url) {
      seen.add(url.href);
      const page = await this.request<T[]>('GET', url);
      if (!Array.isArray(page.body)) throw new CliError(`unexpected answer from ${url.pathname}: expected a list`);
      rows.push(...page.body);
      if (limit !== undefined && rows.length >= limit) return rows.slice(0, limit);
      const next = nextLink(page.headers.get('link'), url);
      if (next && limit !== undefined) next.searchParams.set('limit', String(Math.min(pageSize, limit - rows.length)));
      if (next && seen.has(next.href))
        throw new CliError(`the server sent the same next page twice (${next.pathname}${next.search}): stopping`);
      url = next;
    }
    return rows;
  }

  private headers(accept: string): Record<string, string> {
    const headers: Record<string, string> = { accept, 'user-agent': this.opts.userAgent ?? 'dhist' };
    if (this.opts.token) {
      headers.authorization = `Bearer ${this.opts.token}`;
      headers['x-auth-token'] = this.opts.token;
    }
    return headers;
  }

  /**
   * A Server-Sent Events stream, event by event, until the server ends it. `lastEventId` resumes it.
   * A refused request throws a CliError with the server's message and status.
   */
  async *events(path: string, lastEventId?: string): AsyncGenerator<{ type: string; id?: string; data: unknown }> {
    const url = this.url(path);
    const headers = this.headers('text/event-stream');
    if (lastEventId) headers['last-event-id'] = lastEventId;
    let res: Response;
    // The timeout bounds the wait for the answer, not the stream, which lasts as long as the run.
    const connect = new AbortController();
    const timer = setTimeout(() => connect.abort(), this.opts.timeoutMs ?? 30_000);
    try {
      res = await fetch(url, { headers, signal: connect.signal });
    } catch (e) {
      throw new CliError(describeFetchError(e, this.origin, this.opts.timeoutMs ?? 30_000));
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      throw new CliError(`${serverMessage(text) ?? res.statusText} (HTTP ${res.status} from GET ${url.pathname})`, EXIT.failed, res.status);
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: { type: string; id?: string; data: unknown } = { type: 'message', data: undefined };
          const data: string[] = [];
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') event.type = value;
            else if (field === 'id') event.id = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length) event.data = JSON.parse(data.join('\n'));
          yield event;
        }
      }
    } catch (e) {
      if (e instanceof SyntaxError) throw new CliError(`unexpected event from GET ${url.pathname}: ${e.message}`);
      throw new CliError(describeFetchError(e, this.origin));
    }
  }

  async request<T>(method: string, url: URL, body?: unknown): Promise<Answer<T>> {
    const headers = this.headers('application/json');
    if (body !== undefined) headers['content-type'] = 'application/json';
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      throw new CliError(describeFetchError(e, this.origin, timeoutMs));
    }
    if (!res.ok) {
      const why = serverMessage(text) ?? (res.statusText || 'request failed');
      throw new CliError(`${why} (HTTP ${res.status} from ${method} ${url.pathname})`, EXIT.failed, res.status);
    }
    if (res.status === 204 || text === '') return { body: undefined as T, status: res.status, headers: res.headers };
    try {
      return { body: JSON.parse(text) as T, status: res.status, headers: res.headers };
    } catch {
      throw new CliError(`unexpected answer from ${method} ${url.pathname}: not JSON (${JSON.stringify(text.slice(0, 60))})`);
    }
  }
}

/** `http://h:8000` → `http://h:8000/api/v1/`; a URL already ending in `/api` or `/api/v1` is kept. */
export function apiBase(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--url must be an http or https URL such as http://127.0.0.1:8000, got '${raw}'`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--url must be an http or https URL, got '${raw}'`);
  u.search = '';
  u.hash = '';
  let path = u.pathname.replace(/\/+$/, '');
  if (!/\/api(\/v1)?$/.test(path)) path += '/api/v1';
  u.pathname = `${path}/`;
  return u;
}

/** The `rel="next"` target of a Link header, resolved against the URL it came with. */
export function nextLink(header: string | null, from: URL): URL | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2])) return new URL(m[1], from);
  }
  return null;
}

/** The `message` of an error body (`{"message": "..."}`, or a list of messages), else a short text. */
export function serverMessage(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    const m = body?.message;
    if (typeof m === 'string' && m) return m;
    if (Array.isArray(m) && m.length) return m.map(String).join('; ');
    if (typeof body?.error === 'string' && body.error) return body.error;
  } catch {
    /* not JSON */
  }
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return plain ? plain.slice(0, 200) : undefined;
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (DNS lookup failed)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate is not trusted',
};

/** `cannot reach http://h:p: connection refused`, from whatever fetch threw. */
export function describeFetchError(e: unknown, origin: string, timeoutMs?: number): string {
  const err = e as { name?: string; message?: string; cause?: unknown };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return `no answer from ${origin}${timeoutMs ? ` within ${timeoutMs / 1000} s` : ''}`;
  }
  const causes: Array<{ code?: string; message?: string }> = [];
  for (let c: unknown = err?.cause; c && causes.length < 5; c = (c as { cause?: unknown }).cause) {
    causes.push(c);
    const inner = (c as { errors?: unknown[] }).errors;
    if (Array.isArray(inner)) causes.push(...(inner as Array<{ code?: string; message?: string }>));
  }
  for (const c of causes) if (c.code && REASONS[c.code]) return `cannot reach ${origin}: ${REASONS[c.code]}`;
  const first = causes.find((c) => c.code || c.message);
  if (first) return `cannot reach ${origin}: ${first.message || first.code}`;
  return `cannot reach ${origin}: ${err?.message ?? String(e)}`;
}
