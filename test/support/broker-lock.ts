import { Client } from 'pg';
import { DATABASE_URL } from './services';

/**
 * Test files run in parallel (jest workers, see jest.config.js), each on its own database, exchange
 * and queues, but there is one broker: restarting it (test/e2e/faults' last test) drops the
 * connections of every other file using it at that moment. A PostgreSQL advisory lock keeps the two
 * apart: a file takes it shared the first time it reaches for the broker (the helpers below call
 * `useBroker()`), and holds it until its very end (released by test/support/environment.js, after
 * its last afterAll); a broker restart takes it exclusive (`withBrokerToItself`), so it waits for the
 * files using the broker to end, and a file that starts meanwhile waits until the broker is back.
 * Run in band (one file at a time), nobody ever waits.
 */
/** The advisory lock's key (the lock's own test takes another, so as not to meet the files running beside it). */
export const brokerLock = { key: 1_717_017 };
/** Where a file keeps its shared hold: on its own global, which the test environment reads at teardown. */
const HELD = '__dhBrokerShared';
/** Set while this file has the broker to itself: its own helpers then take nothing more. */
const ALONE = '__dhBrokerAlone';

interface Held {
  ready: Promise<void>;
  release: () => Promise<void>;
}

const slot = globalThis as unknown as Record<string, Held | undefined> & { [ALONE]?: boolean };

async function lockClient(): Promise<Client> {
  const c = new Client({ connectionString: DATABASE_URL, application_name: 'dh-test-broker-lock' });
  c.on('error', () => undefined);
  await c.connect().catch((e: Error) => {
    throw new Error(`PostgreSQL at ${DATABASE_URL} is needed for this test and did not answer: ${e.message}`);
  });
  return c;
}

/** This file uses the broker until it ends: waits while another file has the broker to itself. */
export function useBroker(): Promise<void> {
  if (slot[ALONE]) return Promise.resolve();
  const held = slot[HELD];
  if (held) return held.ready;
  let client: Client | undefined;
  const ready = (async () => {
    client = await lockClient();
    await client.query('SELECT pg_advisory_lock_shared($1)', [brokerLock.key]);
  })();
  const release = async () => {
    if (slot[HELD]?.release === release) slot[HELD] = undefined;
    await ready.catch(() => undefined);
    // Ending the session lets the lock go.
    await client?.end().catch(() => undefined);
  };
  slot[HELD] = { ready, release };
  return ready;
}

/** Lets this file's shared hold go (the test environment calls it after the file's last hook). */
export async function releaseBroker(): Promise<void> {
  await slot[HELD]?.release();
}

/**
 * Runs `fn` with the broker to this file alone: waits until no other file uses it (at most
 * `waitMs`), and keeps them off it until `fn` is done; then this file uses it shared again.
 */
export async function withBrokerToItself<T>(fn: () => Promise<T>, waitMs = 240_000): Promise<T> {
  await releaseBroker();
  const c = await lockClient();
  try {
    await c.query(`SET lock_timeout = ${Math.round(waitMs)}`);
    await c.query('SELECT pg_advisory_lock($1)', [brokerLock.key]).catch((e: Error) => {
      throw new Error(`the broker was not free for a restart within ${waitMs} ms (other test files using it): ${e.message}`);
    });
    slot[ALONE] = true;
    return await fn();
  } finally {
    slot[ALONE] = false;
    await c.end().catch(() => undefined);
    await useBroker();
  }
}
