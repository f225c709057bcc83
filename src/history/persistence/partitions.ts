import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../common/config/app-config';
import { lockRuns } from '../../common/database/lock-order';
import { clientQueryable, Queryable, selectOne, selectRows } from '../../common/database/sql';
import { errorMessage } from '../../common/errors/error-message';
import { doublingMs } from '../../common/runtime/backoff';
import type { RunStatus } from '../task-state';

/** The partition that takes the rows of a run whose range has no partition (yet): an insert never fails for want of one. */
export const DEFAULT_PARTITION = 'deployment_history_default';
/** A range partition's name: `deployment_history_p<first run id of its range>`. */
export const partitionName = (lo: number): string => `deployment_history_p${lo}`;
const RANGE_NAME = '^deployment_history_p[0-9]+$';

/** A range partition of deployment_history: the rows of runs lo ≤ id < hi. */
export interface HistoryPartition {
  name: string;
  lo: number;
  hi: number;
}

/** A range partition all of whose runs retention removes: it goes whole (WholeRange.runs are its runs, by id). */
export interface WholeRange extends HistoryPartition {
  runs: number[];
  clusters: number[];
}

/** The columns of a history row that are stored (sort_time is generated from them). */
const STORED = `id, transaction_id, cluster_id, node_id, task_name, task_type, status, time_start, time_end,
  error_message, closed_reason, summary, custom, created_at, row_version`;

/** Key of the transaction-level advisory lock that makes partition creators (every instance) take turns. */
export const CREATION_LOCK_KEY = 7_420_190_017;

/**
 * How a partition statement gets its locks without holding writers back. ATTACH, DETACH and DROP each
 * need, for milliseconds, locks that writers' statements conflict with (measured on PostgreSQL 15,
 * pg_locks: ATTACH takes ACCESS EXCLUSIVE on the DEFAULT partition, and attachRange on deployment_history
 * too, as DETACH does; with a foreign key to transactions, ATTACH and DETACH SHARE ROW EXCLUSIVE on it
 * and DROP of a detached partition ACCESS EXCLUSIVE). A lock request that waits makes every later writer
 * wait behind it, and a writer already in its transaction then waits for it while it waits for that
 * writer (a deadlock, broken only by a timeout): so the locks are taken first, each with NOWAIT, at a
 * moment no writer holds them, and tried again after a short pause otherwise (LOCK_TRIES times), never
 * queued (lockNowait). DETACH ... CONCURRENTLY, which needs no lock on the parent, is refused while a
 * DEFAULT partition exists.
 * The locks on transactions are for deployment_history's foreign key, dropped since (migration
 * HistoryWithoutRunForeignKey): taken only where a table concerned still has one (runsKeyLocks): a
 * partition detached before that migration and not yet dropped keeps its copy of the key, and its DROP
 * needs that lock. Taken always, they made every ATTACH and DROP wait for a moment when no batch of the
 * writer was in its transaction (every batch writes transactions), and hold the next batches' run updates
 * back while they ran; without them, the DROP of a detached partition conflicts with no writer, and ATTACH
 * and DETACH with any transaction that is using deployment_history (a batch of the writer, a read): they
 * come in between two (the writer lets the table go between batches).
 */
const LOCK_TRIES = 80;
/** The pause between two tries, ms (random, up to twice this: two takers do not meet again at once). */
const LOCK_PAUSE_MS = 25;
/** What a statement waits at most for a lock not taken beforehand (none should be left). */
const LOCK_TIMEOUT_MS = 500;

/** How often the keeper checks that partitions are ahead of the runs' id sequence (besides each new run). */
const KEEP_EVERY_MS = 30_000;
/** Ranges kept ahead of the last run id: the next partition is made while a whole range of runs can still come. */
const AHEAD = 2;
/** After a pass that could not create a partition (its lock never came), new runs do not start another before this pause, doubling up to KEEP_EVERY_MS. */
const RETRY_PAUSE_MS = 2_000;

/**
 * deployment_history's partitions (migration PartitionedHistory1764600000000): one per range of
 * HISTORY_PARTITION_RUNS run ids, plus DEFAULT_PARTITION as the net.
 *
 * Ahead: a partition exists for every run id up to AHEAD ranges beyond the last given out, checked at
 * start, every 30 s and when a run is created past the highest bound kept in memory (noteRun: a
 * comparison on the hot path). Created as a table, then attached with deployment_history held ACCESS
 * EXCLUSIVE for the milliseconds of the attach, taken when free (attachRange says why). Instances take
 * turns (an advisory lock) and find the partition another made: not an error.
 * Rows a run wrote into the DEFAULT partition meanwhile move into the new partition before it is attached.
 *
 * Behind: retention takes whole ranges away (detach, then drop: the space is back at once; see
 * RetentionService), the rest of its runs row by row.
 */
