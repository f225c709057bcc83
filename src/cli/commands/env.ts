import { Command } from 'commander';
import { list } from '../args';
import { act } from '../context';
import { id, nodesOption, TaskFilterOptions, tasksNamesOption, withOutput } from '../options';
import { renderList, renderOne, Row } from '../output';
import { withDuration } from '../rows';
import { CROSS_RUN_COLUMNS, crossRun, CrossRunOptions, crossRunOptions } from './cross-run';
import { registerClusterInsights } from './insights';

/** `env ...`: clusters (environments). */

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

export function register(program: Command): void {
  const env = program.command('env').description('clusters (environments): list, history, current state, reset');

  withOutput(env.command('list').description('every cluster, with its release and counts')).action(
    act(async (ctx) => ctx.print(renderList(await ctx.api.get<Row[]>('clusters'), CLUSTER_COLUMNS, [], ctx.out))),
  );

  withOutput(env.command('show').description('one cluster').addArgument(id('cluster', 'cluster id'))).action(
    act<[number]>(async (ctx, [cluster]) => ctx.print(renderOne(await ctx.api.get<Row>(`clusters/${cluster}`), ctx.out))),
  );

  crossRunOptions(
    env.command('history').description('every task of every run of the cluster, newest first').addArgument(id('cluster', 'cluster id')),
    true,
  ).action(
    act<[number], CrossRunOptions>((ctx, [cluster], o) => crossRun(ctx, `clusters/${cluster}/deployment_history`, o, CROSS_RUN_COLUMNS)),
  );

  withOutput(
    env
      .command('state')
      .description("the cluster's current state: per node and task, the last ready result of a real run since the last reset")
      .addArgument(id('cluster', 'cluster id'))
      .addOption(nodesOption())
      .addOption(tasksNamesOption()),
  ).action(
    act<[number], TaskFilterOptions>(async (ctx, [cluster], o) => {
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
    act<[number], { force?: boolean }>(async (ctx, [cluster], o) =>
      ctx.print(renderOne(await ctx.api.post<Row>(`clusters/${cluster}/reset`, { force: o.force ? 'true' : undefined }), ctx.out)),
    ),
  );

  registerClusterInsights(env);
}
