import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { LockedCluster, lockClusters } from '../common/database/lock-order';
import { RetryableWriteError } from '../common/database/retrying-transaction';
import { selectOne, selectRows } from '../common/database/sql';
import { NotFoundError } from '../common/errors/domain-errors';
import { Cluster } from './cluster.entity';
import { describeRelease, MIN_HISTORY_VERSION, nextRelease, parseReleaseVersion, ReleaseChange, releaseSupportsHistory } from './release';

export interface ClusterInfo {
  id: number;
  name: string;
  release: string;
}

/** Why a release announced for a cluster deserves a warning (a bounded kind, for the metrics). */
export type ReleaseWarningKind = 'older_release' | 'unreadable_release';

/** What one announcement of a cluster came to. */
export interface RegisteredCluster {
  /** The release the cluster runs once the announcement is applied: the release its run ran on. */
  release: string;
  /** The release announced, when it was kept out (older, or unreadable where the cluster's is readable); else null. */
  announced: string | null;
  /** Why the announcement is worth a warning: a release kept out, or one whose version cannot be read. */
  warning?: { kind: ReleaseWarningKind; message: string };
}

/** A release and the clusters running it now, by id. */
export interface ReleaseRow {
  id: number;
  name: string;
  clusters: number[];
}

/** The columns of a cluster as the entity names them (timestamps come back as Dates). */
const CLUSTER_COLUMNS = `id, name, release, epoch, created_at AS "createdAt", updated_at AS "updatedAt"`;

/**
 * The clusters aggregate's repository: every statement on `clusters` and `releases` (registration,
 * release gate, epochs, the releases list, the cluster's exclusive lock). Depends on nothing but its tables.
 * Step 1 of the lock order for many clusters at once (the writer's shared lock) is `lockClusters` in
 * lock-order.ts, beside the rest of the order.
 */
@Injectable()
export class ClusterRegistry {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Registers a cluster or updates its name and release (by the rule of nextRelease), inside the caller's transaction. */
  async register(manager: EntityManager, c: ClusterInfo, held: ClusterInfo[] = []): Promise<RegisteredCluster> {
    return (await this.registerAll(manager, [c], held))[0];
  }

  /**
   * Registers clusters or updates their names and releases, inside the caller's transaction, applying
   * the announcements in the order given: a release only moves to the same version or a newer one
   * (nextRelease, release.ts). Returns, per announcement, the release the cluster then runs and any warning.
   * Rows are written in one statement, in id order, so concurrent writers lock them in the same order.
   * `held`: the clusters as the caller read them when it locked them (lockClusters, step 1 of the lock
   * order); only the others are read here (a round trip a batch of known clusters does not pay).
   */
  async registerAll(manager: EntityManager, clusters: ClusterInfo[], held: ClusterInfo[] = []): Promise<RegisteredCluster[]> {
    if (!clusters.length) return [];
    const ids = [...new Set(clusters.map((c) => c.id))].sort((a, b) => a - b);
    const seen = new Map<number, ClusterInfo>(held.map((c) => [c.id, c]));
    const unread = ids.filter((id) => !seen.has(id));
    if (unread.length) {
      const rows = await selectRows<ClusterInfo>(manager, `SELECT id, name, release FROM clusters WHERE id = ANY($1::int[])`, [unread]);
      for (const r of rows) seen.set(r.id, r);
    }
    // The writer holds its clusters shared, so another writer may change one after it was read: the update
    // below only applies over the release read (compare and set), else the batch is run again.
    const now = new Map<number, ClusterInfo>();
    const out = clusters.map((c): RegisteredCluster => {
      const change = nextRelease((now.get(c.id) ?? seen.get(c.id))?.release ?? null, c.release);
      now.set(c.id, { id: c.id, name: c.name, release: change.release });
      return registration(c, change);
    });
    const writes = ids.map((id) => now.get(id)!).filter((c) => isChanged(seen.get(c.id), c));
    await this.write(manager, writes, seen);
    return out;
  }

  /**
   * Writes the clusters registered or changed, over the releases `seen` (compare and set). New clusters
   * are inserted, known ones updated where their name or release changed, and only over the release read.
   * Unlike ON CONFLICT DO UPDATE, this takes no row lock on a cluster that is unchanged, so batches written
   * at the same time for runs of the same cluster do not wait for each other.
   */
  private async write(manager: EntityManager, writes: ClusterInfo[], seen: Map<number, ClusterInfo>): Promise<void> {
    if (!writes.length) return;
    const row = await selectOne<{ n: number }>(
      manager,
      `WITH u AS (SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(id, name, release, seen, n)),
       added AS (
         INSERT INTO clusters (id, name, release) SELECT u.id, u.name, u.release FROM u WHERE u.seen IS NULL ORDER BY u.n
         ON CONFLICT (id) DO NOTHING RETURNING id),
       changed AS (
         UPDATE clusters c SET name = u.name, release = u.release, updated_at = now()
         FROM u WHERE c.id = u.id AND c.release = u.seen RETURNING c.id)
       SELECT ((SELECT count(*) FROM added) + (SELECT count(*) FROM changed))::int AS n`,
      [
        writes.map((c) => c.id),
        writes.map((c) => c.name),
        writes.map((c) => c.release),
        writes.map((c) => seen.get(c.id)?.release ?? null),
      ],
    );
    // A cluster registered, or re-released, by another writer since it was read: decided again on its release.
    if (row?.n !== writes.length) throw new RetryableWriteError('a cluster was registered or its release changed concurrently');
  }

