import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { selectOne, selectRows } from '../../common/database/sql';
import type { PathRow } from '../critical-path';
import type { TaskState } from '../task-state';
import { taskKey, type TaskDefinition, type TasksGraph } from '../task-graph';

/** A run's rows as the critical path reads them, its tasks_graph, and its highest row version when read. */
export interface RunGraph {
  rows: PathRow[];
  graph: TasksGraph;
  /** max(row_version) of the run's rows, read before them (RunCache.keepIfUnchanged). */
  version: string | null;
}

/** The dependency fields of a definition, the only ones task-graph.ts reads. */
const DEPENDENCY_FIELDS = ['requires', 'required_for', 'cross_depends', 'cross_depended_by'] as const;
type Dependencies = Pick<TaskDefinition, (typeof DEPENDENCY_FIELDS)[number]>;

/*
 * Only the fields buildTaskGraph reads are read, picked in the database: a definition carries its
 * parameters too (15 MB for a 30,000-row run whose nodes each have their own); its relations are a small
 * part of it. An absent field is JSON null (read as "none"); nested nulls (`"node_id": null`) stay.
 */
const dependenciesOf = (def: string): string =>
  `jsonb_build_object(${DEPENDENCY_FIELDS.map((f) => `'${f}', ${def} -> '${f}'`).join(', ')})`;

interface HeadRow {
  version: string | null;
  shared: Record<string, Dependencies> | null;
}

interface GraphRow {
  node_id: string | null;
  task_name: string;
  status: TaskState['status'];
  /** Epoch milliseconds (as pg's own Date parsing, microseconds dropped): a number costs less to read than a timestamp text. */
  start_ms: number | null;
  end_ms: number | null;
}

const epochMs = (column: string): string => `floor(extract(epoch FROM ${column}) * 1000)::float8`;

/**
 * A node's own definition as one JSON array `[node_id, task_name, ...DEPENDENCY_FIELDS]`, all of them in
 * one JSON text: at 30,000 definitions, about a quarter faster to read than rows of objects (measured).
 */
type OwnEntry = [string | null, string, ...Array<Dependencies[keyof Dependencies]>];

/**
 * A run's task graph as its start sent it, rebuilt from what the store keeps (no wire needed): its
 * (node, task) pairs are its rows; each one's definition is its node's own (node_task_definitions) if it
 * has one, else the one most nodes share (transactions.tasks_snapshot), else none (a task the run did not
 * announce: no dependencies).
 */
@Injectable()
export class RunGraphRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async load(transactionId: number): Promise<RunGraph> {
    // The version first, then the rows: a row written in between makes the rows newer than the version
    // (then not kept), never older. The per-node definitions are written with the run and never change.
    const head = await selectOne<HeadRow>(
      this.db,
      `SELECT (SELECT max(row_version)::text FROM deployment_history WHERE transaction_id = $1) AS version,
              (SELECT jsonb_object_agg(d.key, ${dependenciesOf('d.value')})
               FROM transactions x, jsonb_each(x.tasks_snapshot) d WHERE x.id = $1) AS shared`,
      [transactionId],
    );
    const [rows, own] = await Promise.all([
      selectRows<GraphRow>(
        this.db,
        `SELECT node_id, task_name, status, ${epochMs('time_start')} AS start_ms, ${epochMs('time_end')} AS end_ms
         FROM deployment_history WHERE transaction_id = $1 ORDER BY id`,
        [transactionId],
      ),
      selectOne<{ own: string }>(
        this.db,
        `SELECT coalesce(json_agg(json_build_array(node_id, task_name, ${DEPENDENCY_FIELDS.map((f) => `definition -> '${f}'`).join(', ')})), '[]')::text AS own
         FROM node_task_definitions WHERE transaction_id = $1`,
        [transactionId],
      ),
    ]);
    const ownEntries = JSON.parse(own!.own) as OwnEntry[];
    return { ...assemble(rows, ownEntries, head?.shared ?? {}), version: head?.version ?? null };
  }
}

/** The rows as PathRow and the graph: per node key (`"null"` for the cluster-level tasks), each row's task with its definition. */
function assemble(rows: GraphRow[], own: OwnEntry[], shared: Record<string, Dependencies>): Omit<RunGraph, 'version'> {
  const ownByKey = new Map<string, Dependencies>();
  for (const [node, task, ...fields] of own) {
    ownByKey.set(taskKey(node, task), Object.fromEntries(DEPENDENCY_FIELDS.map((f, i) => [f, fields[i]])));
  }
  const graph: Record<string, TaskDefinition[]> = {};
  const pathRows = rows.map((r): PathRow => {
    // Own properties only: a task named like an Object method (`constructor`) must not find one.
    const deps = ownByKey.get(taskKey(r.node_id, r.task_name)) ?? (Object.hasOwn(shared, r.task_name) ? shared[r.task_name] : undefined);
    (graph[r.node_id ?? 'null'] ??= []).push({ id: r.task_name, ...deps });
    const timeStart = r.start_ms === null ? null : new Date(r.start_ms);
    return { node: r.node_id, task: r.task_name, status: r.status, timeStart, timeEnd: r.end_ms === null ? null : new Date(r.end_ms) };
  });
  return { rows: pathRows, graph };
}
