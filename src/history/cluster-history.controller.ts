import { Delete, Get, Param, Query, Req, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { HistoryAvailableGuard } from '../clusters/history-available.guard';
import { AdminOnly } from '../common/auth';
import { ErrorDto } from '../common/errors/error.dto';
import { ApiController, ApiListResponse } from '../common/http/api-controller';
import { IdPipe } from '../common/http/id.pipe';
import { listResponse } from '../common/http/list-response';
import { ClusterHistoryService } from './cluster-history.service';
import { DeleteHistoryQueryDto, DeleteHistoryResultDto, StateQueryDto, StateRowDto } from './dto/cluster-views.dto';
import { CROSS_RUN_CSV_COLUMNS, CrossRunRowDto } from './dto/history-row.dto';
import { CrossRunQueryDto } from './dto/page-query.dto';
import { HistoryQueryService } from './history-query.service';
import { PlansMaterialized } from './plans-materialized';

/** A cluster's history across its runs, its current state, and the deletion of old runs. */
@ApiController('cluster history', 'clusters/:cluster_id')
@UseInterceptors(PlansMaterialized)
@UseGuards(HistoryAvailableGuard)
@ApiConflictResponse({
  type: ErrorDto,
  description: 'The cluster predates release 9.0 and none of its runs had its tasks recorded: it has no task history',
})
@ApiNotFoundResponse({ type: ErrorDto, description: 'No such cluster' })
export class ClusterHistoryController {
  constructor(
    private readonly history: HistoryQueryService,
    private readonly clusters: ClusterHistoryService,
  ) {}

  /** Every task row of every run of the cluster, newest first, paged (`Link: rel="next"`); CSV with `Accept: text/csv`. */
  @Get('deployment_history')
  @ApiListResponse(CrossRunRowDto)
  async cluster(
    @Param('cluster_id', new IdPipe('cluster id')) id: number,
    @Query() q: CrossRunQueryDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CrossRunRowDto[] | string> {
    return listResponse(req, res, await this.history.listAcrossRuns(id, undefined, q), {
      columns: CROSS_RUN_CSV_COLUMNS,
      filename: `cluster-${id}-deployment-history.csv`,
    });
  }

  /** One node's history across the cluster's runs (`master`, and `null` for cluster-level tasks, too). */
  @Get('nodes/:node_id/deployment_history')
  @ApiListResponse(CrossRunRowDto)
  async node(
    @Param('cluster_id', new IdPipe('cluster id')) id: number,
    @Param('node_id') node: string,
    @Query() q: CrossRunQueryDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CrossRunRowDto[] | string> {
    return listResponse(req, res, await this.history.listAcrossRuns(id, node === 'null' ? null : node, q), {
      columns: CROSS_RUN_CSV_COLUMNS,
      filename: `cluster-${id}-node-${node}-deployment-history.csv`,
    });
  }

  /** The cluster's current state: per (node, task), the last `ready` result of a real run since the last reset. */
  @Get('state')
  state(@Param('cluster_id', new IdPipe('cluster id')) id: number, @Query() q: StateQueryDto): Promise<StateRowDto[]> {
    return this.clusters.state(id, q);
  }

  /** Deletes whole runs that ended before `before`; never a run in progress. Returns what was removed. */
  @Delete('deployment_history')
  @AdminOnly()
  remove(@Param('cluster_id', new IdPipe('cluster id')) id: number, @Query() q: DeleteHistoryQueryDto): Promise<DeleteHistoryResultDto> {
    return this.clusters.deleteBefore(id, q.before);
  }
}
