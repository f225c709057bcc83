import { AppConfig, ConfigError, loadConfig } from '../../src/common/config/app-config';

/** Returns the ConfigError thrown by loadConfig(env), failing the test if none is thrown. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('uses the defaults with an empty environment', () => {
    // Auth settings have tests of their own (auth.spec.ts).
    const { auth: _auth, ...c } = loadConfig({});
    expect(c).toEqual({
      port: 8000,
      host: '0.0.0.0',
      databaseUrl: undefined,
      databaseReadUrl: undefined,
      databasePreparedStatements: true,
      embeddedPgDir: '.data/postgres',
      embeddedPgPort: 54329,
      embeddedPgStateDir: '/var/lib/deployment-history',
      amqpUrl: undefined,
      amqpExchange: 'nailgun',
      amqpRoutingKey: 'nailgun',
      amqpQueue: 'nailgun',
      amqpQueueType: 'classic',
      amqpPrefetch: 2000,
      batchMaxSize: 1000,
      batchMaxWaitMs: 10,
      unknownRunGraceMs: 5000,
      storeRetryMaxMs: 30000,
      deadLetterAttempts: 6,
      deadLetterRetryFirstMs: 500,
      deadLetterRetryMaxMs: 8000,
      logLevels: ['fatal', 'error', 'warn', 'log'],
      logFormat: 'auto',
      retentionDays: undefined,
      retentionKeepRuns: undefined,
      retentionIntervalMinutes: 60,
      historyPartitionRuns: 1000,
      heapGrowingPercent: 100,
      streamMaxClients: 500,
      streamMaxPerToken: 100,
      streamMaxBufferBytes: 1_048_576,
      bodyMaxCastsBytes: 67_108_864,
    });
  });

  it('reads the body limit of POST /casts and /transactions and rejects a bad one', () => {
    expect(loadConfig({ BODY_MAX_CASTS_BYTES: '4194304' }).bodyMaxCastsBytes).toBe(4_194_304);
    const e = configError({ BODY_MAX_CASTS_BYTES: '64mb' });
    expect(e.problems.join('\n')).toMatch(/BODY_MAX_CASTS_BYTES must be an integer between 1048576 and 536870912 \(got '64mb'\)/);
    const small = configError({ BODY_MAX_CASTS_BYTES: '1000' }).problems.join('\n');
    expect(small).toMatch(/BODY_MAX_CASTS_BYTES must be an integer between 1048576 and 536870912/);
  });

  it.each([
    {
      what: 'the retention policy',
      env: { RETENTION_DAYS: '90', RETENTION_KEEP_RUNS: '100', RETENTION_INTERVAL_MINUTES: '15' },
      read: (c: AppConfig) => [c.retentionDays, c.retentionKeepRuns, c.retentionIntervalMinutes],
      values: [90, 100, 15],
      bad: { RETENTION_KEEP_RUNS: '0', RETENTION_DAYS: 'soon' },
      problems: [/RETENTION_KEEP_RUNS must be an integer between 1 and 1000000/, /RETENTION_DAYS must be an integer between 0 and 36500/],
    },
    {
      what: 'the runs per history partition',
      env: { HISTORY_PARTITION_RUNS: '5000' },
      read: (c: AppConfig) => [c.historyPartitionRuns],
      values: [5000],
      bad: { HISTORY_PARTITION_RUNS: '1' },
      problems: [/HISTORY_PARTITION_RUNS must be an integer between 10 and 10000000/],
    },
    {
      what: 'the heap growth (issue #17)',
      env: { HEAP_GROWING_PERCENT: '50' },
      read: (c: AppConfig) => [c.heapGrowingPercent, loadConfig({}).heapGrowingPercent],
      values: [50, 100],
      bad: { HEAP_GROWING_PERCENT: '-1' },
      problems: [/HEAP_GROWING_PERCENT must be an integer between 0 and 1000/],
    },
    {
      what: 'the live stream limits',
      env: { STREAM_MAX_CLIENTS: '50', STREAM_MAX_PER_TOKEN: '5', STREAM_MAX_BUFFER_BYTES: '4194304' },
      read: (c: AppConfig) => [c.streamMaxClients, c.streamMaxPerToken, c.streamMaxBufferBytes],
      values: [50, 5, 4194304],
      bad: { STREAM_MAX_CLIENTS: '0', STREAM_MAX_BUFFER_BYTES: '1000' },
      problems: [
        /STREAM_MAX_CLIENTS must be an integer between 1 and 100000/,
        /STREAM_MAX_BUFFER_BYTES must be an integer between 65536 and 1073741824/,
      ],
    },
  ])('reads $what and rejects bad values', ({ env, read, values, bad, problems }) => {
    expect(read(loadConfig(env))).toEqual(values);
    const e = configError(bad);
    for (const problem of problems) expect(e.problems.join('\n')).toMatch(problem);
  });

  it('reads where the embedded PostgreSQL goes as root, and the log format; rejects bad ones', () => {
    const c = loadConfig({ EMBEDDED_PG_STATE_DIR: '/srv/dh', LOG_FORMAT: 'json' });
    expect([c.embeddedPgStateDir, c.logFormat]).toEqual(['/srv/dh', 'json']);
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    const e = configError({ EMBEDDED_PG_STATE_DIR: 'state', LOG_FORMAT: 'colour' });
    expect(e.problems).toEqual([
      "EMBEDDED_PG_STATE_DIR must be an absolute path (got 'state')",
      "LOG_FORMAT must be one of auto, pretty, json (got 'colour')",
    ]);
  });

  it("reads the dead-letter copy's attempts and back-off; refuses a longest pause under the first, or out of range", () => {
    expect(loadConfig({ DEAD_LETTER_ATTEMPTS: '3', DEAD_LETTER_RETRY_FIRST_MS: '50', DEAD_LETTER_RETRY_MAX_MS: '400' })).toMatchObject({
      deadLetterAttempts: 3,
      deadLetterRetryFirstMs: 50,
      deadLetterRetryMaxMs: 400,
    });
    expect(configError({ DEAD_LETTER_RETRY_FIRST_MS: '2000', DEAD_LETTER_RETRY_MAX_MS: '1000' }).problems).toEqual([
      'DEAD_LETTER_RETRY_MAX_MS (1000) must be at least DEAD_LETTER_RETRY_FIRST_MS (2000): it caps the back-off that starts there',
    ]);
    expect(configError({ DEAD_LETTER_ATTEMPTS: '0' }).problems).toEqual([
      "DEAD_LETTER_ATTEMPTS must be an integer between 1 and 100 (got '0')",
    ]);
    // Held at most 10 min (RabbitMQ's consumer_timeout is 30 min): 11 attempts of up to 60 s hold 244 s, 20 hold 784 s.
    expect(loadConfig({ DEAD_LETTER_ATTEMPTS: '11', DEAD_LETTER_RETRY_MAX_MS: '60000' }).deadLetterAttempts).toBe(11);
    expect(configError({ DEAD_LETTER_ATTEMPTS: '20', DEAD_LETTER_RETRY_MAX_MS: '60000' }).problems).toEqual([
      "DEAD_LETTER_ATTEMPTS, DEAD_LETTER_RETRY_FIRST_MS and DEAD_LETTER_RETRY_MAX_MS hold a message 784 s before it is given up: at most 10 min (RabbitMQ's consumer_timeout, 30 min by default, would close the channel)",
    ]);
  });

  it('reads the queue type, classic by default, and refuses any other', () => {
    expect(loadConfig({ AMQP_QUEUE_TYPE: 'quorum' }).amqpQueueType).toBe('quorum');
    expect(loadConfig({ AMQP_QUEUE_TYPE: 'classic' }).amqpQueueType).toBe('classic');
    expect(loadConfig({ AMQP_QUEUE_TYPE: '' }).amqpQueueType).toBe('classic');
    expect(configError({ AMQP_QUEUE_TYPE: 'stream' }).problems).toEqual(["AMQP_QUEUE_TYPE must be one of classic, quorum (got 'stream')"]);
    expect(configError({ AMQP_QUEUE_TYPE: 'Quorum' }).problems).toHaveLength(1);
  });

  it('reads DATABASE_PREPARED_STATEMENTS as on or off, nothing else', () => {
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'off' }).databasePreparedStatements).toBe(false);
    expect(loadConfig({ DATABASE_PREPARED_STATEMENTS: 'on' }).databasePreparedStatements).toBe(true);
    expect(() => loadConfig({ DATABASE_PREPARED_STATEMENTS: 'no' })).toThrow(
      /DATABASE_PREPARED_STATEMENTS must be one of on, off \(got 'no'\)/,
    );
  });

  it('reads DATABASE_READ_URL next to DATABASE_URL; refuses it alone (the embedded PostgreSQL has no replica) or with a bad scheme', () => {
    const both = { DATABASE_URL: 'postgres://u@primary/db', DATABASE_READ_URL: 'postgres://u@replica/db' };
    expect(loadConfig(both)).toMatchObject({ databaseUrl: 'postgres://u@primary/db', databaseReadUrl: 'postgres://u@replica/db' });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@primary/db', DATABASE_READ_URL: '' }).databaseReadUrl).toBeUndefined();
    expect(configError({ DATABASE_READ_URL: 'postgres://u@replica/db' }).problems).toEqual([
      'DATABASE_READ_URL needs DATABASE_URL: reads go to a replica of the primary that DATABASE_URL names (the embedded PostgreSQL has none)',
    ]);
    expect(configError({ ...both, DATABASE_READ_URL: 'mysql://u@replica/db' }).problems[0]).toMatch(
      /^DATABASE_READ_URL must be a postgres/,
    );
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({ PORT: '', DATABASE_URL: '', AMQP_URL: '', AMQP_EXCHANGE: '', LOG_LEVEL: '' });
    expect(c.port).toBe(8000);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.amqpUrl).toBeUndefined();
    expect(c.amqpExchange).toBe('nailgun');
    expect(c.logLevels).toEqual(['fatal', 'error', 'warn', 'log']);
  });

  it('reads valid values', () => {
    const c = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgresql://postgres@localhost:5432/history',
      AMQP_URL: 'amqps://guest:guest@rabbit:5671/',
      AMQP_EXCHANGE: 'nailgun.test',
      AMQP_QUEUE: 'history_queue',
      AMQP_PREFETCH: '10',
      BATCH_MAX_SIZE: '100000',
      BATCH_MAX_WAIT_MS: '0',
      LOG_LEVEL: 'debug',
    });
    expect(c).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      databaseUrl: 'postgresql://postgres@localhost:5432/history',
      amqpUrl: 'amqps://guest:guest@rabbit:5671/',
      amqpExchange: 'nailgun.test',
      amqpQueue: 'history_queue',
      amqpPrefetch: 10,
      batchMaxSize: 100000,
      batchMaxWaitMs: 0,
      logLevels: ['fatal', 'error', 'warn', 'log', 'debug'],
    });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).databaseUrl).toBe('postgres://u@h/db');
    expect(loadConfig({ PORT: '65535' }).port).toBe(65535);
  });

  it.each(['abc', '-1', '65536', '80.5', '1e3', '0x50'])('rejects PORT=%j, naming PORT and the value', (port) => {
    const e = configError({ PORT: port });
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]).toMatch(/^PORT must be an integer between 0 and 65535/);
    expect(e.problems[0]).toContain(`'${port}'`);
    expect(e.message).toContain('PORT');
    expect(e.name).toBe('ConfigError');
  });

  it('rejects a DATABASE_URL with the wrong scheme, naming the scheme', () => {
    const e = configError({ DATABASE_URL: 'mysql://root@localhost/history' });
    expect(e.problems).toEqual([expect.stringMatching(/^DATABASE_URL must be a postgres or postgresql URL \(got scheme 'mysql:'\)/)]);
  });

  it('rejects a DATABASE_URL that is not a URL', () => {
    const e = configError({ DATABASE_URL: 'postgres@localhost/history' });
    expect(e.problems).toEqual([expect.stringMatching(/^DATABASE_URL is not a valid URL/)]);
  });

  it('rejects an AMQP_URL with the wrong scheme', () => {
    expect(configError({ AMQP_URL: 'http://rabbit:15672' }).problems).toEqual([
      expect.stringMatching(/^AMQP_URL must be a amqp or amqps URL/),
    ]);
  });

  it('rejects bad names and an unknown LOG_LEVEL', () => {
    expect(configError({ AMQP_QUEUE: 'my queue' }).problems).toEqual([expect.stringMatching(/^AMQP_QUEUE must be a name/)]);
    expect(configError({ LOG_LEVEL: 'loud' }).problems).toEqual([
      expect.stringMatching(/^LOG_LEVEL must be one of fatal, error, warn, log, debug, verbose \(got 'loud'\)/),
    ]);
  });

  it.each([
    ['AMQP_PREFETCH', '0'],
    ['BATCH_MAX_SIZE', '100001'],
    ['BATCH_MAX_WAIT_MS', '60001'],
    ['EMBEDDED_PG_PORT', '0'],
  ])('rejects %s=%s out of range', (name, value) => {
    expect(configError({ [name]: value }).problems).toEqual([expect.stringMatching(new RegExp(`^${name} must be an integer`))]);
  });

  it('reports several problems at once, each naming its variable', () => {
    const e = configError({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://root@localhost/history',
      AMQP_URL: 'not a url',
      LOG_LEVEL: 'loud',
      BATCH_MAX_SIZE: '0',
      HOST: 'bad host!',
    });
    expect(e.problems).toHaveLength(6);
    for (const name of ['PORT', 'DATABASE_URL', 'AMQP_URL', 'LOG_LEVEL', 'BATCH_MAX_SIZE', 'HOST']) {
      expect(e.problems.some((p) => p.startsWith(`${name} `))).toBe(true);
      expect(e.message).toContain(name);
    }
    expect(e.message.startsWith('Invalid configuration:\n  - ')).toBe(true);
  });
});
