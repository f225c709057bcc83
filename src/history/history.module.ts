import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClustersModule } from '../clusters/clusters.module';
import { ClusterLocator, HistoryAvailableGuard } from '../clusters/history-available.guard';
import { DeploymentHistoryController } from './deployment-history.controller';
import { DeploymentHistory } from './entities/deployment-history.entity';
import { Transaction } from './entities/transaction.entity';
import { HistoryQueryService } from './history-query.service';
import { HistoryWriter } from './history-writer.service';
import { TransactionsController } from './transactions.controller';
import { TransactionsService } from './transactions.service';

/** The store (runs and their task rows), its write path and its REST API. */
@Module({
  imports: [ClustersModule, TypeOrmModule.forFeature([Transaction, DeploymentHistory])],
  controllers: [TransactionsController, DeploymentHistoryController],
  providers: [
    TransactionsService,
    HistoryQueryService,
    HistoryWriter,
    HistoryAvailableGuard,
    { provide: ClusterLocator, useExisting: TransactionsService },
  ],
  exports: [HistoryWriter, TransactionsService, TypeOrmModule],
})
export class HistoryModule {}
