import { Command } from 'commander';
// Types only: the answer's shape, as the service declares it (erased at run time; the CLI speaks HTTP only).
import type { DiffDto } from '../../history/dto/run-views.dto';
import { integer, list } from '../args';
import { act } from '../context';
import { id, withOutput } from '../options';
import { duration, renderList, renderOne, Row } from '../output';
import { byNodeThenTask, withDuration } from '../rows';
import { RUN_STATUSES } from '../../history/task-state';

/** `task ...`: runs (transactions), like fuel2 task ...; their history is in task-history.ts. */

const TASK_COLUMNS = ['id', 'status', 'name', 'graph_type', 'cluster', 'result', 'dry_run', 'progress'];
const TASK_KNOWN = ['uuid', 'message', 'time_start', 'time_end', 'duration', 'parent_id', 'epoch'];
const DIFF_COLUMNS = ['node_id', 'task_name', 'status', 'other_status', 'change'];

interface ListOptions {
  env?: number;
  statuses?: string[];
  names?: string[];
}

/** Adds `task` and its run commands to the program; returns it, for `task history`. */
export function register(program: Command): Command {
  const task = program.command('task').description('runs (transactions) and their task history');

  withOutput(
    task
      .command('list')
      .description("runs, oldest first (columns as fuel2 task list; result is the run's message)")
      .option('-e, --env <cluster>', 'only the runs of this cluster (environment)', integer('--env'))
      .option('-t, --statuses <status...>', `only runs in these statuses (${RUN_STATUSES.join(' ')})`)
      .option('-n, --names <name...>', 'only runs with these names (deployment, provision, dry_run_deployment, ...)'),
  ).action(
    act<[], ListOptions>(async (ctx, _args, o) => {
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
    act<[number]>(async (ctx, [txId]) => {
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
      act<[number], { force?: boolean }>(async (ctx, [txId], o) => {
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
    act<[number, number]>(async (ctx, [a, b]) => {
      const d = await ctx.api.get<DiffDto>(`transactions/${a}/diff/${b}`);
      ctx.print(renderList(diffRows(d, a, b), DIFF_COLUMNS, [], ctx.out));
    }),
  );

  return task;
}

/** One list of what differs between runs `a` and `b`, in node order. */
function diffRows(d: DiffDto, a: number, b: number): Row[] {
  return [
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
}
