import { Command, Option } from 'commander';
import { integer, isoTime, list } from '../args';
import { MAX_PAGE } from '../client';
import { Context } from '../context';
import { includeSummaryOption, nodesOption, taskStatusesOption, TaskFilterOptions, tasksNamesOption, withOutput } from '../options';
import { renderList, Row } from '../output';
import { HISTORY_COLUMNS, HISTORY_KNOWN, withDuration } from '../rows';

/** The cross-run lists (`node history`, `env history`): every task of many runs, newest first, followed page by page. */

const CROSS_RUN_KNOWN = [...HISTORY_KNOWN, 'transaction_id', 'transaction_uuid', 'transaction_name', 'epoch', 'node_id'];
/** Their default columns: the run's id, then a history row's. */
export const CROSS_RUN_COLUMNS = ['transaction_id', ...HISTORY_COLUMNS];

export interface CrossRunOptions extends TaskFilterOptions {
  transactionTypes?: string[];
  since?: string;
  until?: string;
  epoch?: 'all' | 'current';
  oldestFirst?: boolean;
  limit?: number;
  pageSize?: number;
}

/** Filters shared by the cross-run lists, and their paging. */
export function crossRunOptions(cmd: Command, nodes: boolean): Command {
  if (nodes) cmd.addOption(nodesOption());
  return withOutput(
    cmd
      .addOption(taskStatusesOption())
      .addOption(tasksNamesOption())
      .option('--transaction-types <name...>', 'only runs with these names (deployment, provision, ...)')
      .option('--since <time>', 'only tasks that started at or after this ISO 8601 time', isoTime('--since'))
      .option('--until <time>', 'only tasks that started before this ISO 8601 time', isoTime('--until'))
      .addOption(new Option('--epoch <epoch>', 'all runs, or only those since the last reset').choices(['all', 'current']))
      .option('--oldest-first', 'oldest rows first (default: newest first)')
      .addOption(includeSummaryOption())
      .option('--limit <n>', 'stop after this many rows (default: follow the pages to the end)', integer('--limit', 0))
      .option('--page-size <n>', `rows asked per request, 1 to ${MAX_PAGE}`, integer('--page-size', 1, MAX_PAGE)),
  );
}

export async function crossRun(ctx: Context, path: string, o: CrossRunOptions, defaults: string[]): Promise<void> {
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
