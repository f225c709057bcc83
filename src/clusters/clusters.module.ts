import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Cluster } from './cluster.entity';
import { ClusterRegistry } from './cluster-registry';
import { ClustersController } from './clusters.controller';
import { ClustersService } from './clusters.service';

/**
 * Clusters, their release, the gate that keeps pre-9.0 clusters out of task history, and reset.
 * What it needs to know about runs comes through the ClusterRuns port, provided by the history module.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Cluster])],
  controllers: [ClustersController],
  providers: [ClusterRegistry, ClustersService],
  exports: [ClusterRegistry, TypeOrmModule],
})
export class ClustersModule {}
