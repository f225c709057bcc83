import { isAbsolute } from 'node:path';
import { AuthTokens, loadAuthTokens } from '../auth/auth-tokens';
import { LOG_FORMATS, LogFormat } from '../logging/pretty-log';
import { doublingTotalMs } from '../runtime/backoff';

/**
 * Typed configuration, read once from the environment and validated at boot.
 * A bad value stops the service with one message naming every offending variable.
 */
export interface AppConfig {
  port: number;
  host: string;
  /** PostgreSQL URL; undefined means "start the embedded PostgreSQL". */
  databaseUrl?: string;
  /**
   * A read replica of DATABASE_URL's primary: the REST read routes query it (common/database/read-db.ts);
   * writes, transactions and the live stream stay on the primary. Undefined: everything on the primary.
   */
  databaseReadUrl?: string;
  /**
   * The writer's small batches (the HTTP path's) send their statements prepared, planned once per connection
   * (history/history-writer.service.ts). `off` for a connection pooler that does not keep prepared statements
   * across transactions (PgBouncer before 1.21, or with max_prepared_statements 0, in transaction mode).
   */
  databasePreparedStatements: boolean;
  embeddedPgDir: string;
  embeddedPgPort: number;
  /**
   * As root, where the embedded PostgreSQL's data and a copy of its binaries go when user `postgres`
   * cannot reach the working folder (rules in database/embedded-postgres.ts).
   */
  embeddedPgStateDir: string;
  /** RabbitMQ URL; undefined means the bus consumer is off (HTTP ingestion still works). */
  amqpUrl?: string;
  amqpExchange: string;
  amqpRoutingKey: string;
  amqpQueue: string;
  /**
   * How the queue and its dead-letter queue are declared: `quorum` (replicated, what a RabbitMQ
   * cluster needs for failover) or `classic` (as always; a quorum queue runs on one node too).
   */
  amqpQueueType: QueueType;
  /** Unacked messages the consumer may hold; bounds a batch. */
  amqpPrefetch: number;
  /** Casts written per database transaction at most, and how long a batch may wait to fill. */
  batchMaxSize: number;
  batchMaxWaitMs: number;
  /** How long a report for an unknown run is retried (its start may be committing on another instance) before it is dead-lettered. */
  unknownRunGraceMs: number;
  /** Longest pause between two attempts to reach the database during an outage (the back-off's cap). */
  storeRetryMaxMs: number;
  /**
   * A cast the broker will not take a dead-letter copy of: copies tried per message before it is given
   * up (rejected, to a policy's dead-letter exchange if any), and the back-off between them, doubling
   * from the first pause up to the longest (receiver/rmq/dead-letterer.service.ts).
   */
  deadLetterAttempts: number;
  deadLetterRetryFirstMs: number;
  deadLetterRetryMaxMs: number;
  logLevels: LogLevelName[];
  /** JSON lines, or readable lines for a person; `auto`: readable when standard output is a terminal (logging/pretty-log.ts). */
  logFormat: LogFormat;
  /** Retention: delete finished runs ended more than N days ago / beyond the last N per cluster, every M minutes. */
  retentionDays?: number;
  retentionKeepRuns?: number;
  retentionIntervalMinutes: number;
  /**
   * Runs (transaction ids) per partition of the history table: retention drops a range whole once all
   * its runs go (history/persistence/partitions.ts). Existing partitions keep their range; new ones take this.
   */
  historyPartitionRuns: number;
  /** Live streams (Server-Sent Events) open at once: in all, and per token (per address without one). */
  streamMaxClients: number;
  streamMaxPerToken: number;
  /** Bytes a stream may have waiting for a slow client; past it, its changes wait and go as one catch-up. */
  streamMaxBufferBytes: number;
  /**
   * Largest request body of POST /casts and POST /transactions (a whole run's graph, or up to 10,000 casts).
   * Every other route takes up to 1 MB (common/http/request-body.ts).
   */
  bodyMaxCastsBytes: number;
  /** How far the heap may grow past what a full collection kept, in % (common/runtime/heap-growth.ts); 0: V8's own choice. */
  heapGrowingPercent: number;
  /**
   * API tokens from AUTH_READ_TOKENS, AUTH_ADMIN_TOKENS and AUTH_TOKENS_FILE (rules in
   * auth/auth-tokens.ts); `auth.required` is false when none is configured (the API is open).
   * Holds digests only and prints as counts: logging the config never shows a token.
   */
  auth: AuthTokens;
}

