// A run's statuses have one home, the state machine's pure rules (which the web page bundles too).
import type { RunStatus } from '../history/task-state';

/**
 * What a cluster's answer says of its runs (ClusterDto, cluster-status.ts): counted by the history module,
 * which owns runs (persistence/runs.repository.ts), and handed to ClusterDto.from.
 */
export interface ClusterRunCounts {
  transactions: number;
  running: number;
  history_rows: number;
  last_transaction_id: number | null;
  /** The status of the run `last_transaction_id` (dry or not, any epoch); null when the cluster has no run. */
  last_transaction_status: RunStatus | null;
  /**
   * The status of the cluster's latest real (not dry) run of the current epoch, a run in progress taking
   * precedence over any finished one; null when it has none. What the cluster's Nailgun status is read from.
   */
  deployment_status: RunStatus | null;
}
