import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../migrations';
import { Cluster } from './clusters/cluster.entity';
import { DeploymentHistory } from './history/entities/deployment-history.entity';
import { Transaction } from './history/entities/transaction.entity';

/**
 * For the TypeORM CLI (`npm run migration:run`, `migration:generate` to draft a migration for review).
 * The service itself runs the same migrations at boot under an advisory lock.
 */
export default new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/deployment_history',
  entities: [Cluster, Transaction, DeploymentHistory],
  migrations: MIGRATIONS,
  synchronize: false,
});
