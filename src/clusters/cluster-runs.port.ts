import type { EntityManager } from 'typeorm';

export interface ClusterRunCounts {
  transactions: number;
  running: number;
  history_rows: number;
  last_transaction_id: number | null;
  /**
   * The status of the cluster's latest real (not dry) run of the current epoch, a run in progress taking
   * precedence over any finished one; null when it has none. What the cluster's Nailgun status is read from.
   */
  deployment_status: 'pending' | 'running' | 'ready' | 'error' | 'stopped' | null;
}

/**
 * What the clusters module needs to know and do about a cluster's runs. Declared here, implemented by
 * the history module (which owns runs), so that dependencies keep pointing history → clusters.
 */
export abstract class ClusterRuns {
  abstract counts(clusterIds: number[]): Promise<Map<number, ClusterRunCounts>>;
  /** Runs not yet ended (pending or running), locked in the lock order (after their cluster) until the caller's transaction ends. */
  abstract inProgress(manager: EntityManager, clusterId: number): Promise<Array<{ id: number; uuid: string }>>;
  /** Ends the runs as `stopped`, closing out their open rows with the reason. */
  abstract stop(manager: EntityManager, uuids: string[], reason: string, time: Date): Promise<void>;
}
