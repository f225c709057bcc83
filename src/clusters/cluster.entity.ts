import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A cluster (Fuel "environment"); its id is the orchestrator's. */
@Entity('clusters')
export class Cluster {
  @PrimaryColumn('int')
  id: number;

  @Column('text')
  name: string;

  /** Release string as Fuel names it, e.g. `mitaka-9.0`. */
  @Column('text')
  release: string;

  /** Grows at each reset; runs of earlier epochs stay listed, the current state only counts this one. */
  @Column('int')
  epoch: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
