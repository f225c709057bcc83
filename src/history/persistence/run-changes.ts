import { Injectable } from '@nestjs/common';
import { Queryable, selectRows } from '../../common/database/sql';
import type { TaskStatus, RunStatus, TaskState } from '../task-state';
import type { RunState } from '../run-state';
import { ClusterStateRepository, StateEntry } from './cluster-state.repository';
import { assignmentsOf, Column, namesOf, runsOf, stateColumnsOf, unnestRows, valuesOf } from './columns';
import { HISTORY_CHANNEL, notifyPayloads } from './history-channel';
import { CLEAR_RUN_CACHES, HAS_RUN_CACHE } from './run-cache';

/** A run a start creates. `tasks_snapshot`: JSON text of the graph definition per task name. */
export interface NewRun {
  uuid: string;
  cluster_id: number;
  name: string;
  graph_type: string;
  dry_run: boolean;
  history_recorded: boolean;
  tasks_snapshot: string;
  time: Date;
  release: string;
  announced_release: string | null;
}

/** A pending row of a new run. */
export interface PendingRow {
  node_id: string | null;
  task_name: string;
  task_type: string | null;
}

/**
 * What a new run holds besides itself, written once it has its id: its pending rows (each (node, task)
 * once: the rows' unique key), and its per-node definitions, snapshots and nodes, each a JSON object
 * without the run (`{"n": node, "t": task, "d": definition}`, `{"k": kind, "n": node uid, "d": data}`,
 * `{"n": node uid, "r": roles, "h": host name}`).
 */
export interface NewRunParts {
  pending: PendingRow[];
  nodeDefinitions: string[];
  snapshots: string[];
  nodes: string[];
}

/** New runs, and what each holds (`parts[k]` is `runs[k]`'s). */
export interface RunCreation {
  runs: NewRun[];
  parts: NewRunParts[];
}

/** A row a report created (a (node, task) its run did not announce), with its state. */
export interface ReportedRow {
  transaction_id: number;
  node_id: string | null;
  task_name: string;
  s: TaskState;
}

/**
 * What changes in runs' rows, written in one statement (data-modifying WITH clauses on different tables,
 * as a batch's cost is mostly its round trips): rows' states, cluster state entries, runs' states; and
 * the runs `changed` (announced on HISTORY_CHANNEL, their kept summary and list forgotten).
 */
/**
 * A history row's new state. Its run is carried with its id: the table is partitioned by run
 * (PartitionedHistory migration), and only a lookup that names the run is pruned to its partition;
 * by id alone the update would probe every partition's key (measured: 2.8x slower at 13 partitions).
 */
export interface RowChange {
  id: string;
  transaction_id: number;
  s: TaskState;
}

export interface RunChange {
  rows?: RowChange[];
  state?: StateEntry[];
  runs?: Array<{ id: number; s: RunState }>;
  changed: number[];
}

/** A run as it was deleted. */
export interface RemovedRun {
  id: number;
  uuid: string;
  cluster_id: number;
  name: string;
  status: RunStatus;
  time_end: Date | null;
  /** Its task rows, deleted with it. */
  rows: number;
}

