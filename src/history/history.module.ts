import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { READ_DB } from '../common/database/read-db';
import { ClusterLocator } from '../clusters/cluster-locator.port';
import { ClustersModule } from '../clusters/clusters.module';
import { HistoryAvailableGuard } from '../clusters/history-available.guard';
import { ClusterHistoryController } from './cluster-history.controller';
import { ClusterHistoryService } from './cluster-history.service';
import { ClusterRunsService } from './clusters/cluster-runs.service';
import { ClustersController } from './clusters/clusters.controller';
import { DeploymentHistoryController, RunDiffController } from './deployment-history.controller';
import { DeploymentHistory } from './entities/deployment-history.entity';
import { Transaction } from './entities/transaction.entity';
import { HistoryEvents } from './history-events.service';
import { HistoryQueryService } from './history-query.service';
import { HistoryWriter } from './history-writer.service';
import { CriticalPathController } from './insights/critical-path.controller';
import { CriticalPathService } from './insights/critical-path.service';
import { ClusterInsightsController, RunInsightsController } from './insights/insights.controller';
import { InsightsService } from './insights/insights.service';
import { LiveHistoryService } from './live-history.service';
import { ClusterStateRepository } from './persistence/cluster-state.repository';
import { HistoryRowsRepository, REPLICA_HISTORY_ROWS } from './persistence/history-rows.repository';
import { InsightsRepository } from './persistence/insights.repository';
import { RunStatsCache } from './persistence/run-stats-cache';
import { RunCache } from './persistence/run-cache';
import { RunChanges } from './persistence/run-changes';
import { RunGraphRepository } from './persistence/run-graph.repository';
import { RunNodesRepository } from './persistence/run-nodes.repository';
import { RunSnapshotsRepository } from './persistence/run-snapshots.repository';
import { HistoryPartitions } from './persistence/partitions';
import { RunsRepository } from './persistence/runs.repository';
import { RetentionController } from './retention.controller';
import { RetentionService } from './retention.service';
import { RunDeletion } from './run-deletion.service';
import { RunSnapshotsController } from './run-snapshots.controller';
import { RunSnapshotsService } from './run-snapshots.service';
import { PlanMaterializer, PlansMaterialized } from './plans-materialized';
import { RunStarts } from './run-starts';
import { TransactionsController } from './transactions.controller';
import { TransactionsService } from './transactions.service';

/** The repositories of the store: every SQL statement on runs, their rows, the cluster state and snapshots. */
const PERSISTENCE = [
  RunsRepository,
  HistoryRowsRepository,
  ClusterStateRepository,
  RunSnapshotsRepository,
  RunNodesRepository,
  RunGraphRepository,
  InsightsRepository,
  RunStatsCache,
  RunCache,
  RunChanges,
  HistoryPartitions,
];

/**
 * The store (runs and their task rows), its write path and its REST API, with the clusters routes that
 * answer with run counts or stop runs (clusters/). It imports the clusters module (history → clusters)
 * and provides the ClusterLocator port that module's guard declares.
 */
@Module({
  imports: [ClustersModule, TypeOrmModule.forFeature([Transaction, DeploymentHistory])],
  controllers: [
    ClustersController,
    TransactionsController,
    RunSnapshotsController,
    DeploymentHistoryController,
    RunDiffController,
    ClusterHistoryController,
    RetentionController,
    CriticalPathController,
    ClusterInsightsController,
    RunInsightsController,
  ],
  providers: [
    ...PERSISTENCE,
    PlanMaterializer,
    PlansMaterialized,
    TransactionsService,
    HistoryQueryService,
    ClusterHistoryService,
    ClusterRunsService,
    RetentionService,
    RunDeletion,
    RunSnapshotsService,
    InsightsService,
    HistoryEvents,
    LiveHistoryService,
    RunStarts,
    HistoryWriter,
    CriticalPathService,
    HistoryAvailableGuard,
    { provide: ClusterLocator, useExisting: TransactionsService },
    // The history rows' reads of the REST routes, on the replica when DATABASE_READ_URL names one.
    { provide: REPLICA_HISTORY_ROWS, inject: [READ_DB], useFactory: (db: DataSource) => new HistoryRowsRepository(db) },
  ],
  exports: [HistoryWriter, TransactionsService, TypeOrmModule],
})
export class HistoryModule {}
