import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClustersModule } from '../clusters/clusters.module';
import { ClusterRuns } from '../clusters/cluster-runs.port';
import { ClusterLocator, HistoryAvailableGuard } from '../clusters/history-available.guard';
import { ClusterRunsAdapter } from './cluster-runs.adapter';
import { ClusterHistoryController } from './cluster-history.controller';
import { ClusterHistoryService } from './cluster-history.service';
import { DeploymentHistoryController, RunDiffController } from './deployment-history.controller';
import { DeploymentHistory } from './entities/deployment-history.entity';
import { Transaction } from './entities/transaction.entity';
import { HistoryQueryService } from './history-query.service';
import { HistoryEvents } from './history-events.service';
import { HistoryWriter } from './history-writer.service';
import { LiveHistoryService } from './live-history.service';
import { RetentionController } from './retention.controller';
import { RetentionService } from './retention.service';
import { RunDeletion } from './run-deletion.service';
import { RunSnapshotsController } from './run-snapshots.controller';
import { RunSnapshotsService } from './run-snapshots.service';
import { TransactionsController } from './transactions.controller';
import { TransactionsService } from './transactions.service';

/**
 * The store (runs and their task rows), its write path and its REST API. Global only to hand the
 * ClusterRuns port to the clusters module, which declares it but cannot import this module.
 */
@Global()
@Module({
  imports: [ClustersModule, TypeOrmModule.forFeature([Transaction, DeploymentHistory])],
  controllers: [
    TransactionsController,
    RunSnapshotsController,
    DeploymentHistoryController,
    RunDiffController,
    ClusterHistoryController,
    RetentionController,
  ],
  providers: [
    TransactionsService,
    HistoryQueryService,
    ClusterHistoryService,
    RetentionService,
    RunDeletion,
    RunSnapshotsService,
    HistoryEvents,
    LiveHistoryService,
    HistoryWriter,
    HistoryAvailableGuard,
    ClusterRunsAdapter,
    { provide: ClusterLocator, useExisting: TransactionsService },
    { provide: ClusterRuns, useExisting: ClusterRunsAdapter },
  ],
  exports: [HistoryWriter, TransactionsService, TypeOrmModule, ClusterRuns],
})
export class HistoryModule {}
