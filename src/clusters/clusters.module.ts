import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Cluster } from './cluster.entity';
import { ClusterRegistry } from './cluster-registry';
import { ClustersService } from './clusters.service';
import { NailgunNotServedController, NotServedGuard } from './nailgun-not-served.controller';
import { ReleasesController } from './releases.controller';

/**
 * Clusters, their release and epochs (ClusterRegistry), the gate that keeps pre-9.0 clusters out of task
 * history; the releases clusters ran; and the answers to what fuel2 asks of Nailgun that this service
 * does not do. It knows nothing of runs: the clusters routes that count or stop runs (list, show,
 * register, reset) are the history module's, which also provides the guard's ClusterLocator port.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Cluster])],
  controllers: [ReleasesController, NailgunNotServedController],
  providers: [ClusterRegistry, ClustersService, NotServedGuard],
  exports: [ClusterRegistry, TypeOrmModule],
})
export class ClustersModule {}
