import { Client } from 'pg';
import { createTestDatabase } from '../database';
import { uniqueName } from '../services';
import { Publisher } from './broker';

/** What a fault test gives one service: its own database (and a client on it), exchange and queues. */
export interface FaultSetup {
  name: string;
  db: { url: string; name: string; drop: () => Promise<void> };
  exchange: string;
  queue: string;
  /** The dead-letter queue, and the dead-letter exchange of the same name. */
  dlq: string;
  sql: Client;
}

export async function faultSetup(prefix: string, name: string): Promise<FaultSetup> {
  const db = await createTestDatabase(prefix);
  const names = uniqueName(`${prefix}_${name}`);
  const sql = new Client({ connectionString: db.url });
  await sql.connect();
  return { name, db, exchange: names, queue: names, dlq: `${names}.dead-letter`, sql };
}

/** Removes what the setups made: their clients, queues, exchanges and databases (for afterAll). */
export async function removeFaultSetups(
  setups: FaultSetup[],
  dropDatabase: (s: FaultSetup) => Promise<void> = (s) => s.db.drop(),
): Promise<void> {
  const cleaner = await Publisher.connect();
  try {
    for (const s of setups) {
      await s.sql.end().catch(() => undefined);
      await cleaner.remove([s.queue, s.dlq], [s.exchange, s.dlq]);
      await dropDatabase(s).catch(() => undefined);
    }
  } finally {
    await cleaner.close();
  }
}
