import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { lockedRunsSql } from '../../common/database/lock-order';
import { selectOne, selectRows } from '../../common/database/sql';
import type { RunHistoryQueryDto } from '../dto/page-query.dto';
import type { FirstFailureDto } from '../dto/run-views.dto';
import { FINAL_RUN_SQL, isFinalRun, type RunStatus } from '../task-state';
import { ROW_SHAPE } from './history-rows.sql';

/** The SET list that forgets what was kept of a run (run-changes.ts applies it wherever a run's rows change). */
export const CLEAR_RUN_CACHES =
  'summary_cache = NULL, list_cache = NULL, list_cache_br = NULL, critical_path_cache = NULL, stats_cache = NULL';
/** True for a run that keeps something (a condition on `transactions`). */
export const HAS_RUN_CACHE =
  '(summary_cache IS NOT NULL OR list_cache IS NOT NULL OR list_cache_br IS NOT NULL OR critical_path_cache IS NOT NULL OR stats_cache IS NOT NULL)';

type ListParameters = Required<RunHistoryQueryDto>;

/** What a run's kept summary (SummaryDto's row part) says of its rows: counts per task status, first failure. */
export interface KeptCounts {
  statuses: Record<string, number>;
  first_failure: FirstFailureDto | null;
}

/**
 * Which whole-run lists may be kept, decided for each parameter of the list: only the default list
 * (what fuel2 and the page ask: definitions included, no filter, no summary) is kept; the light rows
 * are built each time. Every parameter must be named here (a new one does not compile until it is),
 * so that adding one with a default never changes silently which lists are kept.
 */
const KEPT_LIST: { [K in keyof ListParameters]: (v: RunHistoryQueryDto[K]) => boolean } = {
  include_definition: (v) => v !== false,
  include_summary: (v) => v !== true,
  nodes: (v) => v === undefined,
  statuses: (v) => v === undefined,
  tasks_names: (v) => v === undefined,
  limit: (v) => v === undefined,
  cursor: (v) => v === undefined,
  order: (v) => v === undefined,
};

/** True when the list asked with `q` is the one a finished run keeps (KEPT_LIST); a parameter it does not name is never kept. */
export function isKeptList(q: RunHistoryQueryDto): boolean {
  const rules = KEPT_LIST as Record<string, (v: unknown) => boolean>;
  return Object.entries(q).every(([k, v]) => (rules[k] ? rules[k](v) : v === undefined));
}

/** What is kept in a run's own row. */
export type RunCacheColumn = 'summary_cache' | 'list_cache' | 'critical_path_cache';
/** The kept answers stored as JSON values (the list is kept encoded: KeptList, with its shape). */
export type KeptJsonColumn = Exclude<RunCacheColumn, 'list_cache'>;

/** How a whole list is kept: its JSON text compressed both ways, sent as kept to a client that takes either. */
export interface KeptList {
  gzip: Buffer;
  br: Buffer;
}
export type KeptEncoding = keyof KeptList;
const LIST_COLUMN: Record<KeptEncoding, string> = { gzip: 'list_cache', br: 'list_cache_br' };

/**
 * What a read built from all of a finished run's rows, kept in the run's own row (`summary_cache`,
 * `list_cache`, `critical_path_cache`): read here, kept here, forgotten by the one function that changes a run's rows
 * (run-changes.ts, with CLEAR_RUN_CACHES).
 */
