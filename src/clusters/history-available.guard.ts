import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ClustersService } from './clusters.service';

/**
 * Finds the cluster a request is about from its route parameters. The history module provides it
 * (it knows which cluster a transaction belongs to); the clusters module only states the need.
 */
export abstract class ClusterLocator {
  abstract clusterIdOf(params: Record<string, string>): Promise<number | null>;
}

/**
 * The upgrade guard: on every route it guards, a cluster older than 9.0 gets 409 with a message
 * naming the cluster, its release and the minimum. Apply it to a controller; routes never check by hand.
 */
@Injectable()
export class HistoryAvailableGuard implements CanActivate {
  constructor(
    private readonly locator: ClusterLocator,
    private readonly clusters: ClustersService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const clusterId = await this.locator.clusterIdOf(req.params as Record<string, string>);
    if (clusterId !== null) await this.clusters.assertHistoryAvailable(clusterId);
    return true;
  }
}
