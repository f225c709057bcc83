import { Command, Option } from 'commander';
import { decimal, integer } from '../cli/args';
import { renderList } from '../cli/output';
import { TASK_STATUSES } from '../history/task-state';
import { checkInjectedTasks, flakyOption, slowOption } from './injections';
import { makePlan, Plan, SimOptions, stamp } from './plan';
import { AmqpTransport, HttpTransport, Transport } from './transport';

export const DEFAULT_URL = 'http://127.0.0.1:8000';

/** The plan's options as the command line gives them (`runs` and `prefix` have defaults worked out later), and how to send. */
export interface SimulateOptions extends Omit<SimOptions, 'runs' | 'prefix'> {
  url: string;
  token?: string;
  amqp?: string;
  exchange: string;
  routingKey: string;
  runs?: number;
  speed: number;
  prefix?: string;
  json?: boolean;
  quiet?: boolean;
}

/** The simulator's options, on `npm run simulate` (with `--url`) and on `dhist simulate` (which has a global `--url`). */
export function addSimulateOptions(cmd: Command, withUrl: boolean): Command {
  if (withUrl) {
    cmd.addOption(new Option('--url <url>', 'the service, to POST casts to /api/v1/casts').env('DHIST_URL').default(DEFAULT_URL));
    cmd.addOption(new Option('--token <token>', 'sent as Authorization: Bearer and X-Auth-Token').env('DHIST_TOKEN'));
  }
  return cmd
    .option('--amqp <url>', 'publish to RabbitMQ instead of HTTP, e.g. amqp://guest:guest@127.0.0.1:5672')
    .option('--exchange <name>', 'exchange to publish to (with --amqp)', 'nailgun')
    .option('--routing-key <key>', 'routing key (with --amqp)', 'nailgun')
    .option('--clusters <n>', 'clusters deployed side by side', integer('--clusters', 1, 1000), 1)
    .option('--nodes <m>', 'nodes per cluster (a third of them controllers, at most 3)', integer('--nodes', 1, 1000), 3)
    .option(
      '--tasks <t>',
      'tasks per node, the best-known first (upload_configuration, hiera, globals, netconfig, ...)',
      integer('--tasks', 1, 500),
      12,
    )
    .option('--runs <r>', 'runs in all, dealt to the clusters in turn (default: one per cluster)', integer('--runs', 1, 10000))
    .option(
      '--speed <s>',
      'delay factor: 1 = real time (a run takes tens of minutes), 0.01 = 100× faster, 0 = no delay',
      decimal('--speed', 0),
      0,
    )
    .option('--seed <x>', 'the same seed plays the same deployments', '1')
    .option('--failure-rate <p>', 'chance that a run has a failing task', decimal('--failure-rate', 0, 1), 0.34)
    .option('--duplicates <p>', 'chance that a task report is sent twice', decimal('--duplicates', 0, 1), 0.05)
    .option('--out-of-order <p>', 'chance that a task report is delivered late', decimal('--out-of-order', 0, 1), 0.05)
    .option(
      '--slow <task=factor>',
      "make a task slower on purpose: its duration × FACTOR on every node of every run (repeatable; see 'task history regressions')",
      slowOption,
    )
    .option(
      '--flaky <task=rate>',
      "make a task fail now and then: with probability RATE (0 to 1) per node per run, the same for a seed (repeatable; see 'env flaky')",
      flakyOption,
    )
    .option('--release <release>', "the clusters' release", 'mitaka-9.0')
    .option('--first-cluster <id>', 'id of the first cluster', integer('--first-cluster', 0), 1)
    .option('--prefix <prefix>', 'run uuids start with it (default: sim-<seed>-<a time stamp>)')
    .addOption(
      new Option('--method <method>', 'report method: Fuel 10+ or Fuel 9.x')
        .choices(['transaction_resp', 'deploy_resp'])
        .default('transaction_resp'),
    )
    .option('--json', 'print what to expect as JSON')
    .option('-q, --quiet', 'no progress lines on stderr');
}

export interface SimulationResult {
  plan: Plan;
  casts: number;
  seconds: number;
  target: string;
}

