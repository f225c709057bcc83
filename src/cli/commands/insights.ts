import { Command, Option } from 'commander';
import { integer, isoTime, list } from '../args';
import { act } from '../context';
// Types only: the answers' shapes, as the service declares them (erased at run time; the CLI speaks HTTP only).
import type { CriticalPathDto as CriticalPathAnswer } from '../../history/dto/critical-path.dto';
import type {
  FlakyTasksAnswerDto as FlakyAnswer,
  RegressionsAnswerDto as RegressionsAnswer,
  TaskStatsAnswerDto as TaskStatsAnswer,
} from '../../history/dto/insights.dto';
import { renderCriticalPath, renderFlaky, renderRegressions, renderTaskStats } from '../insights-render';
import { id, nodesOption, tasksNamesOption, withOutput } from '../options';

/**
 * Issue #15's answers: why a run was slow (`task history critical-path`), what got slower
 * (`task history regressions`, `env task-stats`), what fails now and then (`env flaky`).
 * The service computes them; these commands ask and print (insights-render.ts).
 */

const FORMATS_NOTE = 'json and yaml print the whole answer, csv and value its rows';

const epochOption = (): Option =>
  new Option('--epoch <epoch>', 'runs since the last reset (current, the default) or across resets (all)').choices(['current', 'all']);

/** Adds `critical-path` and `regressions` to `task history`. */
export function registerRunInsights(history: Command): void {
  withOutput(
    history
      .command('critical-path')
      .description(`the chain of tasks that determined a run's duration, with the waits between them (${FORMATS_NOTE})`)
      .addArgument(id('id', 'transaction id')),
  ).action(
    act<[number]>(async (ctx, [txId]) => {
      ctx.print(renderCriticalPath(await ctx.api.get<CriticalPathAnswer>(`transactions/${txId}/critical_path`), ctx.out));
    }),
  );

  withOutput(
    history
      .command('regressions')
      .description(`a run's tasks far slower than their history on the cluster; new tasks listed apart (${FORMATS_NOTE})`)
      .addArgument(id('id', 'transaction id'))
      .option('--baseline <n>', 'previous real runs to compare with (server default 20)', integer('--baseline', 1)),
  ).action(
    act<[number], { baseline?: number }>(async (ctx, [txId], o) => {
      const answer = await ctx.api.get<RegressionsAnswer>(`transactions/${txId}/regressions`, { baseline: o.baseline });
      ctx.print(renderRegressions(answer, ctx.out));
    }),
  );
}

interface TaskStatsOptions {
  since?: string;
  until?: string;
  nodes?: string[];
  tasksNames?: string[];
  roles?: string[];
  epoch?: 'current' | 'all';
  trendRuns?: number;
  byRole?: boolean;
}

/** Adds `task-stats` and `flaky` to `env`. */
export function registerClusterInsights(env: Command): void {
  withOutput(
    env
      .command('task-stats')
      .description(`per task: runs, p50/p95/max duration, failure rate, last failure, trend, over the real finished runs (${FORMATS_NOTE})`)
      .addArgument(id('cluster', 'cluster id'))
      .option('--since <time>', 'from this ISO 8601 time on', isoTime('--since'))
      .option('--until <time>', 'before this ISO 8601 time', isoTime('--until'))
      .addOption(nodesOption())
      .addOption(tasksNamesOption())
      .option('--roles <role...>', 'only nodes with these roles (controller, compute, master, ...)')
      .addOption(epochOption())
      .option(
        '--trend-runs <n>',
        "the trend compares the last N runs' p50 with the N before (server default 10)",
        integer('--trend-runs', 1),
      )
      .option('--by-role', 'one row per task and node role'),
  ).action(
    act<[number], TaskStatsOptions>(async (ctx, [cluster], o) => {
      const answer = await ctx.api.get<TaskStatsAnswer>(`clusters/${cluster}/task_stats`, {
        since: o.since,
        until: o.until,
        nodes: list(o.nodes),
        tasks_names: list(o.tasksNames),
        roles: list(o.roles),
        epoch: o.epoch,
        trend_runs: o.trendRuns,
      });
      ctx.print(renderTaskStats(answer, Boolean(o.byRole), ctx.out));
    }),
  );

  withOutput(
    env
      .command('flaky')
      .description(`tasks that both failed and succeeded on the same node in the last runs, with their errors (${FORMATS_NOTE})`)
      .addArgument(id('cluster', 'cluster id'))
      .option('--last-runs <n>', 'how many of the last real runs to look at (server default 20)', integer('--last-runs', 1))
      .addOption(epochOption()),
  ).action(
    act<[number], { lastRuns?: number; epoch?: 'current' | 'all' }>(async (ctx, [cluster], o) => {
      const answer = await ctx.api.get<FlakyAnswer>(`clusters/${cluster}/flaky_tasks`, { last_runs: o.lastRuns, epoch: o.epoch });
      ctx.print(renderFlaky(answer, ctx.out));
    }),
  );
}
