import { ApiProperty } from '@nestjs/swagger';
import { RUN_STATUSES, type RunStatus } from '../../history/task-state';
import { Cluster } from '../cluster.entity';
import type { ClusterRunCounts } from '../cluster-run-counts';
import { isLocked, nailgunStatus, NailgunClusterStatus } from '../cluster-status';
import { parseReleaseVersion, releaseSupportsHistory } from '../release';

/** Nailgun's default of a cluster's `ui_settings` (its column's server default): the web UI's node list settings. */
const NAILGUN_UI_SETTINGS = () => ({
  view_mode: 'standard',
  filter: {},
  sort: [{ roles: 'asc' }],
  filter_by_labels: {},
  sort_by_labels: [],
  search: '',
});

/** One of Nailgun's pending changes of a cluster: what changed (`networks`, `attributes`, `disks`...) and on which node. */
export class ClusterChangeDto {
  name: string;
  node_id: number | null;
}

/**
 * A cluster, its release and what it holds. It carries every key of Nailgun's cluster serializer (Fuel 9
 * and 10: `id` to `components`), so that fuel2 `env list|show|delete` and `graph list` read what they
 * read from Nailgun; the keys after them are this service's own.
 */
export class ClusterDto {
  id: number;
  name: string;
  /** Nailgun's deployment mode: always its default, `ha_compact` (this service does not know the mode). */
  mode: 'ha_compact';
  /** Nailgun's pending changes (settings, networks, disks... changed since the last deployment): none known here. */
  changes: ClusterChangeDto[];
  /** Nailgun's status, from the latest real run of the current epoch (cluster-status.ts). */
  status: NailgunClusterStatus;
  /** Nailgun's web UI settings: its default. */
  ui_settings: Record<string, unknown>;
  /** Nailgun: whether deployment facts were uploaded by hand. Always false here. */
  is_customized: boolean;
  /** Nailgun's network provider: `neutron`, the only one from Fuel 9.0 on. */
  net_provider: 'neutron';
  /** The id of the cluster's release (GET /releases/:id): one per release string, given once and never changed. */
  release_id: number | null;
  /** Fuel version read from the release string (`mitaka-9.0` → `9.0`), or null when it carries none. */
  fuel_version: string | null;
  /** Nailgun: true while a deployment runs (status `deployment`). */
  is_locked: boolean;
  /** Nailgun's chosen components (hypervisor, network, storage...): none known here. */
  components: string[];
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
  /** The status of the run `last_transaction_id` (whatever its kind or epoch), or null when the cluster has no run. */
  @ApiProperty({ enum: RUN_STATUSES, nullable: true, type: String })
  last_transaction_status: RunStatus | null;

  static from(c: Cluster, counts: ClusterRunCounts | undefined, releaseId: number | undefined): ClusterDto {
    const version = parseReleaseVersion(c.release)?.text ?? null;
    const status = nailgunStatus(counts?.deployment_status);
    return {
      id: c.id,
      name: c.name,
      mode: 'ha_compact',
      changes: [],
      status,
      ui_settings: NAILGUN_UI_SETTINGS(),
      is_customized: false,
      net_provider: 'neutron',
      release_id: releaseId ?? null,
      fuel_version: version,
      is_locked: isLocked(status),
      components: [],
      release: c.release,
      version,
      history_enabled: releaseSupportsHistory(c.release),
      epoch: c.epoch,
      transactions: counts?.transactions ?? 0,
      running_transactions: counts?.running ?? 0,
      history_rows: counts?.history_rows ?? 0,
      last_transaction_id: counts?.last_transaction_id ?? null,
      last_transaction_status: counts?.last_transaction_status ?? null,
    };
  }
}

/**
 * A release as Nailgun's release serializer named its keys (what fuel2 `release list` reads: id, name,
 * state, operating_system, version), without its large metadata documents (roles, attributes,
 * components), which this service does not have; then this service's own keys.
 */
export class ReleaseDto {
  /** Given once to each release string a cluster ran (release_id of a cluster). */
  id: number;
  /** The release string (Nailgun's display name, e.g. "Mitaka on Ubuntu 14.04", is not known here). */
  name: string;
  /** The release string, e.g. `mitaka-9.0`: what Nailgun called the release's version. */
  version: string;
  /** Nailgun's: none known here. */
  description: string | null;
  /** Nailgun's (`Ubuntu`, `CentOS`): not known here. */
  operating_system: string | null;
  /** Nailgun's: `available`, its default. */
  state: 'available';
  /** Nailgun's: true, its default. */
  is_deployable: boolean;
  /** Fuel version read from the release string, or null when it carries none. */
  fuel_version: string | null;
  /** False only for a release known to predate 9.0. */
  history_enabled: boolean;
  /** Ids of the clusters on this release now (none for a release no cluster runs any more). */
  clusters: number[];

  static from(r: { id: number; name: string; clusters: number[] }): ReleaseDto {
    return {
      id: r.id,
      name: r.name,
      version: r.name,
      description: null,
      operating_system: null,
      state: 'available',
      is_deployable: true,
      fuel_version: parseReleaseVersion(r.name)?.text ?? null,
      history_enabled: releaseSupportsHistory(r.name),
      clusters: r.clusters,
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
