import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { LockedCluster, lockClusters } from '../common/database/lock-order';
import { ConflictError, NotFoundError } from '../common/errors/domain-errors';
import { Cluster } from './cluster.entity';
import { MIN_HISTORY_VERSION, parseReleaseVersion, releaseSupportsHistory } from './release';

export interface ClusterInfo {
  id: number;
  name: string;
  release: string;
}

/** The clusters table: registration, release gate and epochs. Depends on nothing but its table. */
@Injectable()
export class ClusterRegistry {
  constructor(@InjectRepository(Cluster) private readonly clusters: Repository<Cluster>) {}

  /** Registers a cluster or updates its name and release, inside the caller's transaction. */
  async register(manager: EntityManager, c: ClusterInfo): Promise<void> {
    await this.registerAll(manager, [c]);
  }

  /**
   * Registers clusters or updates their names and releases, in one statement, inside the caller's
   * transaction. Rows are written in id order, so concurrent writers lock them in the same order.
   */
  async registerAll(manager: EntityManager, clusters: ClusterInfo[]): Promise<void> {
    const sorted = [...new Map(clusters.map((c) => [c.id, c])).values()].sort((a, b) => a.id - b.id);
    if (!sorted.length) return;
    // New clusters are inserted; known ones updated only where their name or release changed. Unlike
    // ON CONFLICT DO UPDATE, this takes no row lock on a cluster that is unchanged, so batches written at
    // the same time for runs of the same cluster do not wait for each other.
    await manager.query(
      `WITH u AS (SELECT * FROM unnest($1::int[], $2::text[], $3::text[]) WITH ORDINALITY AS u(id, name, release, n)),
       added AS (
         INSERT INTO clusters (id, name, release) SELECT u.id, u.name, u.release FROM u ORDER BY u.n
         ON CONFLICT (id) DO NOTHING RETURNING id)
       UPDATE clusters c SET name = u.name, release = u.release, updated_at = now()
       FROM u WHERE c.id = u.id AND (c.name, c.release) IS DISTINCT FROM (u.name, u.release)`,
      [sorted.map((c) => c.id), sorted.map((c) => c.name), sorted.map((c) => c.release)],
    );
  }

  historySupported(release: string): boolean {
    return releaseSupportsHistory(release);
  }

  list(): Promise<Cluster[]> {
    return this.clusters.find({ order: { id: 'ASC' } });
  }

  async get(id: number, manager?: EntityManager): Promise<Cluster> {
    const repo = manager ? manager.getRepository(Cluster) : this.clusters;
    const c = await repo.findOneBy({ id });
    if (!c) throw new NotFoundError(`Cluster ${id} not found`);
    return c;
  }

  /**
   * The cluster, locked exclusively until the caller's transaction ends (reset, deletion): the first
   * lock of the lock order, so no writer of the cluster runs meanwhile.
   */
  async lock(manager: EntityManager, id: number): Promise<LockedCluster> {
    const [c] = await lockClusters(manager, 'exclusive', { clusters: [id] });
    if (!c) throw new NotFoundError(`Cluster ${id} not found`);
    return c;
  }

  /** Starts a new epoch (a reset); returns it. */
  async nextEpoch(manager: EntityManager, id: number): Promise<number> {
    // An UPDATE ... RETURNING answers [rows, count] through TypeORM.
    const [rows] = await manager.query(`UPDATE clusters SET epoch = epoch + 1, updated_at = now() WHERE id = $1 RETURNING epoch`, [id]);
    return rows[0].epoch;
  }

  /**
   * Throws a ConflictError naming the cluster, its release and the minimum when the cluster's
   * release predates task history. Unknown clusters pass: the caller answers 404 itself.
   */
  async assertHistoryAvailable(clusterId: number): Promise<void> {
    const cluster = await this.clusters.findOneBy({ id: clusterId });
    if (!cluster || releaseSupportsHistory(cluster.release)) return;
    const version = parseReleaseVersion(cluster.release)?.text ?? 'unknown';
    throw new ConflictError(
      `Cluster ${cluster.id} ('${cluster.name}') runs release '${cluster.release}' (version ${version}); ` +
        `deployment history requires release ${MIN_HISTORY_VERSION} or later`,
    );
  }
}