const RUN_COLUMNS: ReadonlyArray<Column<NewRun>> = [
  { name: 'uuid', type: 'varchar', value: (r) => r.uuid },
  { name: 'cluster_id', type: 'int', value: (r) => r.cluster_id },
  { name: 'name', type: 'text', value: (r) => r.name },
  { name: 'graph_type', type: 'text', value: (r) => r.graph_type },
  { name: 'dry_run', type: 'bool', value: (r) => r.dry_run },
  { name: 'history_recorded', type: 'bool', value: (r) => r.history_recorded },
  { name: 'tasks_snapshot', type: 'jsonb', value: (r) => r.tasks_snapshot },
  { name: 'status_time', type: 'timestamptz', value: (r) => r.time },
  { name: 'time_start', type: 'timestamptz', value: (r) => r.time },
  { name: 'release', type: 'text', value: (r) => r.release },
  { name: 'announced_release', type: 'text', value: (r) => r.announced_release },
];
/** A pending row with its run, as written. */
type NewRow = PendingRow & { transaction_id: number; cluster_id: number };
const PENDING_COLUMNS: ReadonlyArray<Column<NewRow>> = [
  { name: 'transaction_id', type: 'int', value: (r) => r.transaction_id },
  { name: 'cluster_id', type: 'int', value: (r) => r.cluster_id },
  { name: 'node_id', type: 'varchar', value: (r) => r.node_id },
  { name: 'task_name', type: 'varchar', value: (r) => r.task_name },
  { name: 'task_type', type: 'varchar', value: (r) => r.task_type },
];
const REPORTED_COLUMNS: ReadonlyArray<Column<ReportedRow>> = [
  { name: 'transaction_id', type: 'int', value: (r) => r.transaction_id },
  { name: 'node_id', type: 'varchar', value: (r) => r.node_id },
  { name: 'task_name', type: 'varchar', value: (r) => r.task_name },
  ...stateColumnsOf<ReportedRow>(),
];
const ROW_STATE_COLUMNS: ReadonlyArray<Column<RowChange>> = [
  { name: 'id', type: 'bigint', value: (r) => r.id },
  { name: 'transaction_id', type: 'int', value: (r) => r.transaction_id },
  ...stateColumnsOf<RowChange>(),
];
const RUN_STATE_COLUMNS: ReadonlyArray<Column<{ id: number; s: RunState }>> = [
  { name: 'id', type: 'int', value: (r) => r.id },
  { name: 'status', type: 'text', value: (r) => r.s.status, cast: '::transaction_status' },
  { name: 'progress', type: 'smallint', value: (r) => r.s.progress },
  { name: 'message', type: 'text', value: (r) => r.s.message },
  { name: 'status_time', type: 'timestamptz', value: (r) => r.s.statusTime },
  { name: 'time_end', type: 'timestamptz', value: (r) => r.s.timeEnd },
];

/**
 * THE INVARIANT OF A RUN'S ROWS: whoever changes them holds the run (lock-order.ts), gives each row it
 * writes a higher row_version than any before (what the live view and RunCache compare), forgets the
 * run's kept summary and list (RunCache), and announces the run on HISTORY_CHANNEL (live views on every
 * instance). Every statement that writes deployment_history or deletes a run is here, and every change
 * ends in `commit`, which keeps the invariant; test/medium/writer-statements.spec.ts checks that no other
 * file writes them, test/medium/writer-invariant.spec.ts that every writing path keeps it.
 */
@Injectable()
export class RunChanges {
  constructor(private readonly state: ClusterStateRepository) {}

