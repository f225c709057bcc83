import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { Cluster } from '../../src/clusters/cluster.entity';
import { ClusterRegistry } from '../../src/clusters/cluster-registry';
import { runMigrationsLocked } from '../../src/common/database/migrate';
import { DeploymentHistory } from '../../src/history/entities/deployment-history.entity';
import { Transaction } from '../../src/history/entities/transaction.entity';
import { HistoryWriter } from '../../src/history/history-writer.service';
import { ClusterStateRepository } from '../../src/history/persistence/cluster-state.repository';
import { HISTORY_CHANNEL } from '../../src/history/persistence/history-channel';
import { HistoryRowsRepository } from '../../src/history/persistence/history-rows.repository';
import { RunCache } from '../../src/history/persistence/run-cache';
import { RunChanges } from '../../src/history/persistence/run-changes';
import { RunNodesRepository } from '../../src/history/persistence/run-nodes.repository';
import { RunSnapshotsRepository } from '../../src/history/persistence/run-snapshots.repository';
import { RunsRepository } from '../../src/history/persistence/runs.repository';
import { PlanMaterializer } from '../../src/history/plans-materialized';
import { RunStarts } from '../../src/history/run-starts';
import type { RunReport } from '../../src/history/run-state';
import type { NodeTaskReport, RunNode, RunSnapshots, StoreCommand } from '../../src/history/store-commands';
import { createTestDatabase } from '../support/database';

/** A release that records task history. */
export const RELEASE = 'mitaka-9.0';

/**
 * The store on a fresh database with the migrations run, its repositories and writer wired by hand
 * (no Nest, no HTTP): what the medium tests of the persistence layer drive.
 */
export async function openStore() {
  const database = await createTestDatabase('dh_medium');
  const ds = new DataSource({
    type: 'postgres',
    url: database.url,
    entities: [Cluster, Transaction, DeploymentHistory],
    migrations: MIGRATIONS,
  });
  await ds.initialize();
  const quiet = new Logger('medium');
  quiet.log = () => undefined;
  await runMigrationsLocked(ds, quiet);
  const registry = new ClusterRegistry(ds);
  const state = new ClusterStateRepository(ds);
  const runs = new RunsRepository(ds, ds.getRepository(Transaction));
  const rows = new HistoryRowsRepository(ds);
  const changes = new RunChanges(state);
  const writer = new HistoryWriter(ds, new RunStarts(registry, runs, changes), runs, rows, state, changes);
  return {
    url: database.url,
    ds,
    registry,
    state,
    runs,
    rows,
    changes,
    cache: new RunCache(ds),
    snapshots: new RunSnapshotsRepository(ds),
    runNodes: new RunNodesRepository(ds),
    writer,
    /** What every read of the REST API does first (PlansMaterialized): the runs' planned tasks stored as pending rows. */
    materialize: () => new PlanMaterializer(ds, changes).materializeAll(),
    close: async () => {
      await ds.destroy();
      await database.drop();
    },
  };
}
export type Store = Awaited<ReturnType<typeof openStore>>;

/**
 * The store's writer over another data source (one connection, or one that watches the statements), with the
 * store's repositories where they do not hold the data source themselves.
 */
export function writerOn(ds: DataSource, store: Store, config?: { databasePreparedStatements: boolean }): HistoryWriter {
  const runs = new RunsRepository(ds, store.ds.getRepository(Transaction));
  return new HistoryWriter(
    ds,
    new RunStarts(new ClusterRegistry(ds), runs, store.changes),
    runs,
    store.rows,
    store.state,
    store.changes,
    config,
  );
}

/** A start of run `uuid` on cluster `clusterId` with its (node, task) pairs. */
export function start(
  uuid: string,
  clusterId: number,
  tasks: Array<[string | null, string]>,
  more: { dryRun?: boolean; parentUuid?: string; time?: Date; snapshots?: RunSnapshots; nodes?: RunNode[] } = {},
): StoreCommand {
  return {
    kind: 'start',
    start: {
      uuid,
      name: more.dryRun ? 'dry_run_deployment' : 'deployment',
      graphType: 'default',
      dryRun: more.dryRun ?? false,
      cluster: { id: clusterId, name: `env-${clusterId}`, release: RELEASE },
      parentUuid: more.parentUuid ?? null,
      time: more.time ?? new Date('2026-01-01T10:00:00Z'),
      tasks: tasks.map(([nodeId, taskName]) => ({ nodeId, taskName, type: 'puppet' })),
      snapshot: Object.fromEntries(tasks.map(([, t]) => [t, { id: t, type: 'puppet', parameters: { timeout: 60 } }])),
      nodeDefinitions: [],
      snapshots: more.snapshots ?? {},
      nodes: more.nodes ?? [],
    },
  };
}

/** Reports on run `uuid`: task reports, and the run's own when given. */
export function report(
  uuid: string,
  tasks: Array<Partial<NodeTaskReport> & Pick<NodeTaskReport, 'nodeId' | 'taskName' | 'status'>>,
  run?: RunReport,
): StoreCommand {
  return {
    kind: 'report',
    uuid,
    run: run ?? null,
    tasks: tasks.map((t) => ({ time: new Date('2026-01-01T10:01:00Z'), ...t })),
  };
}

/** Listens on HISTORY_CHANNEL; `heard` holds every run id announced so far. */
export async function listen(url: string): Promise<{ heard: Set<number>; close: () => Promise<void> }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  const heard = new Set<number>();
  client.on('notification', (n) => {
    for (const id of (n.payload ?? '').split(',')) if (id) heard.add(Number(id));
  });
  await client.query(`LISTEN ${HISTORY_CHANNEL}`);
  return { heard, close: () => client.end() };
}