export const APP_CONFIG = Symbol('APP_CONFIG');

/** The longest a message may be held for its dead-letter copy's back-off (DEAD_LETTER_*), well under RabbitMQ's consumer_timeout. */
const DEAD_LETTER_HOLD_MAX_MS = 10 * 60_000;

/** The embedded PostgreSQL's data folder, relative to the working directory, unless EMBEDDED_PG_DIR names another. */
export const DEFAULT_EMBEDDED_PG_DIR = '.data/postgres';

export const QUEUE_TYPES = ['classic', 'quorum'] as const;
export type QueueType = (typeof QUEUE_TYPES)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** The readers of environment variables, each noting in `problems` what it refused (and falling back). */
function envReaders(env: Env, problems: string[]) {
  const str = (name: string, fallback: string): string => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    if (!/^[\w.\-:/#*]+$/.test(v))
      problems.push(`${name} must be a name made of letters, digits, '.', '-', '_', ':', '/' (and '#', '*' in a routing key) (got '${v}')`);
    return v;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got '${v}')`);
      return fallback;
    }
    return n;
  };
  const optionalInt = (name: string, min: number, max: number): number | undefined =>
    env[name] === undefined || env[name] === '' ? undefined : int(name, min, min, max);
  const url = (name: string, schemes: string[]): string | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    try {
      const u = new URL(v);
      if (!schemes.includes(u.protocol.replace(/:$/, ''))) {
        problems.push(`${name} must be a ${schemes.join(' or ')} URL (got scheme '${u.protocol}')`);
      }
    } catch {
      problems.push(`${name} is not a valid URL (got '${v}'); expected e.g. ${schemes[0]}://user@host:port/...`);
    }
    return v;
  };
  const absolutePath = (name: string, fallback: string): string => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    if (!isAbsolute(v)) problems.push(`${name} must be an absolute path (got '${v}')`);
    return v;
  };
  const logLevel = (): LogLevelName[] => {
    const v = (env.LOG_LEVEL || 'log') as LogLevelName;
    const i = LOG_LEVELS.indexOf(v);
    if (i < 0) {
      problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got '${v}')`);
      return LOG_LEVELS.slice(0, 4);
    }
    return LOG_LEVELS.slice(0, i + 1);
  };
  const logFormat = (): LogFormat => {
    const v = (env.LOG_FORMAT || 'auto') as LogFormat;
    if (LOG_FORMATS.includes(v)) return v;
    problems.push(`LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')} (got '${v}')`);
    return 'auto';
  };

  const oneOf = <T extends string>(name: string, values: readonly T[], fallback: T): T => {
    const v = env[name];
    if (v === undefined || v === '') return fallback;
    if ((values as readonly string[]).includes(v)) return v as T;
    problems.push(`${name} must be one of ${values.join(', ')} (got '${v}')`);
    return fallback;
  };

  return { str, int, optionalInt, url, absolutePath, logLevel, logFormat, oneOf };
}

