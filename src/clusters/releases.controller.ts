import { Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse } from '@nestjs/swagger';
import { ErrorDto } from '../common/errors/error.dto';
import { ApiController } from '../common/http/api-controller';
import { IdPipe } from '../common/http/id.pipe';
import { ClustersService } from './clusters.service';
import { ReleaseDto } from './dto/cluster.dto';

@ApiController('clusters', 'releases', { body: false })
export class ReleasesController {
  constructor(private readonly clusters: ClustersService) {}

  /** Every release a cluster ever ran, by id (a cluster's `release_id`), with the clusters on it now (fuel2 `release list`). */
  @Get()
  list(): Promise<ReleaseDto[]> {
    return this.clusters.releases();
  }

  /** One release. */
  @Get(':release_id')
  @ApiNotFoundResponse({ type: ErrorDto, description: 'No such release' })
  get(@Param('release_id', new IdPipe('release id')) id: number): Promise<ReleaseDto> {
    return this.clusters.release(id);
  }
}
