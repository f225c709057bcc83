import { Command } from 'commander';
import { act } from '../context';
import { id } from '../options';
import { CROSS_RUN_COLUMNS, crossRun, CrossRunOptions, crossRunOptions } from './cross-run';

/** `node ...`: one node across runs. */
export function register(program: Command): void {
  const node = program.command('node').description("a node's history across runs");
  crossRunOptions(
    node
      .command('history')
      .description("one node's tasks across every run of its cluster, newest first (master; null for cluster-level tasks)")
      .addArgument(id('cluster', 'cluster id'))
      .argument('<node>', 'node id, master, or null'),
    false,
  ).action(
    act<[number, string], CrossRunOptions>((ctx, [cluster, nodeId], o) =>
      crossRun(ctx, `clusters/${cluster}/nodes/${encodeURIComponent(nodeId)}/deployment_history`, o, CROSS_RUN_COLUMNS),
    ),
  );
}