  /**
   * Creates runs, then what they hold (pending rows, definitions, snapshots, nodes) by their ids: two
   * statements. A run whose uuid exists is skipped, and so is what it holds. Announced by the batch's commit.
   * Why not one statement matching each pending row to its run by uuid, as until 2026-12-01: under the
   * writer's planner settings (no hash joins: HistoryRowsRepository.lookUpByIndexes) that match was a nested
   * loop, each list read again for every run of the batch (or the runs for every row): quadratic, and for a
   * bus batch of ~20 starts about half of what creating them cost PostgreSQL (issue #17). A round trip per
   * batch that starts runs costs less. The pending rows need no ON CONFLICT: their runs are new to this
   * transaction (no one else can have rows of them), and each (node, task) comes once (NewRunParts).
   */
  async create(m: Queryable, c: RunCreation): Promise<Array<{ id: number; uuid: string; rows: number }>> {
    const params: unknown[] = [];
    const made = await selectRows<{ id: number; uuid: string; cluster_id: number }>(
      m,
      `INSERT INTO transactions (${namesOf(RUN_COLUMNS)}, status, progress, epoch)
       SELECT ${valuesOf('u', RUN_COLUMNS)}, 'running', 0, c.epoch
       FROM ${unnestRows('u', RUN_COLUMNS, c.runs, params, 'n')}
       JOIN clusters c ON c.id = u.cluster_id
       ORDER BY u.n
       ON CONFLICT (uuid) DO NOTHING RETURNING id, uuid, cluster_id`,
      params,
    );
    const byUuid = new Map(made.map((r) => [r.uuid, r]));
    const rows: NewRow[] = [];
    const held: Record<'nodeDefinitions' | 'snapshots' | 'nodes', string[]> = { nodeDefinitions: [], snapshots: [], nodes: [] };
    const created: Array<{ id: number; uuid: string; rows: number }> = [];
    c.runs.forEach((run, k) => {
      const r = byUuid.get(run.uuid);
      if (!r) return;
      const parts = c.parts[k];
      for (const p of parts.pending) rows.push({ transaction_id: r.id, cluster_id: r.cluster_id, ...p });
      // Each part's object with its run's id first: `{"n": ...}` becomes `{"u": 12, "n": ...}` (`{}`: `{"u": 12}`).
      for (const kind of ['nodeDefinitions', 'snapshots', 'nodes'] as const) {
        for (const json of parts[kind]) held[kind].push(json === '{}' ? `{"u":${r.id}}` : `{"u":${r.id},${json.slice(1)}`);
      }
      created.push({ id: r.id, uuid: r.uuid, rows: parts.pending.length });
    });
    const writes: string[] = [];
    const more: unknown[] = [];
    const list = (jsons: string[]) => `$${more.push(`[${jsons.join(',')}]`)}`;
    if (rows.length) {
      writes.push(`pending AS (
        INSERT INTO deployment_history (${namesOf(PENDING_COLUMNS)})
        SELECT ${valuesOf('k', PENDING_COLUMNS)} FROM ${unnestRows('k', PENDING_COLUMNS, rows, more, 'n')} ORDER BY k.n)`);
    }
    // Per-node definitions parsed once as jsonb (~20 % faster than json with jsonb fields); the snapshots
    // kept as json, their text as sent. JSON lists rather than arrays of text: their texts go as they are,
    // where an array's elements would have every quote of them escaped (a large deployment info).
    if (held.nodeDefinitions.length) {
      writes.push(`definitions AS (
        INSERT INTO node_task_definitions (transaction_id, node_id, task_name, definition)
        SELECT d.u, d.n, d.t, d.d FROM jsonb_to_recordset(${list(held.nodeDefinitions)}::jsonb) AS d(u int, n text, t text, d jsonb)
        ON CONFLICT DO NOTHING)`);
    }
    if (held.snapshots.length) {
      writes.push(`snapshots AS (
        INSERT INTO run_snapshots (transaction_id, kind, node_uid, data)
        SELECT s.u, s.k, s.n, s.d FROM json_to_recordset(${list(held.snapshots)}::json) AS s(u int, k text, n text, d json)
        ON CONFLICT DO NOTHING)`);
    }
    if (held.nodes.length) {
      writes.push(`nodes AS (
        INSERT INTO run_nodes (transaction_id, node_id, roles, hostname)
        SELECT n.u, n.n, ARRAY(SELECT jsonb_array_elements_text(n.r)), n.h
        FROM jsonb_to_recordset(${list(held.nodes)}::jsonb) AS n(u int, n text, r jsonb, h text)
        ON CONFLICT DO NOTHING)`);
    }
    if (writes.length) await m.query(`WITH ${writes.join(',\n')}\nSELECT 1`, more);
    return created;
  }

  /**
   * Creates rows reports named that their runs did not announce (a row that exists is skipped). Announced by the batch's commit.
   * The conflict is the row's key only: with no target, every unique index is probed before each insert,
   * the primary key's too, which a new id never meets.
   */
  insertReported(
    m: Queryable,
    rows: ReportedRow[],
  ): Promise<Array<{ id: string; transaction_id: number; node_id: string | null; task_name: string; status: TaskStatus; time_end: Date }>> {
    const params: unknown[] = [];
    return selectRows(
      m,
      `INSERT INTO deployment_history (${namesOf(REPORTED_COLUMNS)}, cluster_id)
       SELECT ${valuesOf('u', REPORTED_COLUMNS)}, t.cluster_id
       FROM ${unnestRows('u', REPORTED_COLUMNS, rows, params)}
       JOIN transactions t ON t.id = u.transaction_id
       ON CONFLICT ON CONSTRAINT deployment_history_row_uq DO NOTHING RETURNING id, transaction_id, node_id, task_name, status, time_end`,
      params,
    );
  }

