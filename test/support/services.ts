import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The real services the integration tests use. No skipping: when a service is missing, the tests fail
 * (with the URL they tried). Defaults are the local servers that CI and developer machines run.
 */
export const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const AMQP_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

/** Polls `check` until it returns a truthy value or the deadline passes; no fixed sleeps. */
export async function waitFor<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 15000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : last ? `: ${JSON.stringify(last)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`, { cause: last });
    }
    await new Promise((r) => setTimeout(r, delay));
  }
}

export const uniqueName = (prefix: string) =>
  `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`;

/** Ports this process has handed out (a jest worker's tests never get the same one twice). */
const handedOut = new Set<number>();

/**
 * A port nothing listens on (it was free a moment ago), chosen below the kernel's range of ephemeral ports:
 * a port listen(0) gives is from that range, which every outgoing connection of the suite also draws from,
 * and one took the port of a service that bound it seconds after it was chosen (seen in CI: EADDRINUSE in
 * test/e2e/first-start, the embedded PostgreSQL starting in between). Below the range, only another
 * test's server could take it, and each port is checked free first.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  if (low > 11_000) {
    for (let i = 0; i < 500; i++) {
      const port = low - 10_000 + Math.floor(Math.random() * 10_000);
      if (handedOut.has(port)) continue;
      if ((await listenOnce(port)) !== null) {
        handedOut.add(port);
        return port;
      }
    }
  }
  // No room below the range (or none free): one from the range, as the kernel gives it.
  const port = await listenOnce(0);
  if (port === null) throw new Error('no port to listen on at 127.0.0.1');
  return port;
}

/** The first port of the kernel's ephemeral range (Linux); 32768, the usual, elsewhere. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Listens on `port` of 127.0.0.1 (0: one the kernel picks) and closes at once: the port it got, or null if taken. */
function listenOnce(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen(port, '127.0.0.1', () => {
      const got = (s.address() as { port: number }).port;
      s.close(() => resolve(got));
    });
  });
}
