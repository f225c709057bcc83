import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { TASK_STATUSES, TaskStatus } from '../task-state';

/** One task on one node (or `master`, or the cluster itself when nodeId is null) within one run. */
@Entity('deployment_history')
export class DeploymentHistory {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id: string;

  @Column({ name: 'transaction_id', type: 'int' })
  transactionId: number;

  @Column({ name: 'cluster_id', type: 'int' })
  clusterId: number;

  @Column({ name: 'node_id', type: 'varchar', length: 255, nullable: true })
  nodeId: string | null;

  @Column({ name: 'task_name', type: 'varchar', length: 255 })
  taskName: string;

  @Column({ name: 'task_type', type: 'varchar', length: 255, nullable: true })
  taskType: string | null;

  @Column({ type: 'enum', enum: TASK_STATUSES, enumName: 'history_status' })
  status: TaskStatus;

  @Column({ name: 'time_start', type: 'timestamptz', nullable: true })
  timeStart: Date | null;

  @Column({ name: 'time_end', type: 'timestamptz', nullable: true })
  timeEnd: Date | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage: string | null;

  /** Set when the row was closed out by the end of its run rather than by a report. */
  @Column({ name: 'closed_reason', type: 'text', nullable: true })
  closedReason: string | null;

  @Column({ type: 'jsonb', nullable: true })
  summary: Record<string, unknown> | null;

  @Column({ type: 'jsonb' })
  custom: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz', insert: false, update: false })
  createdAt: Date;

  /** Generated: time_start, else time_end, else created_at. Orders and filters cross-run lists. */
  @Column({ name: 'sort_time', type: 'timestamptz', insert: false, update: false })
  sortTime: Date;
}
