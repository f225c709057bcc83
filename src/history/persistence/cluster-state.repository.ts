import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { readThroughIndexes } from '../../common/database/planner';
import { Queryable, selectRows } from '../../common/database/sql';
import type { TaskStatus } from '../task-state';
import { Column, namesOf, unnestRows } from './columns';
import { nodesCondition } from './history-rows.sql';

/** A key of the cluster state (cluster_state): per cluster, epoch and (node, task), one entry. */
export interface StateKey {
  cluster_id: number;
  epoch: number;
  node_id: string | null;
  task_name: string;
}

/** An entry of the cluster state: its key, and the ready row (of a real run) it points at. */
export interface StateEntry extends StateKey {
  transaction_id: number;
  history_id: string;
  time_end: Date;
}

/** An entry as the cluster state view shows it, with its row and run. */
export interface StateRow {
  node_id: string | null;
  task_name: string;
  type: string | null;
  status: TaskStatus;
  time_start: Date | null;
  time_end: Date | null;
  transaction_id: number;
  transaction_uuid: string;
  transaction_name: string;
}

const KEY_COLUMNS: ReadonlyArray<Column<StateKey>> = [
  { name: 'cluster_id', type: 'int', value: (k) => k.cluster_id },
  { name: 'epoch', type: 'int', value: (k) => k.epoch },
  { name: 'node_id', type: 'varchar', value: (k) => k.node_id },
  { name: 'task_name', type: 'varchar', value: (k) => k.task_name },
];
const ENTRY_COLUMNS: ReadonlyArray<Column<StateEntry>> = [
  ...KEY_COLUMNS,
  { name: 'transaction_id', type: 'int', value: (e) => e.transaction_id },
  { name: 'history_id', type: 'bigint', value: (e) => e.history_id },
  { name: 'time_end', type: 'timestamptz', value: (e) => e.time_end },
];

/**
 * The cluster state (cluster_state) is, per cluster, epoch and (node, task), the last ready row of a
 * real (not dry) run: kept by the writer as rows become ready (a lookup, not a scan of history).
 */
@Injectable()
export class ClusterStateRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * The entries of the cluster's current epoch, of the nodes and tasks asked (all when not), in no order.
   * Each entry's row is found by its run too: the history is partitioned by run, so only that run's
   * partition is searched (pruned at execution), not every partition's index.
   */
  current(clusterId: number, q: { nodes?: string[]; tasks_names?: string[] }): Promise<StateRow[]> {
    const params: unknown[] = [clusterId];
    const where = [`s.cluster_id = $1`, `s.epoch = (SELECT epoch FROM clusters WHERE id = $1)`];
    if (q.nodes) where.push(nodesCondition('s.node_id', q.nodes, params));
    if (q.tasks_names) where.push(`s.task_name = ANY($${params.push(q.tasks_names)})`);
    // Through the indexes (planner.ts): with the history in many partitions the planner costs each entry's
    // row lookup as a probe of every partition, and took a parallel sequential scan of cluster_state for
    // the cheaper plan (two workers started for a 100-row answer: the 10,000-run benchmark's p95 38–46 ms,
    // where the lookup by keys takes 0.3 ms on the same database).
    return readThroughIndexes(this.db, (m) =>
      selectRows<StateRow>(
        m,
        `SELECT s.node_id, s.task_name, h.task_type AS type, h.status, h.time_start, h.time_end,
              s.transaction_id, t.uuid AS transaction_uuid, t.name AS transaction_name
       FROM cluster_state s JOIN deployment_history h ON h.id = s.history_id AND h.transaction_id = s.transaction_id
       JOIN transactions t ON t.id = s.transaction_id
       WHERE ${where.join(' AND ')}`,
        params,
      ),
    );
  }

  /**
   * The statement part (a data-modifying WITH clause, its parameters appended to `params`) that puts
   * `entries` in the state, each replacing an older entry of its key. The caller gives them in key order
   * (lock-order.ts, step 3).
   */
  upsertPart(entries: StateEntry[], params: unknown[]): string {
    return `state AS (
        INSERT INTO cluster_state (${namesOf(ENTRY_COLUMNS)})
        SELECT * FROM ${unnestRows('e', ENTRY_COLUMNS, entries, params)}
        ON CONFLICT ON CONSTRAINT cluster_state_key DO UPDATE
        SET transaction_id = EXCLUDED.transaction_id, history_id = EXCLUDED.history_id, time_end = EXCLUDED.time_end
        WHERE (EXCLUDED.time_end, EXCLUDED.history_id) >= (cluster_state.time_end, cluster_state.history_id)
        RETURNING 1)`;
  }

  /**
   * Empties the entries that point at these rows (they stopped being ready), each given with its run;
   * returns their keys. An entry is found among its run's cluster and epoch (a prefix of its key, the
   * table's only index: HotClusterState migration), then by its row.
   */
  removeOfRows(m: Queryable, rows: Array<{ id: string; txId: number }>): Promise<StateKey[]> {
    return selectRows(
      m,
      `DELETE FROM cluster_state s USING transactions t, unnest($1::bigint[], $2::int[]) AS r(id, tx)
       WHERE t.id = r.tx AND s.cluster_id = t.cluster_id AND s.epoch = t.epoch AND s.history_id = r.id
       RETURNING s.cluster_id, s.epoch, s.node_id, s.task_name`,
      [rows.map((r) => r.id), rows.map((r) => r.txId)],
    );
  }

  /**
   * Empties the entries that point at rows of these runs (they are being deleted: what the runs' foreign
   * key did before, HotClusterState migration); returns their keys. Found among each run's cluster and epoch.
   */
  removeOfRuns(m: Queryable, runIds: number[]): Promise<StateKey[]> {
    return selectRows(
      m,
      `DELETE FROM cluster_state s USING transactions t
       WHERE t.id = ANY($1::int[]) AND s.cluster_id = t.cluster_id AND s.epoch = t.epoch AND s.transaction_id = t.id
       RETURNING s.cluster_id, s.epoch, s.node_id, s.task_name`,
      [runIds],
    );
  }

  /**
   * Fills the cluster state entries of `keys`, emptied by the caller (their row stopped being ready, or
   * their run was deleted), with the best remaining ready row of a real run of the same cluster, epoch,
   * node and task, if any: the state is always what the history that remains says. One statement,
   * written in key order (lock-order.ts, step 3). The caller holds the runs whose rows it changed.
   */
  async handBack(m: Queryable, keys: StateKey[]): Promise<void> {
    if (!keys.length) return;
    const params: unknown[] = [];
    await m.query(
      `INSERT INTO cluster_state (${namesOf(ENTRY_COLUMNS)})
     SELECT b.cluster_id, b.epoch, b.node_id, b.task_name, b.transaction_id, b.id, b.time_end
     FROM ${unnestRows('k', KEY_COLUMNS, keys, params)}
     CROSS JOIN LATERAL (
       SELECT h.cluster_id, t.epoch, h.node_id, h.task_name, h.transaction_id, h.id, h.time_end
       FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE h.cluster_id = k.cluster_id AND t.epoch = k.epoch AND NOT t.dry_run AND h.node_id IS NOT DISTINCT FROM k.node_id
         AND h.task_name = k.task_name AND h.status = 'ready' AND h.time_end IS NOT NULL
       ORDER BY h.time_end DESC, h.id DESC LIMIT 1) b
     ORDER BY k.cluster_id, k.epoch, k.node_id NULLS FIRST, k.task_name
     ON CONFLICT ON CONSTRAINT cluster_state_key DO NOTHING`,
      params,
    );
  }
}
