import { join, resolve } from 'node:path';

/**
 * The benchmark's command line: one table of options, from which `--help`, the parser and the
 * options table of bench/README.md (kept in step by test/e2e/bench-tool.e2e-spec.ts) all come.
 * Kept free of the benchmark's other parts so that `--help` and a wrong option cost nothing.
 */

export interface Options {
  transactions: number;
  clusters: number;
  nodes: number;
  tasks: number;
  bigNodes: number;
  bigTasks: number;
  batch: number;
  readSamples: number;
  readClient: 'http' | 'fetch';
  duplicates: number;
  outOfOrder: number;
  window: number;
  httpClients: number;
  httpRuns: number;
  araUrl: string | undefined;
  rowsOnly: number;
  retentionShare: number;
  out: string;
  latest: boolean;
  databaseUrl: string;
  amqpUrl: string;
  port: number;
}

interface Spec {
  /** The option as written, without its `--`. */
  name: string;
  /** Its value's placeholder in the help (none: a flag). */
  value?: 'N' | 'X' | 'DIR' | 'URL' | 'NAME';
  /** Its default, as the help says it. */
  default: string;
  help: string;
}

const RESULTS_DIR = join(__dirname, 'results');

export const OPTIONS: readonly Spec[] = [
  {
    name: 'transactions',
    value: 'N',
    default: '10000',
    help: 'deployment runs ingested over the bus (10 nodes × 10 tasks each by default)',
  },
  { name: 'clusters', value: 'N', default: '20', help: 'clusters the runs are spread over, one run in flight per cluster' },
  { name: 'nodes', value: 'N', default: '10', help: 'nodes per run' },
  { name: 'tasks', value: 'N', default: '10', help: 'tasks per node' },
  { name: 'big-nodes', value: 'N', default: '200', help: 'nodes of the one large run ingested after the others' },
  { name: 'big-tasks', value: 'N', default: '150', help: 'tasks per node of the large run' },
  { name: 'batch', value: 'N', default: '1000', help: "the service's batch size (BATCH_MAX_SIZE), also the raw upserts' batch" },
  { name: 'read-samples', value: 'N', default: '100', help: 'timed requests per read (after 5 warm-up requests)' },
  {
    name: 'read-client',
    value: 'NAME',
    default: 'http',
    help: "the reads' client: http (node:http, as the HTTP path's) or fetch (undici's, the reads' client before 2026-12-02: 2.2–2.7 ms of CPU per request on these 2 cores, inside the figures)",
  },
  { name: 'duplicates', value: 'X', default: '0.05', help: 'share of status casts sent twice' },
  { name: 'out-of-order', value: 'X', default: '0.05', help: 'share of status casts swapped with the next one' },
  {
    name: 'window',
    value: 'N',
    default: '20000',
    help: 'casts in flight at most (published, not yet settled by the service); 0: no limit',
  },
  {
    name: 'http-clients',
    value: 'N',
    default: '0',
    help: 'also measure the HTTP path: N clients, one cast per POST /api/v1/casts (0: not measured; 8 with --ara-url)',
  },
  { name: 'http-runs', value: 'N', default: '100', help: 'runs (same shape as the others, clusters of their own) sent over HTTP' },
  {
    name: 'ara-url',
    value: 'URL',
    default: 'none',
    help: "an ARA server (e.g. http://127.0.0.1:8000): the HTTP path's workload sent to it too, ratio reported",
  },
  {
    name: 'rows-only',
    value: 'N',
    default: '0',
    help: 'instead of the above: fill N history rows through POST /api/v1/casts, then time one retention pass while casts keep being written (bench/retention.ts; 0: off)',
  },
  {
    name: 'retention-share',
    value: 'X',
    default: '0.5',
    help: "with --rows-only: the share of the rows the retention pass removes (each cluster's oldest runs)",
  },
  { name: 'out', value: 'DIR', default: 'bench/results', help: 'where bench-<time>.json (and latest.json) are written' },
  { name: 'latest', default: 'at ≥ 10000 runs', help: 'also write latest.json' },
  { name: 'no-latest', default: 'off', help: 'do not write latest.json' },
  {
    name: 'database-url',
    value: 'URL',
    default: '$DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres',
    help: 'PostgreSQL (a database is created, then dropped)',
  },
  {
    name: 'amqp-url',
    value: 'URL',
    default: '$AMQP_URL or amqp://guest:guest@127.0.0.1:5672',
    help: 'RabbitMQ (an exchange and queues are declared, then deleted)',
  },
  { name: 'port', value: 'N', default: '8765', help: "the service's HTTP port" },
  { name: 'help', default: '', help: 'print this and exit (also -h)' },
];

/** A wrong command line: the benchmark says why and exits 2. */
export class UsageError extends Error {}

