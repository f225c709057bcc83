import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Cluster } from './cluster.entity';
import { ClusterRegistry } from './cluster-registry';
import { ClustersController } from './clusters.controller';
import { ClustersService } from './clusters.service';
import { NailgunNotServedController, NotServedGuard } from './nailgun-not-served.controller';
import { ReleasesController } from './releases.controller';

/**
 * Clusters, their release, the gate that keeps pre-9.0 clusters out of task history, and reset; the
 * releases clusters ran; and the answers to what fuel2 asks of Nailgun that this service does not do.
 * What it needs to know about runs comes through the ClusterRuns port, provided by the history module.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Cluster])],
  controllers: [ClustersController, ReleasesController, NailgunNotServedController],
  providers: [ClusterRegistry, ClustersService, NotServedGuard],
  exports: [ClusterRegistry, TypeOrmModule],
})
export class ClustersModule {}
