import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Argument, Command, Option } from 'commander';
import { addSimulateOptions, runSimulateCommand, SimulateOptions } from '../simulator/simulate';
import { collect, decimal, integer, isoTime, list } from './args';
import { ApiClient, MAX_PAGE } from './client';
import { ANY_COLUMN, duration, FORMATS, OutputOptions, QUOTE_MODES, renderList, renderOne, Row } from './output';
import { watchHistory } from './watch';
import { UsageError } from './errors';

/**
 * `dhist`: the command-line client of the deployment-history service, shaped like `fuel2 task ...`
 * (cliff's formats and `-c` columns), plus the cross-run views. It speaks HTTP only.
 */
export const DEFAULT_URL = 'http://127.0.0.1:8000';

const TASK_COLUMNS = ['id', 'status', 'name', 'graph_type', 'cluster', 'result', 'dry_run', 'progress'];
const TASK_KNOWN = ['uuid', 'message', 'time_start', 'time_end', 'duration', 'parent_id', 'epoch'];
const HISTORY_COLUMNS = ['task_name', 'node_id', 'status', 'time_start', 'time_end', 'duration'];
/** History rows carry the orchestrator's custom keys at their root: any column may be asked for. */
const HISTORY_KNOWN = ['type', 'error_message', 'closed_reason', 'summary', ANY_COLUMN];
const CROSS_RUN_KNOWN = [...HISTORY_KNOWN, 'transaction_id', 'transaction_uuid', 'transaction_name', 'epoch', 'node_id'];
const STATE_COLUMNS = ['node_id', 'task_name', 'status', 'time_start', 'time_end', 'transaction_id'];
const STATE_KNOWN = ['type', 'transaction_uuid', 'transaction_name'];
const CLUSTER_COLUMNS = [
  'id',
  'name',
  'release',
  'version',
  'history_enabled',
  'epoch',
  'transactions',
  'running_transactions',
  'history_rows',
  'last_transaction_id',
];
const DIFF_COLUMNS = ['node_id', 'task_name', 'status', 'other_status', 'change'];

interface Context {
  api: ApiClient;
  out: OutputOptions;
  print: (text: string) => void;
}

/** The package's version, from its package.json (found upwards: src/cli under ts-node, dist/src/cli when built). */
export function packageVersion(dir = __dirname): string {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'package.json');
    if (existsSync(candidate)) return (JSON.parse(readFileSync(candidate, 'utf8')) as { version?: string }).version ?? 'unknown';
    if (dirname(d) === d) return 'unknown';
  }
}

