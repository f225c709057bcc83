import { arrayParam } from '../../common/database/array-param';
import type { TaskState } from '../task-state';

/**
 * One column of a multi-row statement (unnest of one array per column): its name (the table's column
 * where it is written), its PostgreSQL type, how a row gives its value, and the cast its value takes
 * where it is written (an enum column). The arrays and the column list of a statement both come from
 * one list of these, so they cannot fall out of step.
 */
export interface Column<T> {
  name: string;
  type: string;
  value: (row: T) => unknown;
  cast?: string;
}

/**
 * `unnest($1::int[], $2::text[], ...) AS alias(a, b, ...)` over `rows`, one array parameter per column
 * appended to `params` (in PostgreSQL's binary array format where it can be: arrayParam says why); with
 * `ordinality`, that name is the rows' position (1, 2, ...).
 */
export function unnestRows<T>(
  alias: string,
  columns: readonly Column<T>[],
  rows: readonly T[],
  params: unknown[],
  ordinality?: string,
): string {
  const arrays = columns.map((c) => `$${params.push(arrayParam(rows.map(c.value), c.type))}::${c.type}[]`).join(', ');
  const names = [...columns.map((c) => c.name), ...(ordinality ? [ordinality] : [])].join(', ');
  return `unnest(${arrays})${ordinality ? ' WITH ORDINALITY' : ''} AS ${alias}(${names})`;
}

/** Past this many keys a statement is not given `runsOf`'s condition (see there). */
export const RUNS_OF_MAX_KEYS = 64;

/**
 * `(alias.transaction_id = $a OR alias.transaction_id = $b ...)` for a statement that joins deployment_history
 * on the keys of a few rows (`runs`: each key's run): the condition that lets the planner leave out, when it
 * plans, every partition that holds none of these runs (a parameter's value is known when an unnamed
 * statement is planned for it; a small batch's prepared statements, planned once, leave those partitions
 * out by the same equalities as they start: HistoryWriter.apply). Without it such a statement is planned against every partition and pruned only as
 * it runs: at 14 partitions, looking up 8 rows cost 3.2 ms against 0.7 with it (pgbench, one client), most
 * of what a batch of a few casts cost PostgreSQL (issue #17).
 * Equalities joined by OR, which the planner prunes by but does not take as an index condition: as
 * `= ANY(<runs>)` it added the list to each key's index condition (16 times slower per lookup), and a range
 * of ids past its statistics' last one it estimates as empty and then reads whole. Only for a few keys
 * (RUNS_OF_MAX_KEYS; TRUE otherwise): there planning is what costs, and on a fresh table's statistics a
 * batch of hundreds of keys was then planned as a read of its runs' rows, each compared with every key
 * (88 ms instead of ~2 per lookup statement in a 63-run benchmark).
 */
export function runsOf(alias: string, runs: readonly number[], params: unknown[]): string {
  if (!runs.length || runs.length > RUNS_OF_MAX_KEYS) return 'TRUE';
  const ids = [...new Set(runs)];
  // As many equalities as the next power of two (the last run again): a small batch's statements are
  // prepared by their text (HistoryWriter.apply), and 1, 2, 4 ... 64 terms make 7 texts where 64 would.
  while (ids.length & (ids.length - 1)) ids.push(ids[ids.length - 1]);
  return `(${ids.map((id) => `${alias}.transaction_id = $${params.push(id)}::int`).join(' OR ')})`;
}

/** The columns' names, comma-separated: the column list of an INSERT. */
export const namesOf = <T>(columns: readonly Column<T>[]): string => columns.map((c) => c.name).join(', ');

/** The columns' values as read from `alias` (unnestRows' alias), each with its cast: the select list of an INSERT. */
export const valuesOf = <T>(alias: string, columns: readonly Column<T>[]): string =>
  columns.map((c) => `${alias}.${c.name}${c.cast ?? ''}`).join(', ');

/** `name = alias.name` for each column: the SET list of an UPDATE from unnestRows. */
export const assignmentsOf = <T>(alias: string, columns: readonly Column<T>[]): string =>
  columns.map((c) => `${c.name} = ${alias}.${c.name}${c.cast ?? ''}`).join(', ');

/** A history row's state (the task state machine's) as the columns of deployment_history. */
export const TASK_STATE_COLUMNS: ReadonlyArray<Column<TaskState>> = [
  { name: 'status', type: 'text', value: (s) => s.status, cast: '::history_status' },
  { name: 'time_start', type: 'timestamptz', value: (s) => s.timeStart },
  { name: 'time_end', type: 'timestamptz', value: (s) => s.timeEnd },
  { name: 'error_message', type: 'text', value: (s) => s.errorMessage },
  { name: 'closed_reason', type: 'text', value: (s) => s.closedReason },
  { name: 'summary', type: 'jsonb', value: (s) => (s.summary === null ? null : JSON.stringify(s.summary)) },
  { name: 'custom', type: 'jsonb', value: (s) => JSON.stringify(s.custom) },
];

/** The same columns over a row that carries its state in `s`. */
export function stateColumnsOf<T extends { s: TaskState }>(): Array<Column<T>> {
  return TASK_STATE_COLUMNS.map((c) => ({ ...c, value: (r: T) => c.value(r.s) }));
}
