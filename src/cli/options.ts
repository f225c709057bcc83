import { Argument, Command, Option } from 'commander';
import { collect, integer } from './args';
import { FORMATS, QUOTE_MODES } from './output';
import { TASK_STATUSES } from '../history/task-state';

/** The options and arguments several commands share, each written once. */

/** cliff's output options, on every command that prints something. */
export function withOutput(cmd: Command): Command {
  return cmd
    .addOption(new Option('-f, --format <format>', 'output format').choices(FORMATS).default('table'))
    .addOption(
      new Option('-c, --column <column>', 'a column to show; repeat for more').argParser(collect).default([], "the command's columns"),
    )
    .option('--noindent', 'JSON on one line')
    .addOption(new Option('--quote <mode>', 'CSV quoting').choices(QUOTE_MODES).default('nonnumeric'));
}

/** An id argument (a run, a cluster): an integer, or a usage error naming `what`. */
export const id = (name: string, what: string): Argument => new Argument(`<${name}>`, what).argParser(integer(what));

/** Filters of the task-history lists (functions: each command gets an Option object of its own). */
export const nodesOption = (): Option => new Option('--nodes <node...>', 'only these nodes (ids, master; null for cluster-level tasks)');
export const taskStatusesOption = (): Option =>
  new Option('--statuses <status...>', `only tasks in these statuses (${TASK_STATUSES.join(' ')})`);
export const tasksNamesOption = (): Option => new Option('--tasks-names <name...>', 'only these tasks');
export const includeSummaryOption = (): Option => new Option('--include-summary', "add each task's summary");

/** The filters above, as commander parses them (variadic lists, before `list` splits their commas). */
export interface TaskFilterOptions {
  nodes?: string[];
  statuses?: string[];
  tasksNames?: string[];
  includeSummary?: boolean;
}
