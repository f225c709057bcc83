import type { ClusterInfo } from './cluster-registry';

/** What a route names: a run (its cluster, whether its tasks were recorded, its release), or a cluster (its row; null: none). */
export type Located =
  | { clusterId: number; run: { id: number; historyRecorded: boolean; release: string } }
  | { clusterId: number; cluster: ClusterInfo | null };

/**
 * Finds the cluster a request is about from its route parameters. The history module provides it
 * (it knows which cluster a transaction belongs to); the clusters module only states the need.
 */
export abstract class ClusterLocator {
  /**
   * The cluster named by the route (`:cluster_id`, with its row, or the cluster of `:transaction_id`, with
   * the run). Null when the route names no run that exists, or no id.
   */
  abstract locate(params: Record<string, string>): Promise<Located | null>;

  /** True when at least one run of the cluster had its tasks recorded. */
  abstract hasRecordedHistory(clusterId: number): Promise<boolean>;
}