  historySupported(release: string): boolean {
    return releaseSupportsHistory(release);
  }

  list(): Promise<Cluster[]> {
    return selectRows<Cluster>(this.db, `SELECT ${CLUSTER_COLUMNS} FROM clusters ORDER BY id`);
  }

  /**
   * The id of each release string (release_id), from the releases table, which the triggers on `clusters`
   * fill as releases first appear (migration Releases1764306000000): stable, never reused.
   */
  async releaseIds(names: string[]): Promise<Map<string, number>> {
    if (!names.length) return new Map();
    const rows = await selectRows<{ id: number; name: string }>(this.db, `SELECT id, name FROM releases WHERE name = ANY($1::text[])`, [
      [...new Set(names)],
    ]);
    return new Map(rows.map((r) => [r.name, r.id]));
  }

  /** Every release a cluster ever ran (or only the one of that id), with the clusters on it now, by id. */
  releases(id?: number): Promise<ReleaseRow[]> {
    return selectRows<ReleaseRow>(
      this.db,
      `SELECT r.id, r.name, coalesce(array_agg(c.id ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL), '{}') AS clusters
       FROM releases r LEFT JOIN clusters c ON c.release = r.name
       WHERE $1::int IS NULL OR r.id = $1 GROUP BY r.id ORDER BY r.id`,
      [id ?? null],
    );
  }

  /** Whether the cluster is registered (for a reader that answers 404 for an unknown one). */
  async exists(id: number): Promise<boolean> {
    return (await selectOne<{ id: number }>(this.db, `SELECT id FROM clusters WHERE id = $1`, [id])) !== undefined;
  }

  async get(id: number, manager?: EntityManager): Promise<Cluster> {
    const c = await selectOne<Cluster>(manager ?? this.db, `SELECT ${CLUSTER_COLUMNS} FROM clusters WHERE id = $1`, [id]);
    if (!c) throw new NotFoundError(`Cluster ${id} not found`);
    return c;
  }

  /**
   * The cluster, locked exclusively until the caller's transaction ends (reset, deletion): the first
   * lock of the lock order, so no writer of the cluster runs meanwhile.
   */
  async lock(manager: EntityManager, id: number): Promise<LockedCluster> {
    const c = await this.lockIfExists(manager, id);
    if (!c) throw new NotFoundError(`Cluster ${id} not found`);
    return c;
  }

  /** As `lock`, for a caller that may create the cluster (PUT): undefined when there is none yet. */
  async lockIfExists(manager: EntityManager, id: number): Promise<LockedCluster | undefined> {
    const [c] = await lockClusters(manager, 'exclusive', { clusters: [id] });
    return c;
  }

  /** Starts a new epoch (a reset); returns it. */
  async nextEpoch(manager: EntityManager, id: number): Promise<number> {
    const row = await selectOne<{ epoch: number }>(
      manager,
      `UPDATE clusters SET epoch = epoch + 1, updated_at = now() WHERE id = $1 RETURNING epoch`,
      [id],
    );
    if (!row) throw new NotFoundError(`Cluster ${id} not found`);
    return row.epoch;
  }
}

/**
 * Why the cluster has no task history, naming the cluster, its release and the minimum, when its release is
 * known to predate 9.0; else null. No cluster (none by that id): null (the caller answers 404 itself).
 */
export function preHistoryReason(cluster: ClusterInfo | null | undefined): string | null {
  if (!cluster || releaseSupportsHistory(cluster.release)) return null;
  const version = parseReleaseVersion(cluster.release)?.text ?? 'unknown';
  return (
    `Cluster ${cluster.id} ('${cluster.name}') runs release '${cluster.release}' (version ${version}); ` +
    `deployment history requires release ${MIN_HISTORY_VERSION} or later`
  );
}

/** What one announcement came to, given the release change nextRelease decided for it. */
function registration(c: ClusterInfo, change: ReleaseChange): RegisteredCluster {
  const done: RegisteredCluster = { release: change.release, announced: change.release === c.release ? null : c.release };
  const cluster = `cluster ${c.id} ('${c.name}')`;
  if (change.kept) {
    const kind = change.kept === 'older' ? 'older_release' : 'unreadable_release';
    done.warning = { kind, message: `${cluster}: ${change.reason}; the cluster keeps ${describeRelease(change.release)}` };
  } else if (!parseReleaseVersion(change.release)) {
    done.warning = {
      kind: 'unreadable_release',
      message: `${cluster}: release '${change.release}' carries no readable version; it is not taken as before ${MIN_HISTORY_VERSION}`,
    };
  }
  return done;
}

/** True when the cluster is new or its name or release differ from those read. */
function isChanged(before: ClusterInfo | undefined, after: ClusterInfo): boolean {
  return !before || before.name !== after.name || before.release !== after.release;
}
