import { Injectable } from '@nestjs/common';
import { Queryable, selectRows } from '../../common/database/sql';
import type { TaskStatus, RunStatus, TaskState } from '../task-state';
import type { RunState } from '../run-state';
import { ClusterStateRepository, StateEntry } from './cluster-state.repository';
import { assignmentsOf, Column, namesOf, runsOf, stateColumnsOf, unnestRows, valuesOf } from './columns';
import { HISTORY_CHANNEL, notifyPayloads } from './history-channel';
import { CLEAR_RUN_CACHES, HAS_RUN_CACHE } from './run-cache';
import { PlanCache, planKey, RunPlan } from './run-plans';

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

/** A task a new run plans (its row is stored at its first report, or as pending when materialized). */
export interface PendingRow {
  node_id: string | null;
  task_name: string;
  task_type: string | null;
}

/**
 * What a new run holds besides itself, written once it has its id: its plan (`pending`: each (node, task)
 * once, the rows' unique key, in graph order), and its per-node definitions, snapshots and nodes, each a JSON object
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
/** A reported row with what its run's plan says of it: its type and creation time (null: not planned). */
type PlannedRow = ReportedRow & { task_type: string | null; created_at: Date | null };
const REPORTED_COLUMNS: ReadonlyArray<Column<PlannedRow>> = [
  { name: 'transaction_id', type: 'int', value: (r) => r.transaction_id },
  { name: 'node_id', type: 'varchar', value: (r) => r.node_id },
  { name: 'task_name', type: 'varchar', value: (r) => r.task_name },
  { name: 'task_type', type: 'varchar', value: (r) => r.task_type },
  ...stateColumnsOf<PlannedRow>(),
];
const REPORTED_CREATED: Column<PlannedRow> = { name: 'created_at', type: 'timestamptz', value: (r) => r.created_at };
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
  /** The plans of runs this instance created or read (insertReported). */
  private readonly plans = new PlanCache();

  constructor(private readonly state: ClusterStateRepository) {}

  /**
   * Creates runs, then what they hold (plans, definitions, snapshots, nodes) by their ids: two statements.
   * A run whose uuid exists is skipped, and so is what it holds. Announced by the batch's commit.
   * Why not one statement matching each plan to its run by uuid, as until 2026-12-01: under the writer's
   * planner settings (no hash joins: HistoryRowsRepository.lookUpByIndexes) that match was a nested loop,
   * each list read again for every run of the batch (or the runs for every row): quadratic, and for a bus
   * batch of ~20 starts about half of what creating them cost PostgreSQL (issue #17). A round trip per
   * batch that starts runs costs less.
   * A run's tasks are not stored as pending rows but as its plan, one row (run_plans: migration RunPlans
   * says why); `rows` is still the count of the tasks planned, which every read sees as pending rows.
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
    const held: Record<'plans' | 'nodeDefinitions' | 'snapshots' | 'nodes', string[]> = {
      plans: [],
      nodeDefinitions: [],
      snapshots: [],
      nodes: [],
    };
    const planned: Array<{ id: number; pending: PendingRow[] }> = [];
    const created: Array<{ id: number; uuid: string; rows: number }> = [];
    c.runs.forEach((run, k) => {
      const r = byUuid.get(run.uuid);
      if (!r) return;
      const parts = c.parts[k];
      if (parts.pending.length) {
        planned.push({ id: r.id, pending: parts.pending });
        held.plans.push(
          `{"u":${r.id},"c":${r.cluster_id},"t":${JSON.stringify(parts.pending.map((p) => [p.node_id, p.task_name, p.task_type]))}}`,
        );
      }
      // Each part's object with its run's id first: `{"n": ...}` becomes `{"u": 12, "n": ...}` (`{}`: `{"u": 12}`).
      for (const kind of ['nodeDefinitions', 'snapshots', 'nodes'] as const) {
        for (const json of parts[kind]) held[kind].push(json === '{}' ? `{"u":${r.id}}` : `{"u":${r.id},${json.slice(1)}`);
      }
      created.push({ id: r.id, uuid: r.uuid, rows: parts.pending.length });
    });
    const writes: string[] = [];
    const more: unknown[] = [];
    const list = (jsons: string[]) => `$${more.push(`[${jsons.join(',')}]`)}`;
    if (held.plans.length) {
      writes.push(`plans AS (
        INSERT INTO run_plans (transaction_id, cluster_id, tasks)
        SELECT p.u, p.c, p.t FROM jsonb_to_recordset(${list(held.plans)}::jsonb) AS p(u int, c int, t jsonb))`);
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
    if (writes.length) {
      // The plans' creation time is the transaction's (run_plans.created_at's default, now()).
      const [{ now }] = await selectRows<{ now: Date }>(m, `WITH ${writes.join(',\n')}\nSELECT now() AS now`, more);
      // Kept once the statement succeeded; a transaction rolled back leaves a plan of an id never used again.
      for (const p of planned) {
        this.plans.set(p.id, { createdAt: now, types: new Map(p.pending.map((t) => [planKey(t.node_id, t.task_name), t.task_type])) });
      }
    }
    return created;
  }

  /**
   * Stores as pending rows, in graph order, the planned tasks of these runs (held by the caller) that have no
   * row yet, and drops their plans: from then on their rows are all stored, as they were before plans.
   * Announced by the caller's commit (the runs returned). For a run that ends (to close its rows out), a read
   * (PlansMaterialized), a deletion.
   */
  async materialize(m: Queryable, runIds: number[]): Promise<number[]> {
    if (!runIds.length) return [];
    const done = await selectRows<{ id: number }>(
      m,
      `WITH p AS (DELETE FROM run_plans WHERE transaction_id = ANY($1::int[]) RETURNING transaction_id, cluster_id, created_at, tasks),
       rows AS (
         INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, task_type, created_at)
         SELECT p.transaction_id, p.cluster_id, e.t ->> 0, e.t ->> 1, e.t ->> 2, p.created_at
         FROM p, jsonb_array_elements(p.tasks) WITH ORDINALITY AS e(t, n)
         ORDER BY p.transaction_id, e.n
         ON CONFLICT ON CONSTRAINT deployment_history_row_uq DO NOTHING)
       SELECT transaction_id AS id FROM p`,
      [runIds],
    );
    // Every planned task of these runs has its row now: their plans are not asked for again (insertReported).
    for (const id of runIds) this.plans.forget(id);
    return done.map((r) => r.id);
  }

  /**
   * Creates the rows of first reports: a task its run planned (with the plan's type and creation time, as
   * its pending row had), or one its run did not announce (recorded all the same). A row that exists is
   * skipped. Announced by the batch's commit.
   * The conflict is the row's key only: with no target, every unique index is probed before each insert,
   * the primary key's too, which a new id never meets.
   */
  async insertReported(
    m: Queryable,
    rows: ReportedRow[],
  ): Promise<Array<{ id: string; transaction_id: number; node_id: string | null; task_name: string; status: TaskStatus; time_end: Date }>> {
    const plans = await this.plansOf(m, [...new Set(rows.map((r) => r.transaction_id))]);
    const planned = rows.map((r): PlannedRow => {
      const plan = plans.get(r.transaction_id)!;
      const type = plan.types.get(planKey(r.node_id, r.task_name));
      // Literals of one shape, not spreads (~900 a batch).
      const { transaction_id, node_id, task_name, s } = r;
      if (type === undefined) return { transaction_id, node_id, task_name, s, task_type: null, created_at: null };
      return { transaction_id, node_id, task_name, s, task_type: type, created_at: plan.createdAt };
    });
    const params: unknown[] = [];
    return selectRows(
      m,
      `INSERT INTO deployment_history (${namesOf(REPORTED_COLUMNS)}, created_at, cluster_id)
       SELECT ${valuesOf('u', REPORTED_COLUMNS)}, coalesce(u.created_at, now()), t.cluster_id
       FROM ${unnestRows('u', [...REPORTED_COLUMNS, REPORTED_CREATED], planned, params)}
       JOIN transactions t ON t.id = u.transaction_id
       ON CONFLICT ON CONSTRAINT deployment_history_row_uq DO NOTHING RETURNING id, transaction_id, node_id, task_name, status, time_end`,
      params,
    );
  }

  /** The plans of these runs (an empty one for a run without), from memory or run_plans. */
  private async plansOf(m: Queryable, runIds: number[]): Promise<Map<number, RunPlan>> {
    const found = new Map<number, RunPlan>();
    const missing: number[] = [];
    for (const id of runIds) {
      const p = this.plans.get(id);
      if (p) found.set(id, p);
      else missing.push(id);
    }
    if (!missing.length) return found;
    const stored = await selectRows<{ id: number; created_at: Date; tasks: Array<[string | null, string, string | null]> }>(
      m,
      `SELECT transaction_id AS id, created_at, tasks FROM run_plans WHERE transaction_id = ANY($1::int[])`,
      [missing],
    );
    const byId = new Map(stored.map((p) => [p.id, p]));
    for (const id of missing) {
      const p = byId.get(id);
      const plan: RunPlan = p
        ? { createdAt: p.created_at, types: new Map(p.tasks.map(([node, task, type]) => [planKey(node, task), type])) }
        : { createdAt: new Date(0), types: new Map() };
      this.plans.set(id, plan);
      found.set(id, plan);
    }
    return found;
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
    // Their planned tasks stored first: a deletion counts every row of a run, pending ones too.
    await this.materialize(m, ids);
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
