import type { ClusterInfo } from './cluster-registry';
/**
 * Finds the cluster a request is about from its route parameters. The history module provides it
 * (it knows which cluster a transaction belongs to); the clusters module only states the need.
 */
export abstract class ClusterLocator {
  /**
   * The cluster named by the route (`:cluster_id`, or the cluster of `:transaction_id`) and, for a
   * run, whether its tasks were recorded. Null when the route names nothing that exists. For a cluster, its
   * row (null: no such cluster) when the locator read it, or undefined: the guard reads it.
   */
  abstract locate(params: Record<string, string>): Promise<{
    clusterId: number;
    run?: { id: number; historyRecorded: boolean; release: string };
    cluster?: ClusterInfo | null;
  } | null>;

  /** True when at least one run of the cluster had its tasks recorded. */
  abstract hasRecordedHistory(clusterId: number): Promise<boolean>;
}
