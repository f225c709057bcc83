import type { ClusterRunCounts } from './cluster-run-counts';

/** The statuses of Nailgun's clusters (consts.CLUSTER_STATUSES) that this service can tell from the runs it records. */
export type NailgunClusterStatus = 'new' | 'deployment' | 'operational' | 'error' | 'stopped';

/**
 * THE rule of a cluster's Nailgun status (fuel2 `env list|show` show it; `env delete` asks for -f on an
 * `operational` one), read from its latest real run of the current epoch, a run in progress first:
 * none → `new` (never deployed, or reset since: Nailgun's reset made a cluster `new` again), pending or
 * running → `deployment`, then `operational`, `error` or `stopped` as that run ended. Dry runs change
 * nothing on the nodes, so they do not count (Nailgun's did not change the cluster's status either).
 * Nailgun's other statuses (`remove`, `partially_deployed`) come from actions this service does not see.
 */
export function nailgunStatus(deployment: ClusterRunCounts['deployment_status'] | undefined): NailgunClusterStatus {
  switch (deployment ?? null) {
    case null:
      return 'new';
    case 'pending':
    case 'running':
      return 'deployment';
    case 'ready':
      return 'operational';
    case 'error':
      return 'error';
    case 'stopped':
      return 'stopped';
  }
}

/** Nailgun's Cluster.is_locked: true in every status but error, new, operational, stopped, partially_deployed. */
export function isLocked(status: NailgunClusterStatus): boolean {
  return status === 'deployment';
}
