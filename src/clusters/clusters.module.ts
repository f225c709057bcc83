import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Cluster } from './cluster.entity';
import { ClustersService } from './clusters.service';

/** Clusters, their release, and the gate that keeps pre-9.0 clusters out of task history. */
@Module({
  imports: [TypeOrmModule.forFeature([Cluster])],
  providers: [ClustersService],
  exports: [ClustersService, TypeOrmModule],
})
export class ClustersModule {}