/** Plays the plan: sends each cast when due (scaled by speed), stamped with its event time. */
export async function simulate(o: SimulateOptions, log: (line: string) => void): Promise<SimulationResult> {
  checkInjectedTasks(o);
  const sim: SimOptions = {
    clusters: o.clusters,
    nodes: o.nodes,
    tasks: o.tasks,
    runs: o.runs ?? o.clusters,
    seed: o.seed,
    failureRate: o.failureRate,
    duplicates: o.duplicates,
    outOfOrder: o.outOfOrder,
    release: o.release,
    firstCluster: o.firstCluster,
    prefix: o.prefix ?? `sim-${o.seed}-${Date.now().toString(36)}`,
    method: o.method,
    slow: o.slow,
    flaky: o.flaky,
  };
  const plan = makePlan(sim);
  const transport: Transport = o.amqp ? await AmqpTransport.connect(o.amqp, o.exchange, o.routingKey) : new HttpTransport(o.url, o.token);
  const started = Date.now();
  // Event times: as they happen when played in real time; with no delay, as if the whole simulation
  // had just ended (so durations look real).
  const anchor = o.speed > 0 ? started : started - plan.span * 1000;
  const scale = o.speed > 0 ? o.speed : 1;
  const iso = (t: number) => new Date(anchor + t * 1000 * scale).toISOString();
  const byUuid = new Map(plan.runs.map((r) => [r.uuid, r]));
  try {
    let i = 0;
    while (i < plan.deliveries.length) {
      if (o.speed > 0) {
        const due = started + plan.deliveries[i].deliverAt * o.speed * 1000;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      const now = Date.now();
      const batch = [];
      while (
        i < plan.deliveries.length &&
        batch.length < transport.batch &&
        (o.speed === 0 || started + plan.deliveries[i].deliverAt * o.speed * 1000 <= now)
      ) {
        batch.push(plan.deliveries[i++]);
      }
      await transport.send(batch.map((d) => stamp(d, iso)));
      for (const d of batch) {
        const run = byUuid.get(d.run)!;
        if (d.kind === 'start') log(`${run.uuid}: started on cluster ${run.clusterId} (${run.clusterName}), ${run.total} tasks`);
        if (d.kind === 'final') log(`${run.uuid}: ended ${run.status}${run.failure ? ` (${failureText(run.failures)} failed)` : ''}`);
      }
    }
  } finally {
    await transport.close();
  }
  return { plan, casts: plan.deliveries.length, seconds: (Date.now() - started) / 1000, target: transport.describe() };
}

/** The run's failing tasks, the first one named: `netconfig on node 4 (+2 more)`. */
function failureText(failures: Plan['runs'][number]['failures']): string {
  if (!failures.length) return '';
  const [first] = failures;
  return `${first.task} on node ${first.node}${failures.length > 1 ? ` (+${failures.length - 1} more)` : ''}`;
}

/** What the service should hold: per run, its status and its rows per status. */
export function expectation(result: SimulationResult) {
  return {
    target: result.target,
    casts: result.casts,
    duplicates: result.plan.duplicates,
    out_of_order: result.plan.late,
    seconds: result.seconds,
    runs: result.plan.runs.map((r) => ({
      uuid: r.uuid,
      cluster: r.clusterId,
      cluster_name: r.clusterName,
      status: r.status,
      counts: r.expected,
      total: r.total,
      failure: r.failure,
      failures: r.failures,
    })),
  };
}

/** `npm run simulate` and `dhist simulate`: plays the deployments, then prints what the service should hold. */
export async function runSimulateCommand(
  o: SimulateOptions,
  io: { out: (s: string) => void; err: (s: string) => void; color: boolean },
): Promise<number> {
  const log = o.quiet || o.json ? () => undefined : (line: string) => io.err(`${line}\n`);
  const result = await simulate(o, log);
  const summary = expectation(result);
  if (o.json) {
    io.out(JSON.stringify(summary, null, 2) + '\n');
    return 0;
  }
  const runs = summary.runs;
  io.out(
    `Sent ${summary.casts} casts for ${runs.length} run(s) on ${o.clusters} cluster(s) (${o.nodes} nodes × ${o.tasks} tasks, seed ${o.seed}) ` +
      `to ${summary.target} in ${summary.seconds.toFixed(1)} s: ${summary.duplicates} duplicate(s), ${summary.out_of_order} delivered out of order.\n` +
      'The service should now hold:\n',
  );
  const rows = runs.map((r) => ({
    uuid: r.uuid,
    cluster: r.cluster,
    status: r.status,
    ...r.counts,
    total: r.total,
    failure: failureText(r.failures),
  }));
  io.out(
    renderList(rows, ['uuid', 'cluster', 'status', ...TASK_STATUSES, 'total', 'failure'], [], {
      format: 'table',
      columns: [],
      noindent: false,
      quote: 'nonnumeric',
      color: io.color,
    }),
  );
  return 0;
}