@Injectable()
export class RunCache {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * The run's status and its kept list in `encoding` (null when none is kept, or one in another row shape:
   * built afresh, then replaced); undefined: no such run.
   */
  list(transactionId: number, encoding: KeptEncoding = 'gzip'): Promise<{ status: RunStatus; list_cache: Buffer | null } | undefined> {
    // A list kept in another row shape (by a version before this one) is not served, only replaced.
    return selectOne(
      this.db,
      `SELECT status, CASE WHEN list_cache_shape = $2 THEN ${LIST_COLUMN[encoding]} END AS list_cache FROM transactions WHERE id = $1`,
      [transactionId, ROW_SHAPE],
    );
  }

  /** The run's kept summary, or null. */
  summary<T>(transactionId: number): Promise<T | null> {
    return this.kept<T>(transactionId, 'summary_cache');
  }

  /**
   * What the kept summaries of these runs say of their rows (their counts per task status and their first
   * failure), for those that keep one (finished runs whose summary was read), in one statement.
   */
  async keptCounts(ids: readonly number[]): Promise<Map<number, KeptCounts>> {
    if (!ids.length) return new Map();
    const rows = await selectRows<{ id: number } & KeptCounts>(
      this.db,
      `SELECT id, summary_cache -> 'statuses' AS statuses, summary_cache -> 'first_failure' AS first_failure
       FROM transactions WHERE id = ANY($1::int[]) AND summary_cache IS NOT NULL`,
      [ids],
    );
    return new Map(rows.map(({ id, ...kept }) => [id, kept]));
  }

  /** The run's kept answer in `column`, or null. */
  async kept<T>(transactionId: number, column: KeptJsonColumn): Promise<T | null> {
    const kept = await selectOne<{ kept: T | null }>(this.db, `SELECT ${column} AS kept FROM transactions WHERE id = $1`, [transactionId]);
    return kept?.kept ?? null;
  }

  /**
   * Keeps what a read built from all of a finished run's rows in the run's own row; the writer clears
   * them whenever it writes the run's rows again (a late report). Built without holding the run, it is
   * kept only if no row of the run changed since (every write of a row gives it a higher row_version
   * than any before), checked under the run's row lock, which every writer of the run's rows takes
   * first: no write can fall between the check and the store.
   */
  /**
   * keepIfUnchanged for many runs at once (a cluster's task statistics keep 500 runs' compacted rows on
   * their first read): the runs are locked in id order (lock-order.ts step 2) but those a writer holds
   * are skipped (SKIP LOCKED: their rows are changing, and a read never waits for a writer), then each is
   * kept only if its rows' highest version is still the one it was built from. Only finished runs.
   */
  async keepManyIfUnchanged(
    column: 'stats_cache',
    entries: ReadonlyArray<{ id: number; value: string; version: string | null }>,
  ): Promise<void> {
    if (!entries.length) return;
    await this.db.transaction(async (m) => {
      const params = [entries.map((e) => e.id), entries.map((e) => e.value), entries.map((e) => e.version)];
      const held = await selectRows<{ id: number }>(
        m,
        `${lockedRunsSql('id', `id = ANY($1::int[]) AND status IN ${FINAL_RUN_SQL}`)} SKIP LOCKED`,
        [params[0]],
      );
      if (!held.length) return;
      // A new statement, so a new snapshot: it sees every row written before the locks were taken.
      await m.query(
        `UPDATE transactions t SET ${column} = e.value
         FROM unnest($1::int[], $2::text[], $3::text[]) AS e(id, value, version)
         WHERE t.id = e.id AND t.id = ANY($4::int[])
           AND e.version IS NOT DISTINCT FROM (SELECT max(row_version)::text FROM deployment_history h WHERE h.transaction_id = e.id)`,
        [...params, held.map((r) => r.id)],
      );
    });
  }

  /** `value`: the kept JSON; for `list_cache`, the list encoded both ways. */
  async keepIfUnchanged(transactionId: number, column: 'list_cache', value: KeptList, version: string | null): Promise<void>;
  async keepIfUnchanged(transactionId: number, column: KeptJsonColumn, value: string, version: string | null): Promise<void>;
  async keepIfUnchanged(transactionId: number, column: RunCacheColumn, value: string | KeptList, version: string | null): Promise<void> {
    await this.db.transaction(async (m) => {
      const run = await selectOne<{ status: RunStatus }>(m, `SELECT status FROM transactions WHERE id = $1 FOR UPDATE`, [transactionId]);
      const now = await selectOne<{ v: string | null }>(
        m,
        `SELECT max(row_version)::text AS v FROM deployment_history WHERE transaction_id = $1`,
        [transactionId],
      );
      if (!run || !isFinalRun(run.status) || now?.v !== version) return;
      if (typeof value === 'string') await m.query(`UPDATE transactions SET ${column} = $2 WHERE id = $1`, [transactionId, value]);
      else
        await m.query(`UPDATE transactions SET list_cache = $2, list_cache_br = $3, list_cache_shape = $4 WHERE id = $1`, [
          transactionId,
          value.gzip,
          value.br,
          ROW_SHAPE,
        ]);
    });
  }
}