  /**
   * THE function every change of runs' rows ends in: writes what `c` holds in one statement, each row
   * written with a new row_version, and for the runs `changed` forgets their kept summary and list and
   * announces them (at commit). Runs whose state is written here have their caches cleared in the same
   * update (a row is changed once per statement).
   */
  async commit(m: Queryable, c: RunChange): Promise<void> {
    const parts: string[] = [];
    const params: unknown[] = [];
    if (c.rows?.length) {
      parts.push(`history AS (
        UPDATE deployment_history h
        SET ${assignmentsOf('u', ROW_STATE_COLUMNS.slice(2))}, row_version = nextval('deployment_history_version_seq')
        FROM ${unnestRows('u', ROW_STATE_COLUMNS, c.rows, params)}
        WHERE h.id = u.id AND h.transaction_id = u.transaction_id AND ${runsOf(
          'h',
          c.rows.map((r) => r.transaction_id),
          params,
        )}
        RETURNING 1)`);
    }
    if (c.state?.length) parts.push(this.state.upsertPart(c.state, params));
    const runs = c.runs ?? [];
    if (runs.length) {
      parts.push(`runs AS (
        UPDATE transactions t SET ${assignmentsOf('u', RUN_STATE_COLUMNS.slice(1))}, ${CLEAR_RUN_CACHES}
        FROM ${unnestRows('u', RUN_STATE_COLUMNS, runs, params)}
        WHERE t.id = u.id RETURNING 1)`);
    }
    let select = 'SELECT 1';
    if (c.changed.length) {
      // A finished run's kept summary and list (RunCache) no longer hold once its rows change.
      parts.push(`stale AS (
        UPDATE transactions SET ${CLEAR_RUN_CACHES}
        WHERE id = ANY($${params.push(c.changed)}::int[]) AND ${HAS_RUN_CACHE}
          AND NOT (id = ANY($${params.push(runs.map((r) => r.id))}::int[]))
        RETURNING 1)`);
      select = `SELECT pg_notify('${HISTORY_CHANNEL}', c) FROM unnest($${params.push(notifyPayloads(c.changed))}::text[]) AS c`;
    }
    if (!parts.length) return;
    await m.query(`WITH ${parts.join(',\n')}\n${select}`, params);
  }

  /**
   * Deletes the runs (held by the caller) with their rows, hands their cluster state entries back, and
   * announces them, and the runs that named them as parent (their parent_id goes), as changed.
   */
  async remove(m: Queryable, ids: number[]): Promise<RemovedRun[]> {
    if (!ids.length) return [];
    // The entries these runs hold, emptied first so that they can be filled again from the rows that remain.
    const keys = await this.state.removeOfRuns(m, ids);
    // A child's parent_id is set to NULL by the foreign key; a parent is always older (it existed when the
    // child started), so these are runs of later ids, of the same cluster in practice (held exclusively).
    const children = await selectRows<{ id: number }>(
      m,
      `SELECT id FROM transactions WHERE parent_id = ANY($1::int[]) AND NOT id = ANY($1::int[])`,
      [ids],
    );
    const removed = await selectRows<RemovedRun>(
      m,
      `WITH counted AS (
       SELECT d.id, (SELECT count(*)::int FROM deployment_history h WHERE h.transaction_id = d.id) AS rows
       FROM unnest($1::int[]) AS d(id)),
     -- The runs' rows go with them: no foreign key cascades to them (HistoryWithoutRunForeignKey migration).
     rows AS (DELETE FROM deployment_history h WHERE h.transaction_id = ANY($1::int[])),
     gone AS (
       DELETE FROM transactions t USING counted c WHERE t.id = c.id
       RETURNING t.id, t.uuid, t.cluster_id, t.name, t.status, t.time_end, c.rows)
     SELECT * FROM gone ORDER BY id`,
      [ids],
    );
    await this.state.handBack(m, keys);
    await this.commit(m, { changed: [...removed.map((r) => r.id), ...children.map((c) => c.id)] });
    return removed;
  }
}