@Injectable()
export class HistoryPartitions implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('HistoryPartitions');
  private readonly size: number;
  /** The highest bound of a range partition known to exist (its runs' ids are below). */
  private bound = 0;
  private keeping: Promise<number> | null = null;
  private timer?: NodeJS.Timeout;
  /** Failed passes in a row, and until when new runs start none (the timer still does). */
  private failures = 0;
  private pausedUntil = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'historyPartitionRuns'>,
  ) {
    this.size = config.historyPartitionRuns;
  }

  async onApplicationBootstrap(): Promise<void> {
    // A pass that fails says so itself (keepAhead); the timer tries again.
    await this.keepAhead().catch(() => undefined);
    this.timer = setInterval(() => void this.keepAhead().catch(() => undefined), KEEP_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * A run of this id was created: when it is within AHEAD ranges of the highest bound, partitions are
   * added ahead (in the background, on a connection of their own; until then its rows are in the DEFAULT partition).
   */
  noteRun(id: number): void {
    if (id + AHEAD * this.size < this.bound || Date.now() < this.pausedUntil) return;
    void this.keepAhead().catch(() => undefined); // said by keepAhead
  }

  /**
   * Creates the partitions missing up to AHEAD ranges beyond the last run id given out; one pass at a
   * time. Returns how many it created. A pass that fails is logged here, once, and pauses the passes new
   * runs start (a partition whose lock did not come in time is tried again later, not at every run).
   */
  keepAhead(): Promise<number> {
    this.keeping ??= this.extend()
      .then((created) => {
        this.failures = 0;
        this.pausedUntil = 0;
        return created;
      })
      .catch((e: unknown) => {
        this.failures++;
        this.pausedUntil = Date.now() + doublingMs(this.failures - 1, RETRY_PAUSE_MS, KEEP_EVERY_MS);
        this.logger.warn(
          `partitions not kept ahead (${errorMessage(e)}; ${this.failures} pass(es) in a row): rows of new runs past id ${this.bound - 1} go to ${DEFAULT_PARTITION} until their partition is made`,
        );
        throw e;
      })
      .finally(() => (this.keeping = null));
    return this.keeping;
  }

  /** The range partitions attached, by range. */
  list(db: Queryable = this.db): Promise<HistoryPartition[]> {
    return selectRows<HistoryPartition>(
      db,
      `SELECT c.relname AS name, b[1]::int AS lo, b[2]::int AS hi
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
            regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\((-?[0-9]+)\\) TO \\((-?[0-9]+)\\)') AS b
       WHERE i.inhparent = 'deployment_history'::regclass AND b IS NOT NULL
       ORDER BY lo`,
    );
  }

  private async extend(): Promise<number> {
    const last = await this.lastRunId();
    const attached = await this.list();
    this.bound = Math.max(0, ...attached.map((p) => p.hi));
    let created = 0;
    let lo = attached.length ? this.bound : Math.floor(last / this.size) * this.size;
    while (lo <= last + AHEAD * this.size) {
      const made = await this.create(lo, lo + this.size);
      if (made.created) created++;
      lo = Math.max(made.bound, lo + this.size);
      this.bound = Math.max(this.bound, lo);
    }
    if (created) this.logger.log(`created ${created} history partition(s); runs up to id ${this.bound - 1} have one`);
    return created;
  }

  /**
   * Creates and attaches the partition [lo, hi), unless another instance did meanwhile (or made a
   * partition overlapping it: then nothing); says whether it did, and the highest bound attached once done.
   */
  private async create(lo: number, hi: number): Promise<{ created: boolean; bound: number }> {
    return this.inTransaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(${CREATION_LOCK_KEY})`);
      const attached = await this.list(m);
      if (attached.some((p) => p.lo < hi && lo < p.hi)) return { created: false, bound: Math.max(...attached.map((p) => p.hi)) };
      await attachRange(m, lo, hi);
      return { created: true, bound: hi };
    });
  }

  /** The last run id given out (the sequence's, committed or not). */
  private async lastRunId(db: Queryable = this.db): Promise<number> {
    const r = await selectOne<{ last: number }>(
      db,
      `SELECT (CASE WHEN is_called THEN last_value ELSE last_value - 1 END)::int AS last FROM transactions_id_seq`,
    );
    return r?.last ?? 0;
  }

  /**
   * The range partitions whose every run is in `doomed` and whose every id was given out (so no new
   * run can take one): retention removes them whole. A range may have no run left: it goes too.
   */
  async wholeRanges(doomed: ReadonlySet<number>): Promise<WholeRange[]> {
    const last = await this.lastRunId();
    const whole: WholeRange[] = [];
    for (const p of await this.list()) {
      if (p.hi - 1 > last) continue;
      const runs = await selectRows<{ id: number; cluster_id: number }>(
        this.db,
        `SELECT id, cluster_id FROM transactions WHERE id >= $1 AND id < $2 ORDER BY id`,
        [p.lo, p.hi],
      );
      if (runs.every((r) => doomed.has(r.id))) {
        whole.push({ ...p, runs: runs.map((r) => r.id), clusters: [...new Set(runs.map((r) => r.cluster_id))].sort((a, b) => a - b) });
      }
    }
    return whole;
  }

  /**
   * The runs of the range, locked (their clusters held first, lock-order.ts step 2): the caller checks
   * they are still the ones it means to remove before detaching their partition.
   */
  lockRange(m: EntityManager, range: HistoryPartition): Promise<Array<{ id: number; status: RunStatus }>> {
    return lockRuns(m, 'id, status', 'id >= $1 AND id < $2', [range.lo, range.hi]);
  }

  /**
   * Detaches the partition inside the caller's transaction (its rows leave deployment_history at
   * commit; a rollback keeps them). Its locks are taken without queueing (lockNowait): when they never
   * come free it throws (lock_not_available), and the caller's transaction is to be rolled back.
   */
  async detach(m: EntityManager, range: HistoryPartition): Promise<void> {
    await m.query(`SET LOCAL lock_timeout = ${LOCK_TIMEOUT_MS}`);
    await lockNowait(m, [
      `LOCK TABLE deployment_history IN ACCESS EXCLUSIVE MODE NOWAIT`,
      `LOCK TABLE ${DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE NOWAIT`,
      ...(await runsKeyLocks(m, ['deployment_history', range.name], 'SHARE ROW EXCLUSIVE')),
    ]);
    await m.query(`ALTER TABLE deployment_history DETACH PARTITION ${range.name}`);
  }

  /** Drops a detached partition (its space goes back to the system at once). */
  async drop(name: string): Promise<void> {
    await this.inTransaction(async (m) => {
      await lockNowait(m, await runsKeyLocks(m, [name], 'ACCESS EXCLUSIVE'));
      await m.query(`DROP TABLE IF EXISTS ${name}`);
    });
  }

  /** Drops the partitions detached and not dropped by an earlier pass (a drop that kept timing out); returns their names. */
  async dropLeftovers(): Promise<string[]> {
    const left = await selectRows<{ name: string }>(
      this.db,
      `SELECT relname AS name FROM pg_class WHERE relkind = 'r' AND NOT relispartition AND relname ~ '${RANGE_NAME}'
         AND relnamespace = 'public'::regnamespace`,
    );
    for (const { name } of left) await this.drop(name);
    return left.map((l) => l.name);
  }

  /** The range partitions holding rows of these runs (where a row-by-row removal left dead rows to vacuum). */
  async holding(ids: readonly number[]): Promise<string[]> {
    if (!ids.length) return [];
    const parts = await this.list();
    const names = new Set<string>();
    for (const id of ids) names.add(parts.find((p) => p.lo <= id && id < p.hi)?.name ?? DEFAULT_PARTITION);
    return [...names].sort();
  }

  /**
   * Runs `work` in a transaction (its statements waiting LOCK_TIMEOUT_MS at most for a lock not taken
   * beforehand), on a connection of the pool taken directly: a lock that is not free is routine here,
   * not the "database unavailable" the data source's query log would call it.
   */
  private async inTransaction<T>(work: (m: Queryable) => Promise<T>): Promise<T> {
    const pool = (this.db.driver as unknown as { master: Pool }).master;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = ${LOCK_TIMEOUT_MS}`);
      const result = await work(clientQueryable(client));
      await client.query('COMMIT');
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }
}

/**
 * Creates the partition [lo, hi) and attaches it, in the caller's transaction (which holds the creation
 * lock): the rows the DEFAULT partition holds of the range move in first. The caller commits.
 */
export async function attachRange(m: Queryable, lo: number, hi: number): Promise<void> {
  const name = partitionName(lo);
  await m.query(
    `CREATE TABLE ${name} (LIKE deployment_history INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING STORAGE) WITH (fillfactor = 80)`,
  );
  // ACCESS EXCLUSIVE on deployment_history, not the SHARE UPDATE EXCLUSIVE that ATTACH needs: a statement
  // takes its lock on the parent before it reads the partitions, but on the DEFAULT partition after. With
  // the parent free, a statement that came during the attach waited on the DEFAULT partition holding the
  // partitions of before, then ran on them: a read of a moved run found no row (an empty history; the
  // writer took a report's row for missing), an insert of a row of the range failed (partition constraint).
  // Held here, such a statement waits on the parent and reads the partitions as committed (a probe on
  // PostgreSQL 15 and test/e2e/history-partitions). Reads wait the milliseconds of the move and attach.
  // ONLY: the parent is what every statement locks first; its partitions need not be locked one by one.
  await lockNowait(m, [
    `LOCK TABLE ONLY deployment_history IN ACCESS EXCLUSIVE MODE NOWAIT`,
    `LOCK TABLE ${DEFAULT_PARTITION} IN ACCESS EXCLUSIVE MODE NOWAIT`,
    ...(await runsKeyLocks(m, ['deployment_history'], 'SHARE ROW EXCLUSIVE')),
  ]);
  // The net's rows of this range (runs created before their partition): moved in with their ids and
  // versions (a move, not a change: nothing to announce), the DEFAULT partition held (above) so that
  // no row of the range lands there between the move and the attach (which would then fail).
  const strays = await selectOne(m, `SELECT 1 FROM ${DEFAULT_PARTITION} WHERE transaction_id >= $1 AND transaction_id < $2 LIMIT 1`, [
    lo,
    hi,
  ]);
  if (strays) {
    await m.query(
      `WITH moved AS (DELETE FROM ${DEFAULT_PARTITION} WHERE transaction_id >= $1 AND transaction_id < $2 RETURNING ${STORED})
       INSERT INTO ${name} (${STORED}) SELECT ${STORED} FROM moved`,
      [lo, hi],
    );
  }
  await m.query(`ALTER TABLE deployment_history ATTACH PARTITION ${name} FOR VALUES FROM (${lo}) TO (${hi})`);
}

/**
 * The lock on transactions that a change of these tables needs, in `mode`, when one of them still has a
 * foreign key to it (none since migration HistoryWithoutRunForeignKey, but a partition detached before it);
 * none otherwise. Tables that do not exist count for none.
 */
async function runsKeyLocks(m: Queryable, tables: readonly string[], mode: 'SHARE ROW EXCLUSIVE' | 'ACCESS EXCLUSIVE'): Promise<string[]> {
  const key = await selectOne<{ yes: boolean }>(
    m,
    `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND confrelid = 'transactions'::regclass
       AND conrelid IN (SELECT to_regclass(t) FROM unnest($1::text[]) AS t)) AS yes`,
    [tables],
  );
  return key?.yes ? [`LOCK TABLE transactions IN ${mode} MODE NOWAIT`] : [];
}

/**
 * Takes the locks (`LOCK TABLE ... NOWAIT` statements, in order) inside the caller's transaction, all or
 * none: when one is held by another transaction, those taken are let go (a savepoint) and all are tried
 * again after a short pause, LOCK_TRIES times; then lock_not_available is thrown. Never queued, so no
 * writer ever waits behind the request (see LOCK_TRIES).
 */
export async function lockNowait(m: Queryable, locks: readonly string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await m.query('SAVEPOINT partition_locks');
    try {
      for (const lock of locks) await m.query(lock);
      await m.query('RELEASE SAVEPOINT partition_locks');
      return;
    } catch (e) {
      await m.query('ROLLBACK TO SAVEPOINT partition_locks');
      if (attempt >= LOCK_TRIES || !isLockTimeout(e)) throw e;
    }
    await sleep(LOCK_PAUSE_MS * 2 * Math.random());
  }
}

/** PostgreSQL's lock_not_available (55P03): a lock_timeout ran out. */
export function isLockTimeout(e: unknown): boolean {
  const err = e as { code?: unknown; driverError?: { code?: unknown } };
  return (err?.driverError?.code ?? err?.code) === '55P03';
}
