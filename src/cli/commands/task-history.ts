import { Command } from 'commander';
import { nodeLabel } from '../../common/node-order';
// Types only: the answers' shapes, as the service declares them (erased at run time; the CLI speaks HTTP only).
import type { SummaryDto, TaskDetailDto } from '../../history/dto/run-views.dto';
import { decimal, list } from '../args';
import { act, Context } from '../context';
import { id, includeSummaryOption, nodesOption, taskStatusesOption, TaskFilterOptions, tasksNamesOption, withOutput } from '../options';
import { renderList, renderOne, Row } from '../output';
import { byNodeThenTask, HISTORY_COLUMNS, HISTORY_KNOWN, withDuration } from '../rows';
import { watchHistory } from '../watch';
import { registerRunInsights } from './insights';

/** `task history ...`: a run's task history, like fuel2 task history show, plus its summary and one task's record. */

interface ShowOptions extends TaskFilterOptions {
  watch?: boolean;
  interval: number;
}

/** Adds `history` and its commands to the `task` command. */
export function register(task: Command): void {
  const history = task.command('history').description("a run's task history");

  withOutput(
    history
      .command('show')
      .description("a run's tasks on every node (columns as fuel2 task history show, plus duration in seconds)")
      .addArgument(id('id', 'transaction id'))
      .addOption(nodesOption())
      .addOption(taskStatusesOption())
      .addOption(tasksNamesOption())
      .addOption(includeSummaryOption())
      .option('-w, --watch', 'refresh until the run ends, then exit 0 if it ended ready, 3 if it ended in error or stopped')
      .option('--interval <seconds>', 'with --watch: seconds between refreshes', decimal('--interval', 0.05), 1),
  ).action(act<[number], ShowOptions>(show));

  withOutput(
    history
      .command('summary')
      .description('a run at a glance: counts per status and per node, duration, first failure, slowest tasks')
      .addArgument(id('id', 'transaction id')),
  ).action(
    act<[number]>(async (ctx, [txId]) => {
      const s = await ctx.api.get<SummaryDto>(`transactions/${txId}/deployment_history/summary`);
      ctx.print(renderOne(summaryRecord(s, ctx.out.format === 'table'), ctx.out));
    }),
  );

  withOutput(
    history
      .command('detail')
      .description("one task's full record: times, error, summary, custom fields, its graph definition")
      .addArgument(id('id', 'transaction id'))
      .argument('<node>', 'node id, master, or null for a cluster-level task')
      .argument('<task>', 'task name'),
  ).action(act<[number, string, string]>(detail));

  registerRunInsights(history);
}

async function show(ctx: Context, [txId]: [number], o: ShowOptions): Promise<number | void> {
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
}

/** The summary as one record; in a table, one line per node and per slow task; the structures as they are elsewhere. */
function summaryRecord(s: SummaryDto, table: boolean): Row {
  const tx = s.transaction;
  return {
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
    ...(table ? summaryLines(s) : { first_failure: s.first_failure, nodes: s.nodes, slowest: s.slowest }),
  };
}

function summaryLines(s: SummaryDto): Row {
  const failure = s.first_failure;
  return {
    first_failure: failure
      ? `${nodeLabel(failure.node_id)} ${failure.task_name}${failure.error_message ? `: ${failure.error_message}` : ''}`
      : null,
    nodes: Object.entries(s.nodes)
      .map(([n, counts]) => ({ node_id: n === 'null' ? null : n, task_name: '', counts }))
      .sort(byNodeThenTask)
      .map(
        ({ node_id: n, counts }) =>
          `${nodeLabel(n)}: ${Object.entries(counts)
            .map(([st, k]) => `${k} ${st}`)
            .join(', ')}`,
      )
      .join('\n'),
    slowest: s.slowest.map((t) => `${t.duration_s} s  ${t.task_name} (${nodeLabel(t.node_id)})`).join('\n'),
  };
}

async function detail(ctx: Context, [txId, node, taskName]: [number, string, string]): Promise<void> {
  // Named in the query: a path segment `.` or `..` would be resolved away, even percent-encoded.
  const d = await ctx.api.get<TaskDetailDto>(`transactions/${txId}/deployment_history/task`, { node_id: node, task_name: taskName });
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
}
