import { Body, Get, HttpCode, HttpStatus, Param, Post, Put, Query, Res, UseInterceptors } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import { ClusterDto, ResetResultDto } from '../../clusters/dto/cluster.dto';
import { PutClusterDto, ResetQueryDto } from '../../clusters/dto/put-cluster.dto';
import { AdminOnly } from '../../common/auth';
import { ErrorDto } from '../../common/errors/error.dto';
import { ApiController } from '../../common/http/api-controller';
import { IdPipe } from '../../common/http/id.pipe';
import { RunsPageDto, RunsPageQueryDto } from '../dto/runs-page.dto';
import { ClusterRunsService } from './cluster-runs.service';
import { PlansMaterialized } from '../plans-materialized';

/**
 * The clusters API that answers with run counts and resets (stopping runs): in the history module,
 * which owns runs; the clusters module keeps what needs no run (releases, the Nailgun answers).
 */
@ApiController('clusters', 'clusters')
@UseInterceptors(PlansMaterialized)
export class ClustersController {
  constructor(private readonly clusters: ClusterRunsService) {}

  /** Every cluster, with its release, whether history is enabled, and counts. */
  @Get()
  list(): Promise<ClusterDto[]> {
    return this.clusters.list();
  }

  /** One cluster. */
  @Get(':cluster_id')
  @ApiNotFoundResponse({ type: ErrorDto, description: 'No such cluster' })
  get(@Param('cluster_id', new IdPipe('cluster id')) id: number): Promise<ClusterDto> {
    return this.clusters.get(id);
  }

  /**
   * A page of the cluster's runs, newest (highest id) first, filtered by run status, each with its task
   * rows per status and its first failure; `total` and `pages` count the runs the filter keeps, `by_status`
   * all the cluster's runs (for the filter's choices).
   */
  @Get(':cluster_id/runs')
  @ApiNotFoundResponse({ type: ErrorDto, description: 'No such cluster' })
  runs(@Param('cluster_id', new IdPipe('cluster id')) id: number, @Query() q: RunsPageQueryDto): Promise<RunsPageDto> {
    return this.clusters.runsPage(id, q);
  }

  /**
   * Registers a cluster (201) or changes its name or release (200). An upgrade to 9.0 enables history from
   * then on. A release older than the cluster's is refused (409): Fuel cannot downgrade an environment.
   */
  @Put(':cluster_id')
  @AdminOnly()
  @ApiCreatedResponse({ type: ClusterDto })
  @ApiOkResponse({ type: ClusterDto })
  @ApiConflictResponse({ type: ErrorDto, description: "The release is older than the cluster's (a cluster is never downgraded)" })
  async put(
    @Param('cluster_id', new IdPipe('cluster id')) id: number,
    @Body() body: PutClusterDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ClusterDto> {
    const { created, cluster } = await this.clusters.put(id, body);
    res.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    return cluster;
  }

  /**
   * Resets the cluster: its current state becomes empty, its history is kept (earlier runs stay listed,
   * in an earlier epoch). 409 while a run is in progress, unless `force=true`.
   */
  @Post(':cluster_id/reset')
  @AdminOnly()
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: ResetResultDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'A run is in progress and force was not given' })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'No such cluster' })
  reset(@Param('cluster_id', new IdPipe('cluster id')) id: number, @Query() q: ResetQueryDto): Promise<ResetResultDto> {
    return this.clusters.reset(id, q.force === true);
  }
}
