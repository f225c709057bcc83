import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../common/errors/domain-errors';
import { ClusterRegistry } from './cluster-registry';
import { ReleaseDto } from './dto/cluster.dto';

/**
 * The releases clusters run. The clusters routes that answer with run counts or stop runs (list, show,
 * register, reset) are the history module's (src/history/clusters/), which owns runs.
 */
@Injectable()
export class ClustersService {
  constructor(private readonly registry: ClusterRegistry) {}

  async releases(): Promise<ReleaseDto[]> {
    return (await this.registry.releases()).map((r) => ReleaseDto.from(r));
  }

  async release(id: number): Promise<ReleaseDto> {
    const [r] = await this.registry.releases(id);
    if (!r) throw new NotFoundError(`Release ${id} not found`);
    return ReleaseDto.from(r);
  }
}
