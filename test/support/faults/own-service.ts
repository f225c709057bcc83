import { createTestDatabase } from '../database';
import { uniqueName } from '../services';
import { Publisher } from './broker';
import { builtService, killAllServices, removeBuiltService, ServiceProcess } from './service';

/** The built service started on a database, an exchange and a queue of its own; `remove` (for afterAll) takes it all down. */
export interface OwnService {
  svc: ServiceProcess;
  remove: () => Promise<void>;
}

/**
 * Starts the built service (a separate process: its memory and its answers under load are its own) on
 * a fresh database (`prefix`) and exchange/queue. If it does not start, what was made is removed at once.
 */
export async function startOwnService(prefix: string, opts: { name: string; env: Record<string, string> }): Promise<OwnService> {
  await builtService();
  const db = await createTestDatabase(prefix);
  const names = uniqueName(prefix);
  const remove = async () => {
    await killAllServices();
    removeBuiltService();
    const pub = await Publisher.connect();
    // The service declares a dead-letter exchange of the same name as its dead-letter queue: both go.
    await pub.remove([names, `${names}.dead-letter`], [names, `${names}.dead-letter`]).finally(() => pub.close());
    await db.drop();
  };
  try {
    return { svc: await ServiceProcess.start({ databaseUrl: db.url, exchange: names, queue: names, ...opts }), remove };
  } catch (e) {
    await remove();
    throw e;
  }
}
