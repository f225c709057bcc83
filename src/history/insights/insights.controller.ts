import { Get, Param, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse } from '@nestjs/swagger';
import { HistoryAvailableGuard } from '../../clusters/history-available.guard';
import { ErrorDto } from '../../common/errors/error.dto';
import { ApiController } from '../../common/http/api-controller';
import { IdPipe } from '../../common/http/id.pipe';
import {
  FlakyTasksAnswerDto,
  FlakyTasksQueryDto,
  RegressionsAnswerDto,
  RegressionsQueryDto,
  TaskStatsAnswerDto,
  TaskStatsQueryDto,
} from '../dto/insights.dto';
import { InsightsService } from './insights.service';
import { PlansMaterialized } from '../plans-materialized';

/** Task durations, failure rates and flaky tasks across a cluster's real finished runs (issue #15). */
@ApiController('insights', 'clusters/:cluster_id', { body: false })
@UseInterceptors(PlansMaterialized)
@UseGuards(HistoryAvailableGuard)
@ApiConflictResponse({
  type: ErrorDto,
  description: 'The cluster predates release 9.0 and none of its runs had its tasks recorded: it has no task history',
})
@ApiNotFoundResponse({ type: ErrorDto, description: 'No such cluster' })
export class ClusterInsightsController {
  constructor(private readonly insights: InsightsService) {}

  /**
   * Per task name, and per node role: runs counted, p50/p95/max duration (nearest rank, seconds), failure
   * rate, last failure, and the trend (the last `trend_runs` runs' p50 against the ones before). Real
   * finished runs only; rows closed out by the service (never reported) are not counted.
   */
  @Get('task_stats')
  taskStats(@Param('cluster_id', new IdPipe('cluster id')) id: number, @Query() q: TaskStatsQueryDto): Promise<TaskStatsAnswerDto> {
    return this.insights.taskStats(id, q);
  }

  /**
   * The (task, node) pairs that both failed and succeeded within the cluster's last `last_runs` real
   * finished runs, with their counts, failed runs and error messages (most frequent first). A task that
   * always fails is not flaky: task_stats shows its failure rate.
   */
  @Get('flaky_tasks')
  flakyTasks(@Param('cluster_id', new IdPipe('cluster id')) id: number, @Query() q: FlakyTasksQueryDto): Promise<FlakyTasksAnswerDto> {
    return this.insights.flakyTasks(id, q);
  }
}

/** The tasks of one run that got slower than their own history (issue #15). */
@ApiController('insights', 'transactions/:transaction_id', { body: false })
@UseInterceptors(PlansMaterialized)
@UseGuards(HistoryAvailableGuard)
@ApiConflictResponse({
  type: ErrorDto,
  description: "The run's cluster predates release 9.0, or the run was recorded before its upgrade: no task history",
})
@ApiNotFoundResponse({ type: ErrorDto, description: '{"message": "Transaction not found"}' })
export class RunInsightsController {
  constructor(private readonly insights: InsightsService) {}

  /**
   * Tasks of this run whose duration (on their slowest node) is above the p95 of their previous `baseline`
   * real finished runs of the cluster, at least 1.5× their p50 and at least 5 s longer (`rule`); tasks new
   * in this run and tasks with too little history listed apart.
   */
  @Get('regressions')
  regressions(
    @Param('transaction_id', new IdPipe('transaction id')) id: number,
    @Query() q: RegressionsQueryDto,
  ): Promise<RegressionsAnswerDto> {
    return this.insights.regressions(id, q);
  }
}
