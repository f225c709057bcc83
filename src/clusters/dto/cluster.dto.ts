import { Cluster } from '../cluster.entity';
import type { ClusterRunCounts } from '../cluster-runs.port';
import { parseReleaseVersion, releaseSupportsHistory } from '../release';

/** A cluster, its release and what it holds. */
export class ClusterDto {
  id: number;
  name: string;
  /** Release string, e.g. `mitaka-9.0`. */
  release: string;
  /** Version read from the release (`8.0`), or null when unreadable. */
  version: string | null;
  /** False only for a release known to predate 9.0: task history is recorded and served otherwise (an unreadable version included). */
  history_enabled: boolean;
  /** Grows at each reset; runs keep the epoch they started in. */
  epoch: number;
  /** Runs recorded, runs in progress, task rows, and the latest run. */
  transactions: number;
  running_transactions: number;
  history_rows: number;
  last_transaction_id: number | null;

  static from(c: Cluster, counts: ClusterRunCounts | undefined): ClusterDto {
    return {
      id: c.id,
      name: c.name,
      release: c.release,
      version: parseReleaseVersion(c.release)?.text ?? null,
      history_enabled: releaseSupportsHistory(c.release),
      epoch: c.epoch,
      transactions: counts?.transactions ?? 0,
      running_transactions: counts?.running ?? 0,
      history_rows: counts?.history_rows ?? 0,
      last_transaction_id: counts?.last_transaction_id ?? null,
    };
  }
}

/** What a reset did. */
export class ResetResultDto {
  cluster_id: number;
  /** The epoch that ended, and the one that starts now. */
  previous_epoch: number;
  epoch: number;
  /** Runs that were in progress and were stopped (force=true). */
  stopped_transactions: number[];
}