/** The options' lines as `--help` prints them. */
export function helpText(): string {
  const left = (s: Spec) => `--${s.name}${s.value ? ` ${s.value}` : ''}`;
  const width = Math.max(...OPTIONS.map((s) => left(s).length));
  return [
    'Usage: npm run bench -- [options]   (see bench/README.md)',
    '',
    ...OPTIONS.map((s) => `  ${left(s).padEnd(width)}  ${s.help}${s.default ? ` [default: ${s.default}]` : ''}`),
    '',
  ].join('\n');
}

/** The same options as a Markdown table, as bench/README.md has it. */
export function optionsTable(): string {
  return [
    '| option | default | meaning |',
    '|---|---|---|',
    ...OPTIONS.map((s) => `| \`--${s.name}${s.value ? ` ${s.value}` : ''}\` | ${s.default ? `\`${s.default}\`` : ''} | ${s.help} |`),
  ].join('\n');
}

/**
 * The command line, `--name value` or `--name=value`: the options, or `'help'` for `--help`/`-h`.
 * Throws UsageError for an unknown option, a missing value, a value that is not a number where one is wanted.
 */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Options | 'help' {
  const given = tokens(argv);
  return given === 'help' ? 'help' : build(given, env);
}

/** The options given, by name (a flag: true), or 'help'. */
function tokens(argv: string[]): Map<string, string | true> | 'help' {
  const given = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') return 'help';
    const m = /^--([^=]+)(?:=(.*))?$/.exec(arg);
    const spec = m && OPTIONS.find((s) => s.name === m[1]);
    if (!spec) throw new UsageError(`unknown option ${arg} (npm run bench -- --help lists them)`);
    if (!spec.value) {
      if (m[2] !== undefined) throw new UsageError(`--${spec.name} takes no value`);
      given.set(spec.name, true);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined || (m[2] === undefined && value.startsWith('--')))
      throw new UsageError(`--${spec.name} needs a value (${spec.value})`);
    given.set(spec.name, value);
  }
  return given;
}

function readClient(name: string): Options['readClient'] {
  if (name !== 'http' && name !== 'fetch') throw new UsageError(`--read-client is http or fetch, not "${name}"`);
  return name;
}

/** The options from those given and their defaults. */
function build(given: Map<string, string | true>, env: NodeJS.ProcessEnv): Options {
  const str = (name: string, fallback: string) => {
    const v = given.get(name);
    return typeof v === 'string' ? v : fallback;
  };
  const num = (name: string, fallback: string, integer = true) => {
    const raw = str(name, fallback);
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
      throw new UsageError(`--${name} must be a ${integer ? 'whole ' : ''}number ≥ 0, not "${raw}"`);
    return n;
  };
  const share = (name: string) => {
    const x = num(name, '0.05', false);
    if (x > 1) throw new UsageError(`--${name} is a share, at most 1, not ${x}`);
    return x;
  };
  const retentionShare = num('retention-share', '0.5', false);
  if (retentionShare > 1) throw new UsageError(`--retention-share is a share, at most 1, not ${retentionShare}`);
  const araUrl = given.has('ara-url') ? str('ara-url', '') : undefined;
  if (araUrl !== undefined && given.get('http-clients') === '0')
    throw new UsageError('--ara-url is compared with our HTTP path: --http-clients must not be 0 with it');
  const transactions = num('transactions', '10000');
  const clusters = num('clusters', '20');
  // Cluster 3's last run is the regression the reads look for, against at least 3 runs before it:
  // below that, a read would find nothing (and the benchmark fails on an empty read).
  if (clusters < 3 || transactions < 3 * clusters + 3)
    throw new UsageError(
      `--clusters must be at least 3 and --transactions at least 3 × clusters + 3 (${3 * Math.max(clusters, 3) + 3}): every read must find something`,
    );
  return {
    transactions,
    clusters,
    nodes: Math.max(1, num('nodes', '10')),
    tasks: Math.max(1, num('tasks', '10')),
    bigNodes: Math.max(1, num('big-nodes', '200')),
    bigTasks: Math.max(1, num('big-tasks', '150')),
    batch: Math.max(1, num('batch', '1000')),
    readSamples: Math.max(1, num('read-samples', '100')),
    readClient: readClient(str('read-client', 'http')),
    duplicates: share('duplicates'),
    outOfOrder: share('out-of-order'),
    window: num('window', '20000'),
    // ARA is measured its own way, 8 clients, and ours alongside it the same way.
    httpClients: num('http-clients', araUrl !== undefined ? '8' : '0'),
    httpRuns: num('http-runs', '100'),
    araUrl,
    rowsOnly: num('rows-only', '0'),
    retentionShare,
    out: resolve(str('out', RESULTS_DIR)),
    latest: given.has('latest') || (transactions >= 10000 && !given.has('no-latest')),
    databaseUrl: str('database-url', env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres'),
    amqpUrl: str('amqp-url', env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672'),
    port: num('port', '8765'),
  };
}
