import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { readThroughIndexes } from '../../common/database/planner';
import { selectRows } from '../../common/database/sql';
import { taskKey } from '../task-graph';
import type { TaskNodeRows } from './insights.repository';
import { RunCache } from './run-cache';

/** One counted row of a run as kept: task, node, duration in ms (null: none), error, failure time in ms. */
type KeptRow = [string, string | null, number | null, boolean, number | null];

/**
 * A finished run's counted rows, compacted into its own row (`transactions.stats_cache`, a JSON text of
 * KeptRow) the first time a cluster's task statistics read it, and read from there afterwards: a cluster's
 * ~500 runs are then 500 short texts rather than ~50,000 rows scattered over the history table. Kept
 * like a summary (RunCache: only if no row changed since it was built; RunChanges.commit forgets it when
 * a late report changes the run's rows). Which rows count, and each one's duration, are the SQL of
 * `countedRowsSql` (insights.repository.ts), the same as for the rows read directly.
 */
@Injectable()
export class RunStatsCache {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cache: RunCache,
  ) {}

  /** The counted rows of the finished runs `ids`, grouped per (task, node), as InsightsRepository reads them directly. */
  async rowsOf(ids: readonly number[], counted: { condition: string; durationMs: string; failedTimeMs: string }): Promise<TaskNodeRows[]> {
    const kept = await selectRows<{ id: number; stats_cache: string | null }>(
      this.db,
      `SELECT id, stats_cache FROM transactions WHERE id = ANY($1::int[])`,
      [ids],
    );
    const missing = kept.filter((k) => k.stats_cache === null).map((k) => k.id);
    const built = missing.length ? await this.build(missing, counted) : [];
    await this.cache.keepManyIfUnchanged('stats_cache', built);
    const texts = new Map<number, string>([...built.map((b) => [b.id, b.value] as const)]);
    for (const k of kept) if (k.stats_cache !== null) texts.set(k.id, k.stats_cache);
    return group(ids, texts);
  }

  /** The kept texts of the runs `ids`, with the version of their rows they were built from. */
  private async build(
    ids: number[],
    counted: { condition: string; durationMs: string; failedTimeMs: string },
  ): Promise<Array<{ id: number; value: string; version: string | null }>> {
    // Through the partitions' indexes (planner.ts: the runs are a small share of each partition's).
    const rows = await readThroughIndexes(this.db, (m) =>
      selectRows<{ id: number; value: string; version: string | null }>(
        m,
        `SELECT h.transaction_id AS id, max(h.row_version)::text AS version,
              coalesce(json_agg(json_build_array(h.task_name, h.node_id, ${counted.durationMs}, h.status = 'error',
                                                 CASE WHEN h.status = 'error' THEN ${counted.failedTimeMs} END))
                         FILTER (WHERE ${counted.condition}), '[]')::text AS value
       FROM deployment_history h WHERE h.transaction_id = ANY($1::int[]) GROUP BY h.transaction_id`,
        [ids],
      ),
    );
    const found = new Set(rows.map((r) => r.id));
    // A run without a single row keeps an empty list (and is kept only while it still has none).
    return [...rows, ...ids.filter((id) => !found.has(id)).map((id) => ({ id, value: '[]', version: null }))];
  }
}

/** The kept rows of the runs, in the runs' order, grouped per (task, node) as parallel lists. */
function group(ids: readonly number[], texts: ReadonlyMap<number, string>): TaskNodeRows[] {
  const groups = new Map<string, TaskNodeRows>();
  for (const run of ids) {
    const text = texts.get(run);
    if (text === undefined) continue;
    for (const [task_name, node_id, ms, error, failedAt] of JSON.parse(text) as KeptRow[]) {
      const key = taskKey(node_id, task_name);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { task_name, node_id, runs: [], durations: [], failed_runs: [], failed_times: [] }));
      g.runs.push(run);
      g.durations.push(ms === null ? null : ms / 1000);
      if (error) {
        g.failed_runs.push(run);
        g.failed_times.push(failedAt);
      }
    }
  }
  return [...groups.values()];
}
