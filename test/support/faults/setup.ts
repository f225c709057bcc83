import { Client } from 'pg';
import { createTestDatabase } from '../database';
import { uniqueName } from '../services';
import { ensureBrokerRunning, Publisher } from './broker';
import { builtService, killAllServices, removeBuiltService } from './service';

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

/** A fault suite's publisher, and the setups of its tests (removed after the suite). */
export class FaultSuite {
  /** Connected before the suite; a test that restarts the broker connects a new one. */
  pub!: Publisher;
  readonly setups: FaultSetup[] = [];

  constructor(private readonly prefix: string) {}

  /** One service's database, exchange and queues, removed after the suite. */
  async setup(name: string): Promise<FaultSetup> {
    const s = await faultSetup(this.prefix, name);
    this.setups.push(s);
    return s;
  }
}

/**
 * The hooks of a fault suite. Before it: the built service, the broker up, a publisher. After it:
 * every service killed, `repair` (what a failed test may have left broken), the publisher closed,
 * and the setups removed (their databases by `dropDatabase`, as removeFaultSetups takes it).
 */
export function useFaultSuite(
  prefix: string,
  after: { repair?: () => Promise<void>; dropDatabase?: (s: FaultSetup) => Promise<void> } = {},
): FaultSuite {
  const suite = new FaultSuite(prefix);
  beforeAll(async () => {
    await builtService();
    await ensureBrokerRunning();
    suite.pub = await Publisher.connect();
  }, 120_000);
  afterAll(async () => {
    await killAllServices();
    removeBuiltService();
    await after.repair?.();
    await suite.pub?.close();
    await removeFaultSetups(suite.setups, after.dropDatabase);
  });
  return suite;
}
