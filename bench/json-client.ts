import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';

/**
 * The clients' side of the HTTP path (ours and ARA's): node:http on keep-alive connections, one per client.
 * Not fetch(): undici's fetch spent ~1 ms of CPU per request on this machine (945–1,400 µs per cast measured
 * in the benchmark), as much as the service it measured, on the same 2 cores; node:http spends ~300 µs.
 * Both servers are sent the same headers (JSON, no Accept-Encoding: answers come as they are), unless
 * `headers` say otherwise (the reads ask for gzip, as fetch() did: an answer that comes encoded is decoded).
 */
export class JsonClient {
  private readonly agent: http.Agent;
  private readonly lib: typeof http | typeof https;

  constructor(
    readonly base: string,
    clients: number,
    private readonly headers: Record<string, string> = {},
  ) {
    this.lib = base.startsWith('https:') ? https : http;
    this.agent = new this.lib.Agent({ keepAlive: true, maxSockets: clients });
  }

  /** `method path` with a JSON body (a string or bytes as they are, else serialized): the status and the answer's text. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const bytes = body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = this.lib.request(
        `${this.base}${path}`,
        {
          method,
          agent: this.agent,
          headers:
            bytes === undefined
              ? this.headers
              : { ...this.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(bytes) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve({
                status: res.statusCode ?? 0,
                text: decoded(Buffer.concat(chunks), res.headers['content-encoding']).toString('utf8'),
              });
            } catch (e) {
              reject(e instanceof Error ? e : new Error(String(e)));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(bytes);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** An answer's bytes as sent before their Content-Encoding (none, gzip, deflate or br). */
function decoded(bytes: Buffer, encoding: string | undefined): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case undefined:
    case '':
    case 'identity':
      return bytes;
    case 'gzip':
      return zlib.gunzipSync(bytes);
    case 'deflate':
      return zlib.inflateSync(bytes);
    case 'br':
      return zlib.brotliDecompressSync(bytes);
    default:
      throw new Error(`an answer in an encoding the client did not ask for: ${encoding}`);
  }
}