export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const { str, int, optionalInt, url, absolutePath, logLevel, logFormat, oneOf } = envReaders(env, problems);
  const config: AppConfig = {
    port: int('PORT', 8000, 0, 65535),
    host: str('HOST', '0.0.0.0'),
    databaseUrl: url('DATABASE_URL', ['postgres', 'postgresql']),
    databaseReadUrl: url('DATABASE_READ_URL', ['postgres', 'postgresql']),
    databasePreparedStatements: oneOf('DATABASE_PREPARED_STATEMENTS', ['on', 'off'] as const, 'on') === 'on',
    embeddedPgDir: env.EMBEDDED_PG_DIR || DEFAULT_EMBEDDED_PG_DIR,
    embeddedPgPort: int('EMBEDDED_PG_PORT', 54329, 1, 65535),
    embeddedPgStateDir: absolutePath('EMBEDDED_PG_STATE_DIR', '/var/lib/deployment-history'),
    amqpUrl: url('AMQP_URL', ['amqp', 'amqps']),
    amqpExchange: str('AMQP_EXCHANGE', 'nailgun'),
    amqpRoutingKey: str('AMQP_ROUTING_KEY', 'nailgun'),
    amqpQueue: str('AMQP_QUEUE', 'nailgun'),
    amqpQueueType: oneOf('AMQP_QUEUE_TYPE', QUEUE_TYPES, 'classic'),
    amqpPrefetch: int('AMQP_PREFETCH', 2000, 1, 65535),
    batchMaxSize: int('BATCH_MAX_SIZE', 1000, 1, 100000),
    batchMaxWaitMs: int('BATCH_MAX_WAIT_MS', 10, 0, 60000),
    unknownRunGraceMs: int('UNKNOWN_RUN_GRACE_MS', 5000, 0, 600000),
    storeRetryMaxMs: int('STORE_RETRY_MAX_MS', 30000, 100, 600000),
    deadLetterAttempts: int('DEAD_LETTER_ATTEMPTS', 6, 1, 100),
    deadLetterRetryFirstMs: int('DEAD_LETTER_RETRY_FIRST_MS', 500, 10, 60000),
    deadLetterRetryMaxMs: int('DEAD_LETTER_RETRY_MAX_MS', 8000, 10, 600000),
    logLevels: logLevel(),
    logFormat: logFormat(),
    retentionDays: optionalInt('RETENTION_DAYS', 0, 36500),
    retentionKeepRuns: optionalInt('RETENTION_KEEP_RUNS', 1, 1_000_000),
    retentionIntervalMinutes: int('RETENTION_INTERVAL_MINUTES', 60, 1, 10080),
    historyPartitionRuns: int('HISTORY_PARTITION_RUNS', 1000, 10, 10_000_000),
    streamMaxClients: int('STREAM_MAX_CLIENTS', 500, 1, 100_000),
    streamMaxPerToken: int('STREAM_MAX_PER_TOKEN', 100, 1, 100_000),
    streamMaxBufferBytes: int('STREAM_MAX_BUFFER_BYTES', 1_048_576, 65_536, 1_073_741_824),
    bodyMaxCastsBytes: int('BODY_MAX_CASTS_BYTES', 67_108_864, 1_048_576, 536_870_912),
    heapGrowingPercent: int('HEAP_GROWING_PERCENT', 100, 0, 1000),
    auth: loadAuthTokens(env, problems),
  };
  if (config.databaseReadUrl && !config.databaseUrl) {
    problems.push(
      'DATABASE_READ_URL needs DATABASE_URL: reads go to a replica of the primary that DATABASE_URL names (the embedded PostgreSQL has none)',
    );
  }
  if (config.deadLetterRetryMaxMs < config.deadLetterRetryFirstMs) {
    problems.push(
      `DEAD_LETTER_RETRY_MAX_MS (${config.deadLetterRetryMaxMs}) must be at least DEAD_LETTER_RETRY_FIRST_MS (${config.deadLetterRetryFirstMs}): it caps the back-off that starts there`,
    );
  } else {
    // The message is held unacked meanwhile: past RabbitMQ's consumer_timeout (30 min by default) the
    // broker would close the channel, and every delivery on it would come again.
    const heldMs = doublingTotalMs(config.deadLetterAttempts - 1, config.deadLetterRetryFirstMs, config.deadLetterRetryMaxMs);
    if (heldMs > DEAD_LETTER_HOLD_MAX_MS) {
      problems.push(
        `DEAD_LETTER_ATTEMPTS, DEAD_LETTER_RETRY_FIRST_MS and DEAD_LETTER_RETRY_MAX_MS hold a message ${Math.round(heldMs / 1000)} s before it is given up: at most ${DEAD_LETTER_HOLD_MAX_MS / 60_000} min (RabbitMQ's consumer_timeout, 30 min by default, would close the channel)`,
      );
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}
