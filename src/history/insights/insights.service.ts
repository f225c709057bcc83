import { Injectable } from '@nestjs/common';
import { ClusterRegistry } from '../../clusters/cluster-registry';
import { NotFoundError } from '../../common/errors/domain-errors';
import {
  FlakyTasksAnswerDto,
  FlakyTasksQueryDto,
  RegressionsAnswerDto,
  RegressionsQueryDto,
  TaskStatsAnswerDto,
  TaskStatsQueryDto,
} from '../dto/insights.dto';
import { DEFAULT_FLAKY_RUNS, flakyOf } from '../flaky-tasks';
import { InsightsRepository } from '../persistence/insights.repository';
import { REGRESSION_DEFAULTS, regressions } from '../task-regressions';
import { compareRuns, DEFAULT_TREND_RUNS } from '../task-stats';
import { statsFigures } from './stats-figures';

/**
 * Issue #15's answers across runs. The rules are task-stats.ts's (terminal rows, durations, run order,
 * nearest-rank percentiles); which runs and rows count is InsightsRepository's:
 *  - only real (dry_run false) runs; rows closed out by the service (closed_reason set: they never
 *    reported, their times are the run's end) are neither durations nor failures;
 *  - task_stats and flaky_tasks count finished runs only (final run status); `epoch=current` (default)
 *    keeps the runs of the cluster's current epoch, `all` looks across resets; task_stats' since/until
 *    filter runs by their start time;
 *  - regressions judges the given run (finished or not: its terminal rows) against the `baseline` real
 *    finished runs of its cluster before it (run order) in the run's own epoch; a task with no row in
 *    those runs is new. A dry run asked for is judged on its own rows like any run; it is never a baseline.
 * task_stats reads its rows aggregated per (task, node) by the database and makes its figures from those
 * lists (stats-figures.ts; test/medium/insights.spec.ts holds the answer equal to taskStats()); flaky reads
 * its rows counted per (task, node) by the database and judges them with flakyOf (flaky-tasks.ts);
 * regressions reads only the rows it judges and answers with the pure function.
 */
@Injectable()
export class InsightsService {
  constructor(
    private readonly clusters: ClusterRegistry,
    private readonly insights: InsightsRepository,
  ) {}

  async taskStats(clusterId: number, q: TaskStatsQueryDto): Promise<TaskStatsAnswerDto> {
    await this.clusters.get(clusterId);
    const epoch = q.epoch ?? 'current';
    const trendRuns = q.trend_runs ?? DEFAULT_TREND_RUNS;
    const read = await this.insights.taskStatsRows({
      clusterId,
      epoch,
      since: q.since,
      until: q.until,
      nodes: q.nodes,
      tasks_names: q.tasks_names,
    });
    const { runs, tasks } = statsFigures({ ...read, trendRuns, roles: q.roles });
    return { cluster_id: clusterId, epoch, runs, trend_runs: trendRuns, tasks };
  }

  async regressions(id: number, q: RegressionsQueryDto): Promise<RegressionsAnswerDto> {
    const run = await this.insights.run(id);
    if (!run) throw new NotFoundError('Transaction not found');
    const baseline = q.baseline ?? REGRESSION_DEFAULTS.baseline;
    const [current, before] = await Promise.all([
      this.insights.rowsOf([run]),
      this.insights.runsBefore(run.cluster_id, run.epoch, run, baseline),
    ]);
    const names = [...new Set(current.map((r) => r.task_name))];
    // Only the rows of the task names the run has: the others are never compared.
    const history = names.length ? await this.insights.rowsOf(before, { names }) : [];
    const answer = regressions(current, history, { baseline });
    return {
      transaction_id: id,
      cluster_id: run.cluster_id,
      baseline,
      rule: {
        percentile: 95,
        min_ratio: REGRESSION_DEFAULTS.minRatio,
        min_extra_seconds: REGRESSION_DEFAULTS.minExtraSeconds,
        min_runs: REGRESSION_DEFAULTS.minRuns,
      },
      ...answer,
    };
  }

  async flakyTasks(clusterId: number, q: FlakyTasksQueryDto): Promise<FlakyTasksAnswerDto> {
    await this.clusters.get(clusterId);
    const epoch = q.epoch ?? 'current';
    const lastRuns = q.last_runs ?? DEFAULT_FLAKY_RUNS;
    const runs = await this.insights.lastRuns(clusterId, epoch, lastRuns);
    // Counted per (task, node) by the database; the rule stays flaky-tasks.ts's (test/medium/insights.spec.ts holds it equal to flakyTasks()).
    const counts = await this.insights.flakyCounts(runs);
    // Run order as task-stats.ts has it (starts to the millisecond, then id), as flakyTasks() orders failed_runs.
    const order = runs.map((r) => ({ run_id: r.id, run_time: r.time_start })).sort(compareRuns);
    const tasks = flakyOf(
      counts,
      order.map((r) => r.run_id),
    );
    return { cluster_id: clusterId, epoch, last_runs: lastRuns, runs: runs.map((r) => r.id), tasks };
  }
}
