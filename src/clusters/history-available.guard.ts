import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ConflictError } from '../common/errors/domain-errors';
import { ClusterLocator } from './cluster-locator.port';
import { preHistoryReason } from './cluster-registry';
import { MIN_HISTORY_VERSION, parseReleaseVersion } from './release';

/**
 * The upgrade guard: on every route it guards, a run that ran on a release older than 9.0 (its tasks
 * were not recorded), or a cluster older than 9.0 that has no recorded run, gets 409 with a message
 * naming the cluster, the release and the minimum. It is decided per run, so that history once recorded
 * is never hidden by a later change of the cluster's release. Apply it to a controller; routes never check by hand.
 */
@Injectable()
export class HistoryAvailableGuard implements CanActivate {
  constructor(private readonly locator: ClusterLocator) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const params = context.switchToHttp().getRequest<Request>().params as Record<string, string>;
    // Every run a route names is checked: `:transaction_id`, and `:other_id` of a comparison.
    const named = params.other_id !== undefined ? [params, { transaction_id: params.other_id }] : [params];
    for (const p of named) await this.check(p);
    return true;
  }

  private async check(params: Record<string, string>): Promise<void> {
    const found = await this.locator.locate(params);
    if (!found) return;
    // A run is judged by whether its tasks were recorded (on the release it ran on: the cluster's may have
    // changed since); a cluster by its own release, unless some of its runs were recorded, which stay readable.
    if ('cluster' in found) {
      const reason = preHistoryReason(found.cluster);
      if (reason && !(await this.locator.hasRecordedHistory(found.clusterId))) throw new ConflictError(reason);
    } else if (!found.run.historyRecorded) {
      const version = parseReleaseVersion(found.run.release)?.text ?? 'unknown';
      throw new ConflictError(
        `Transaction ${found.run.id} of cluster ${found.clusterId} ran on release '${found.run.release}' (version ${version}); ` +
          `deployment history requires release ${MIN_HISTORY_VERSION} or later, so its tasks were not recorded`,
      );
    }
  }
}