function useColor(when: string): boolean {
  if (when === 'always') return true;
  if (when === 'never') return false;
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

function context(cmd: Command): Context {
  const g = cmd.optsWithGlobals<Record<string, unknown>>();
  return {
    api: new ApiClient({
      url: g.url as string,
      token: (g.token as string) || undefined,
      timeoutMs: (g.timeout as number) * 1000,
      userAgent: `dhist/${packageVersion()}`,
    }),
    out: {
      format: (g.format as OutputOptions['format']) ?? 'table',
      columns: (g.column as string[]) ?? [],
      noindent: Boolean(g.noindent),
      quote: (g.quote as OutputOptions['quote']) ?? 'nonnumeric',
      color: useColor(g.color as string),
    },
    print: (text) => process.stdout.write(text),
  };
}

/** An action: its arguments, its options, and the context (client, output options). A returned number is the exit code. */
type Handler = (ctx: Context, args: any[], opts: Record<string, any>) => Promise<number | void>;
function act(fn: Handler) {
  return async (...all: unknown[]) => {
    const cmd = all[all.length - 1] as Command;
    const code = await fn(context(cmd), all.slice(0, -2), cmd.opts());
    if (typeof code === 'number') process.exitCode = code;
  };
}

/** cliff's output options, on every command that prints something. */
function withOutput(cmd: Command): Command {
  return cmd
    .addOption(new Option('-f, --format <format>', 'output format').choices(FORMATS).default('table'))
    .addOption(
      new Option('-c, --column <column>', 'a column to show; repeat for more').argParser(collect).default([], "the command's columns"),
    )
    .option('--noindent', 'JSON on one line')
    .addOption(new Option('--quote <mode>', 'CSV quoting').choices(QUOTE_MODES).default('nonnumeric'));
}

const id = (name: string, what: string) => new Argument(`<${name}>`, what).argParser(integer(what));

/** Filters shared by the cross-run lists, and their paging. */
function crossRunOptions(cmd: Command, nodes: boolean): Command {
  if (nodes) cmd.option('--nodes <node...>', 'only these nodes (ids, master; null for cluster-level tasks)');
  return withOutput(
    cmd
      .option('--statuses <status...>', 'only tasks in these statuses (pending running ready error skipped)')
      .option('--tasks-names <name...>', 'only these tasks')
      .option('--transaction-types <name...>', 'only runs with these names (deployment, provision, ...)')
      .option('--since <time>', 'only tasks that started at or after this ISO 8601 time', isoTime('--since'))
      .option('--until <time>', 'only tasks that started before this ISO 8601 time', isoTime('--until'))
      .addOption(new Option('--epoch <epoch>', 'all runs, or only those since the last reset').choices(['all', 'current']))
      .option('--oldest-first', 'oldest rows first (default: newest first)')
      .option('--include-summary', "add each task's summary")
      .option('--limit <n>', 'stop after this many rows (default: follow the pages to the end)', integer('--limit', 0))
      .option('--page-size <n>', `rows asked per request, 1 to ${MAX_PAGE}`, integer('--page-size', 1, MAX_PAGE)),
  );
}

async function crossRun(ctx: Context, path: string, o: Record<string, any>, defaults: string[]): Promise<void> {
  const rows = await ctx.api.collect<Row>(
    path,
    {
      nodes: list(o.nodes),
      statuses: list(o.statuses),
      tasks_names: list(o.tasksNames),
      transaction_types: list(o.transactionTypes),
      since: o.since,
      until: o.until,
      epoch: o.epoch,
      order: o.oldestFirst ? 'time_start' : undefined,
      include_summary: o.includeSummary || ctx.out.columns.includes('summary') ? 1 : undefined,
    },
    { limit: o.limit, pageSize: o.pageSize },
  );
  ctx.print(renderList(rows.map(withDuration), o.includeSummary ? [...defaults, 'summary'] : defaults, CROSS_RUN_KNOWN, ctx.out));
}

const nodeName = (n: unknown) => (n === null ? 'cluster' : n === 'master' ? 'master' : `node ${n}`);

const withDuration = (r: Row): Row => ({ ...r, duration: duration(r.time_start, r.time_end) });

const NODE_ORDER = (n: unknown) => (n === null ? 0 : n === 'master' ? 1 : 2);
function byNodeThenTask(a: Row, b: Row): number {
  const [x, y] = [a.node_id as string | null, b.node_id as string | null];
  const nodes = NODE_ORDER(x) - NODE_ORDER(y) || (x && y ? x.length - y.length || (x < y ? -1 : x > y ? 1 : 0) : 0);
  return nodes || String(a.task_name).localeCompare(String(b.task_name));
}

export function buildProgram(): Command {
  const program = new Command('dhist')
    .description('Command-line client of the deployment-history service (shaped like fuel2 task ...)')
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('--url <url>', 'the service').env('DHIST_URL').default(DEFAULT_URL))
    .addOption(new Option('--token <token>', 'sent as Authorization: Bearer and X-Auth-Token').env('DHIST_TOKEN'))
    .addOption(new Option('--timeout <seconds>', 'per request').argParser(decimal('--timeout', 0.1)).default(30))
    .addOption(new Option('--color <when>', 'colour statuses in tables').choices(['auto', 'always', 'never']).default('auto'))
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 done; 1 the request failed (server unreachable, HTTP error); 2 bad command line;\n' +
        '3 task history show --watch: the run ended in error or stopped.\n' +
        `Environment: DHIST_URL (default ${DEFAULT_URL}), DHIST_TOKEN, NO_COLOR.`,
    );

  // ---- task: runs (transactions) and their history, like fuel2 task ...
  const task = program.command('task').description('runs (transactions) and their task history');

  withOutput(
    task
      .command('list')
      .description("runs, oldest first (columns as fuel2 task list; result is the run's message)")
      .option('-e, --env <cluster>', 'only the runs of this cluster (environment)', integer('--env'))
      .option('-t, --statuses <status...>', 'only runs in these statuses (pending running ready error stopped)')
      .option('-n, --names <name...>', 'only runs with these names (deployment, provision, dry_run_deployment, ...)'),
  ).action(
    act(async (ctx, _args, o) => {
      const rows = await ctx.api.get<Row[]>('transactions', {
        cluster_id: o.env,
        statuses: list(o.statuses),
        transaction_types: list(o.names),
      });
      ctx.print(
        renderList(
          rows.map((r) => ({ ...withDuration(r), result: r.message })),
          TASK_COLUMNS,
          TASK_KNOWN,
          ctx.out,
        ),
      );
    }),
  );

  withOutput(task.command('show').description('one run').addArgument(id('id', 'transaction id'))).action(
    act(async (ctx, [txId]) => {
      const tx = await ctx.api.get<Row>(`transactions/${txId}`);
      ctx.print(renderOne({ ...tx, duration: duration(tx.time_start, tx.time_end) }, ctx.out));
    }),
  );

  task
    .command('delete')
    .description('delete a run with its task history (as fuel2 task delete); a run in progress only with --force, which stops it first')
    .addArgument(id('id', 'transaction id'))
    .option('-f, --force', 'also a run in progress (pending or running): it is stopped, then deleted')
    .action(
      act(async (ctx, [txId], o) => {
        // As fuel2 sends it: DELETE /transactions/ID?force=0|1.
        await ctx.api.delete(`transactions/${txId}`, { force: o.force ? 1 : 0 });
        ctx.print(`Task with id ${txId} was deleted\n`);
      }),
    );

  withOutput(
    task
      .command('diff')
      .description('what changed between two runs of a cluster: statuses that differ, tasks of one run only')
      .addArgument(id('id', 'transaction id'))
      .addArgument(id('other', 'other transaction id')),
  ).action(
    act(async (ctx, [a, b]) => {
      type DiffRow = { node_id: string | null; task_name: string; status: string; other_status?: string };
      const d = await ctx.api.get<{ changed: DiffRow[]; only_in_transaction: DiffRow[]; only_in_other: DiffRow[] }>(
        `transactions/${a}/diff/${b}`,
      );
      const rows: Row[] = [
        ...d.changed.map((r) => ({ ...r, change: 'changed' })),
        ...d.only_in_transaction.map((r) => ({ ...r, other_status: null, change: `only_in_${a}` })),
        ...d.only_in_other.map((r) => ({
          node_id: r.node_id,
          task_name: r.task_name,
          status: null,
          other_status: r.status,
          change: `only_in_${b}`,
        })),
      ].sort(byNodeThenTask);
      ctx.print(renderList(rows, DIFF_COLUMNS, [], ctx.out));
    }),
  );

  const history = task.command('history').description("a run's task history");

  withOutput(
    history
      .command('show')
      .description("a run's tasks on every node (columns as fuel2 task history show, plus duration in seconds)")
      .addArgument(id('id', 'transaction id'))
      .option('--nodes <node...>', 'only these nodes (ids, master; null for cluster-level tasks)')
      .option('--statuses <status...>', 'only tasks in these statuses (pending running ready error skipped)')
      .option('--tasks-names <name...>', 'only these tasks')
      .option('--include-summary', "add each task's summary")
      .option('-w, --watch', 'refresh until the run ends, then exit 0 if it ended ready, 3 if it ended in error or stopped')
      .option('--interval <seconds>', 'with --watch: seconds between refreshes', decimal('--interval', 0.05), 1),
  ).action(
    act(async (ctx, [txId], o) => {
      const summary = o.includeSummary || ctx.out.columns.includes('summary');
      const query = {
        nodes: list(o.nodes),
        statuses: list(o.statuses),
        tasks_names: list(o.tasksNames),
        include_summary: summary ? 1 : undefined,
      };
      const defaults = o.includeSummary ? [...HISTORY_COLUMNS, 'summary'] : HISTORY_COLUMNS;
      const render = (rows: Row[]) => renderList(rows, defaults, HISTORY_KNOWN, ctx.out);
      if (o.watch) {
        return watchHistory(ctx.api, txId, query, (raw) => raw.map(withDuration), {
          intervalMs: o.interval * 1000,
          tty: Boolean(process.stdout.isTTY),
          color: ctx.out.color,
          render,
          out: process.stdout,
          err: process.stderr,
        });
      }
      const rows = await ctx.api.get<Row[]>(`transactions/${txId}/deployment_history`, query);
      ctx.print(render(rows.map(withDuration)));
    }),
  );

  withOutput(
    history
      .command('summary')
      .description('a run at a glance: counts per status and per node, duration, first failure, slowest tasks')
      .addArgument(id('id', 'transaction id')),
  ).action(
    act(async (ctx, [txId]) => {
      const s = await ctx.api.get<{
        transaction: Row;
        total: number;
        statuses: Record<string, number>;
        nodes: Record<string, Record<string, number>>;
        duration_s: number;
        first_failure: { node_id: string | null; task_name: string; error_message: string | null } | null;
        slowest: Array<{ node_id: string | null; task_name: string; duration_s: number }>;
      }>(`transactions/${txId}/deployment_history/summary`);
      const tx = s.transaction;
      ctx.print(
        renderOne(
          {
            transaction_id: tx.id,
            cluster: tx.cluster,
            name: tx.name,
            status: tx.status,
            progress: tx.progress,
            message: tx.message,
            time_start: tx.time_start,
            time_end: tx.time_end,
            duration_s: s.duration_s,
            total: s.total,
            ...s.statuses,
            // In a table, one line per node and per slow task; the structures as they are elsewhere.
            ...(ctx.out.format === 'table'
              ? {
                  first_failure: s.first_failure
                    ? `${nodeName(s.first_failure.node_id)} ${s.first_failure.task_name}${s.first_failure.error_message ? `: ${s.first_failure.error_message}` : ''}`
                    : null,
                  nodes: Object.entries(s.nodes)
                    .map(([n, counts]) => ({ node_id: n === 'null' ? null : n, task_name: '', counts }))
                    .sort(byNodeThenTask)
                    .map(
                      ({ node_id: n, counts }) =>
                        `${nodeName(n)}: ${Object.entries(counts)
                          .map(([st, k]) => `${k} ${st}`)
                          .join(', ')}`,
                    )
                    .join('\n'),
                  slowest: s.slowest.map((t) => `${t.duration_s} s  ${t.task_name} (${nodeName(t.node_id)})`).join('\n'),
                }
              : { first_failure: s.first_failure, nodes: s.nodes, slowest: s.slowest }),
          },
          ctx.out,
        ),
      );
    }),
  );

  withOutput(
    history
      .command('detail')
      .description("one task's full record: times, error, summary, custom fields, its graph definition")
      .addArgument(id('id', 'transaction id'))
      .argument('<node>', 'node id, master, or null for a cluster-level task')
      .argument('<task>', 'task name'),
  ).action(
    act(async (ctx, [txId, node, taskName]) => {
      // Named in the query: a path segment `.` or `..` would be resolved away, even percent-encoded.
      type Detail = Row & { custom?: Record<string, unknown>; transaction: Row; cluster: Row };
      const d = await ctx.api.get<Detail>(`transactions/${txId}/deployment_history/task`, { node_id: node, task_name: taskName });
      const { transaction, cluster, ...rest } = d;
      // Custom keys are served at the root too (Fuel's shape); here they stay under `custom`.
      const custom = Object.keys(d.custom ?? {});
      const fields = Object.fromEntries(
        Object.entries(rest).filter(([k]) => !custom.includes(k) || ['task_name', 'node_id', 'status', 'type'].includes(k)),
      );
      ctx.print(
        renderOne(
          {
            ...fields,
            transaction_id: transaction.id,
            transaction_uuid: transaction.uuid,
            transaction_status: transaction.status,
            cluster_id: cluster.id,
            cluster_name: cluster.name,
            cluster_release: cluster.release,
          },
          ctx.out,
        ),
      );
    }),
  );

  // ---- node: one node across runs
  const node = program.command('node').description("a node's history across runs");
  crossRunOptions(
    node
      .command('history')
      .description("one node's tasks across every run of its cluster, newest first (master; null for cluster-level tasks)")
      .addArgument(id('cluster', 'cluster id'))
      .argument('<node>', 'node id, master, or null'),
    false,
  ).action(
    act(async (ctx, [cluster, nodeId], o) =>
      crossRun(ctx, `clusters/${cluster}/nodes/${encodeURIComponent(nodeId)}/deployment_history`, o, [
        'transaction_id',
        ...HISTORY_COLUMNS,
      ]),
    ),
  );

  // ---- env: clusters (environments)
  const env = program.command('env').description('clusters (environments): list, history, current state, reset');

  withOutput(env.command('list').description('every cluster, with its release and counts')).action(
    act(async (ctx) => ctx.print(renderList(await ctx.api.get<Row[]>('clusters'), CLUSTER_COLUMNS, [], ctx.out))),
  );

  withOutput(env.command('show').description('one cluster').addArgument(id('cluster', 'cluster id'))).action(
    act(async (ctx, [cluster]) => ctx.print(renderOne(await ctx.api.get<Row>(`clusters/${cluster}`), ctx.out))),
  );

  crossRunOptions(
    env.command('history').description('every task of every run of the cluster, newest first').addArgument(id('cluster', 'cluster id')),
    true,
  ).action(
    act(async (ctx, [cluster], o) => crossRun(ctx, `clusters/${cluster}/deployment_history`, o, ['transaction_id', ...HISTORY_COLUMNS])),
  );

  withOutput(
    env
      .command('state')
      .description("the cluster's current state: per node and task, the last ready result of a real run since the last reset")
      .addArgument(id('cluster', 'cluster id'))
      .option('--nodes <node...>', 'only these nodes (ids, master; null for cluster-level tasks)')
      .option('--tasks-names <name...>', 'only these tasks'),
  ).action(
    act(async (ctx, [cluster], o) => {
      const rows = await ctx.api.get<Row[]>(`clusters/${cluster}/state`, { nodes: list(o.nodes), tasks_names: list(o.tasksNames) });
      ctx.print(renderList(rows.map(withDuration), STATE_COLUMNS, [...STATE_KNOWN, 'duration'], ctx.out));
    }),
  );

  withOutput(
    env
      .command('reset')
      .description('start a new epoch: the current state becomes empty, the history is kept')
      .addArgument(id('cluster', 'cluster id'))
      .option('--force', 'also when a run is in progress (it is stopped)'),
  ).action(
    act(async (ctx, [cluster], o) =>
      ctx.print(renderOne(await ctx.api.post<Row>(`clusters/${cluster}/reset`, { force: o.force ? 'true' : undefined }), ctx.out)),
    ),
  );

  // ---- retention: delete old runs (admin)
  withOutput(
    program
      .command('retention')
      .description(
        'delete whole finished runs that ended more than D days ago and/or beyond the last N of each cluster (never one in progress)',
      )
      .option('--older-than-days <days>', 'runs that ended more than this many days ago', integer('--older-than-days', 0))
      .option('--keep-runs <n>', 'keep only the last N runs of each cluster', integer('--keep-runs', 1))
      .option('--dry-run', 'report what would be deleted, delete nothing')
      .option('--compact', 'give the freed disk space back to the system (rewrites the history table)'),
  ).action(
    act(async (ctx, _args, o) => {
      if (o.olderThanDays === undefined && o.keepRuns === undefined)
        throw new UsageError('say what to delete: --older-than-days and/or --keep-runs');
      const r = await ctx.api.post<Row & { clusters: unknown }>('retention', {
        older_than_days: o.olderThanDays,
        keep_runs: o.keepRuns,
        dry_run: o.dryRun ? 'true' : undefined,
        compact: o.compact ? 'true' : undefined,
      });
      const mb = (b: unknown) => `${(Number(b) / 2 ** 20).toFixed(1)} MB`;
      const { clusters: _perCluster, ...flat } = r;
      ctx.print(renderOne({ ...flat, disk_before: mb(r.disk_before_bytes), disk_after: mb(r.disk_after_bytes) }, ctx.out));
    }),
  );

  // ---- simulate: an orchestrator playing deployments against the service
  addSimulateOptions(
    program
      .command('simulate')
      .description('play an orchestrator: deploy clusters and send its casts to the service (see npm run simulate)'),
    false,
  ).action(async (_opts: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals<SimulateOptions & { color: string }>();
    process.exitCode = await runSimulateCommand(o, {
      out: (s) => process.stdout.write(s),
      err: (s) => process.stderr.write(s),
      color: useColor(o.color),
    });
  });

  return program;
}
