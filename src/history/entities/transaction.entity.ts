import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { RUN_STATUSES, RunStatus } from '../task-state';

/** One run (Fuel "transaction", Astute "task") against a cluster. */
@Entity('transactions')
export class Transaction {
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'varchar', length: 255, unique: true })
  uuid: string;

  @Column({ name: 'cluster_id', type: 'int' })
  clusterId: number;

  @Column('text')
  name: string;

  @Column({ name: 'graph_type', type: 'text' })
  graphType: string;

  @Column({ name: 'dry_run', type: 'boolean' })
  dryRun: boolean;

  @Column({ type: 'enum', enum: RUN_STATUSES, enumName: 'transaction_status' })
  status: RunStatus;

  @Column('smallint')
  progress: number;

  @Column({ type: 'text', nullable: true })
  message: string | null;

  @Column({ name: 'parent_id', type: 'int', nullable: true })
  parentId: number | null;

  /** False for runs of pre-9.0 clusters: the run is recorded, its tasks are not. */
  @Column({ name: 'history_recorded', type: 'boolean' })
  historyRecorded: boolean;

  /**
   * The cluster's release when the run started (the release it ran on, as a cluster never moves to an
   * older one); decides whether its tasks were recorded.
   */
  @Column('text')
  release: string;

  /** The release the run's start announced, when the cluster did not take it (older, or unreadable); else null. */
  @Column({ name: 'announced_release', type: 'text', nullable: true })
  announcedRelease: string | null;

  /** The cluster's epoch when the run started (a reset starts a new one). */
  @Column('int')
  epoch: number;

  /** Graph definition of each task of the run, by task name (type, parameters, requires, ...). */
  @Column({ name: 'tasks_snapshot', type: 'jsonb' })
  tasksSnapshot: Record<string, Record<string, unknown>>;

  /** Time of the report that set the current status. */
  @Column({ name: 'status_time', type: 'timestamptz', nullable: true })
  statusTime: Date | null;

  @Column({ name: 'time_start', type: 'timestamptz' })
  timeStart: Date;

  @Column({ name: 'time_end', type: 'timestamptz', nullable: true })
  timeEnd: Date | null;

  /** The run's summary, and its whole list if large, once it ended (history-query.service.ts); cleared by the writer when the run's rows change. */
  @Column({ name: 'summary_cache', type: 'json', nullable: true, select: false })
  summaryCache?: unknown;

  /** The kept whole list as gzip (migrations/1764900000000-GzipListCache.ts). */
  @Column({ name: 'list_cache', type: 'bytea', nullable: true, select: false })
  listCache?: Buffer | null;

  /** The same list as brotli (migrations/1765000000000-BrotliListCache.ts). */
  @Column({ name: 'list_cache_br', type: 'bytea', nullable: true, select: false })
  listCacheBr?: Buffer | null;
}
