import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../common/config/app-config';
import { lockClusters } from '../common/database/lock-order';
import { preparedStatements } from '../common/database/prepared';
import { RetryableWriteError, retryingTransaction } from '../common/database/retrying-transaction';
import type { Queryable } from '../common/database/sql';
import { RUNS_OF_MAX_KEYS } from './persistence/columns';
import { ClusterStateRepository, StateEntry } from './persistence/cluster-state.repository';
import { HistoryRowsRepository, RowKey, StoredRow } from './persistence/history-rows.repository';
import { RowChange, RunChanges } from './persistence/run-changes';
import { RunRow, RunsRepository } from './persistence/runs.repository';
import { RunStarts } from './run-starts';
import { reconcileRun, RunReport, RunState, sameRunState } from './run-state';
import type { CommandOutcome, StoreCommand } from './store-commands';
import { isFinalRun, pendingState, reconcileTask, RunOutcome, sameState, TaskReport, TaskState } from './task-state';

/** A row that became ready in a batch: a candidate for the cluster state. */
interface ReadyRow extends RowKey {
  historyId: string;
  timeEnd: Date;
}

/** The reports of a batch for one row. */
interface ReportGroup extends RowKey {
  reports: TaskReport[];
}

type ReportCommand = Extract<StoreCommand, { kind: 'report' }>;

const rowKey = (txId: number, nodeId: string | null, task: string) => `${txId}\u0000${nodeId ?? '\u0001'}\u0000${task}`;

/**
 * The write path. A batch of commands is applied in one database transaction: runs are created with
 * their plans, run and task reports are merged through the state machines (a task's row is created at
 * its first report), and rows left open by a run that ended are closed out. Rows are read and written in bulk (one statement per kind), and
 * every change of a run's rows ends in RunChanges.commit (persistence/run-changes.ts).
 */
@Injectable()
export class HistoryWriter {
  private readonly logger = new Logger(HistoryWriter.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly starts: RunStarts,
    private readonly runs: RunsRepository,
    private readonly rows: HistoryRowsRepository,
    private readonly state: ClusterStateRepository,
    private readonly changes: RunChanges,
    /** Whether small batches prepare their statements (DATABASE_PREPARED_STATEMENTS; on where not wired, as in tests). */
    @Optional() @Inject(APP_CONFIG) private readonly config?: Pick<AppConfig, 'databasePreparedStatements'>,
  ) {}

  /**
   * Applies the commands in one transaction and returns one outcome per command, in order.
   * With `onReject`, commands that cannot be applied (unknown runs) make the whole batch fail with its
   * error, unless it answers null (those commands' outcomes then say so, the others are applied).
   */
  async apply(
    commands: StoreCommand[],
    onReject?: (rejected: Array<{ index: number; reason: string }>) => Error | null,
  ): Promise<CommandOutcome[]> {
    // A small batch's statements are planned once per connection (lookUpByIndexes says why).
    const small = (this.config?.databasePreparedStatements ?? true) && isSmallBatch(commands);
    // Lost a race (a concurrent start, a deadlock): the next attempt sees the winner's rows.
    return retryingTransaction(
      this.db,
      async (m) => {
        // A batch's rows by their keys through the indexes, whatever the planner thinks of the table (see there).
        await this.rows.lookUpByIndexes(m, { planOnce: small });
        const outcomes = await this.applyIn(m, commands, small ? preparedStatements(m) : m);
        if (onReject) {
          const rejected = outcomes.flatMap((o, index) => (o.outcome === 'unknown_transaction' ? [{ index, reason: o.reason }] : []));
          const refused = rejected.length ? onReject(rejected) : null;
          if (refused) throw refused;
        }
        return outcomes;
      },
      { logger: this.logger, what: 'write' },
    );
  }

  /**
   * Applies the commands inside the caller's database transaction; the reports' statements on `q` (the same
   * transaction, its statements prepared where `apply` decided so).
   */
  async applyIn(m: EntityManager, commands: StoreCommand[], q: Queryable = m): Promise<CommandOutcome[]> {
    const outcomes: CommandOutcome[] = new Array<CommandOutcome>(commands.length);
    const starts = commands.flatMap((c, i) => (c.kind === 'start' ? [{ i, start: c.start }] : []));
    const reports = commands.flatMap((c, i) => (c.kind === 'report' ? [{ i, cmd: c }] : []));
    // The lock order (common/database/lock-order.ts): the clusters of every run of the batch first, shared
    // with other writers, so that a reset or a deletion of one of them is either done (a run started now
    // reads the epoch it left) or waits for this batch; the runs after them (applyReports).
    const held = await lockClusters(q, 'shared', {
      clusters: starts.map((s) => s.start.cluster.id),
      // Each run once: a batch holds ~50 reports per run, and each uuid given is looked up.
      runUuids: [...new Set(reports.map((r) => r.cmd.uuid))],
    });
    if (starts.length) await this.starts.apply(m, starts, outcomes, held);
    const writes = new PendingWrites();
    if (reports.length) await this.applyReports(q, reports, outcomes, writes);
    // Every run the batch started or applied reports to is announced, and its kept summary and list forgotten.
    const changed = new Set<number>();
    for (const o of outcomes) if ('transactionId' in o && o.outcome !== 'duplicate') changed.add(o.transactionId);
    await this.changes.commit(q, { ...writes.take(), runs: writes.runs, changed: [...changed] });
    return outcomes;
  }

  /** Ends the runs (held by the caller, after their cluster) as `stopped`, closing out their open rows with the reason. */
  async stop(m: EntityManager, uuids: string[], reason: string, time: Date): Promise<void> {
    await this.applyIn(
      m,
      uuids.map((uuid) => ({ kind: 'report' as const, uuid, run: { status: 'stopped' as const, message: reason, time }, tasks: [] })),
    );
  }

  private async applyReports(
    m: Queryable,
    reports: Array<{ i: number; cmd: ReportCommand }>,
    out: CommandOutcome[],
    writes: PendingWrites,
  ): Promise<void> {
    const txs = await this.runs.lockForReports(m, [...new Set(reports.map((r) => r.cmd.uuid))]);
    const byUuid = new Map(txs.map((t) => [t.uuid, t]));
    // Run status first: a run that ends in this batch closes out its rows below.
    const runReports = new Map<number, RunReport[]>();
    const taskReports = new Map<string, ReportGroup>();
    for (const { i, cmd } of reports) {
      const tx = byUuid.get(cmd.uuid);
      if (!tx) {
        out[i] = {
          outcome: 'unknown_transaction',
          reason: `unknown transaction: no transaction_start was recorded for task_uuid '${cmd.uuid}'`,
        };
        continue;
      }
      if (cmd.run) {
        const list = runReports.get(tx.id);
        if (list) list.push(cmd.run);
        else runReports.set(tx.id, [cmd.run]);
      }
      if (!tx.history_recorded) continue;
      for (const t of cmd.tasks) {
        const k = rowKey(tx.id, t.nodeId, t.taskName);
        // A list made with its first report (one pushed into an empty list reserves room for 17): it lives for the batch.
        const g = taskReports.get(k);
        if (g) g.reports.push(t);
        else taskReports.set(k, { txId: tx.id, nodeId: t.nodeId, taskName: t.taskName, reports: [t] });
      }
    }
    const { runs, toCloseOut } = reconcileRuns(txs, runReports, writes);
    await this.applyTaskReports(m, taskReports, toCloseOut, runs, new Map(txs.map((t) => [t.id, t])), writes);
    for (const { i, cmd } of reports) {
      const tx = byUuid.get(cmd.uuid);
      if (!tx) continue;
      out[i] = {
        outcome: 'applied',
        transactionId: tx.id,
        historyRecorded: tx.history_recorded,
        tasks: tx.history_recorded ? cmd.tasks.length : 0,
        runStatus: runs.get(tx.id)!.status,
      };
    }
  }

  private async applyTaskReports(
    m: Queryable,
    groups: Map<string, ReportGroup>,
    toCloseOut: number[],
    runs: Map<number, RunOutcome>,
    txs: Map<number, RunRow>,
    writes: PendingWrites,
  ): Promise<void> {
    if (!groups.size && !toCloseOut.length) return;
    // A run that ends closes out its open rows, its never-reported tasks among them: those are stored first,
    // as pending rows, from its plan (RunChanges.materialize; a run's tasks are otherwise stored at their first report).
    await this.changes.materialize(m, toCloseOut);
    // The rows reported on, and the open rows of runs that end in this batch, in one statement.
    const stored = new Map<string, StoredRow>();
    for (const r of await this.rows.forReports(m, [...groups.values()], toCloseOut)) {
      const k = rowKey(r.transaction_id, r.node_id, r.task_name);
      stored.set(k, r);
      // An open row of a run that ends here, not reported on in this batch: closed out all the same.
      if (!groups.has(k)) groups.set(k, { txId: r.transaction_id, nodeId: r.node_id, taskName: r.task_name, reports: [] });
    }
    const inserts: Array<RowKey & { s: TaskState }> = [];
    /** Rows that are `ready` now (candidates for the cluster state), and rows that stopped being `ready`. */
    const ready: ReadyRow[] = [];
    const lost: Array<{ id: string; txId: number }> = [];
    for (const [k, g] of groups) {
      const row = stored.get(k);
      const before = row ? toState(row) : pendingState();
      const after = reconcileTask(before, g.reports, runs.get(g.txId)!);
      if (row && !sameState(before, after)) {
        writes.rows.push({ id: row.id, transaction_id: row.transaction_id, s: after });
        if (after.status === 'ready')
          ready.push({ txId: g.txId, nodeId: g.nodeId, taskName: g.taskName, historyId: row.id, timeEnd: after.timeEnd! });
        else if (before.status === 'ready') lost.push({ id: row.id, txId: row.transaction_id });
      }
      if (!row) inserts.push({ txId: g.txId, nodeId: g.nodeId, taskName: g.taskName, s: after });
    }
    if (inserts.length) {
      // A run's new rows side by side, in the order of their reports: a batch carries reports of the ~20 runs in
      // flight, and rows inserted as they came would spread each run (and each cluster) over ~20 times the pages,
      // which every read of a run or of a cluster's history then reads (measured: a cluster's 10,000 rows on 2,033
      // pages against 842 when they were pending rows written at the run's start). Stable: same-run order kept.
      inserts.sort((a, b) => a.txId - b.txId);
      ready.push(...(await this.insertReported(m, inserts)));
    }
    writes.state.push(...bestPerKey(ready, txs));
    // A row that stopped being ready hands its place in the cluster state back to the best remaining
    // ready row, which is looked up in history: the rows must be written first. Rare (a later failure
    // report won over a success), so done apart from the single final statement.
    if (lost.length) {
      await this.changes.commit(m, { ...writes.take(), changed: [] });
      await this.state.handBack(m, await this.state.removeOfRows(m, lost));
    }
  }

  /** Creates the rows of first reports (a task planned, or one its run did not announce); returns those already ready. */
  private async insertReported(m: Queryable, inserts: Array<RowKey & { s: TaskState }>): Promise<ReadyRow[]> {
    const res = await this.changes.insertReported(
      m,
      inserts.map((r) => ({ transaction_id: r.txId, node_id: r.nodeId, task_name: r.taskName, s: r.s })),
    );
    if (res.length !== inserts.length) throw new RetryableWriteError('history rows were created concurrently');
    return res
      .filter((r) => r.status === 'ready')
      .map((r) => ({ txId: r.transaction_id, nodeId: r.node_id, taskName: r.task_name, historyId: r.id, timeEnd: r.time_end }));
  }
}

/**
 * A batch of the HTTP path's size (a few casts): few enough task reports and commands that its statements
 * name their runs (`runsOf`) and read a few rows by key, the plans a statement's generic plan can keep.
 * A bus batch (hundreds of casts) is planned for its own values, as before.
 */
function isSmallBatch(commands: StoreCommand[]): boolean {
  let tasks = 0;
  for (const c of commands) if (c.kind === 'report') tasks += c.tasks.length;
  return commands.length <= RUNS_OF_MAX_KEYS && tasks <= RUNS_OF_MAX_KEYS;
}

/** Merges the run reports into the runs: the states to write, the outcome of each run, and the runs whose open rows close out. */
function reconcileRuns(
  txs: RunRow[],
  runReports: Map<number, RunReport[]>,
  writes: PendingWrites,
): { runs: Map<number, RunOutcome>; toCloseOut: number[] } {
  const runs = new Map<number, RunOutcome>();
  const toCloseOut: number[] = [];
  for (const tx of txs) {
    const before: RunState = {
      status: tx.status,
      progress: tx.progress,
      message: tx.message,
      statusTime: tx.status_time,
      timeEnd: tx.time_end,
    };
    const after = reconcileRun(before, runReports.get(tx.id) ?? []);
    if (!sameRunState(before, after)) writes.runs.push({ id: tx.id, s: after });
    // A run that ends, or whose end changes (a later final report), closes out (again) its open rows.
    if (tx.history_recorded && isFinalRun(after.status) && !sameRunState(before, after)) toCloseOut.push(tx.id);
    runs.set(tx.id, { status: after.status, timeEnd: after.timeEnd, message: after.message });
  }
  return { runs, toCloseOut };
}

/**
 * The cluster state (cluster_state) is, per cluster, epoch and (node, task), the last ready row of a
 * real (not dry) run. Of the rows that became ready in a batch, the best one per key replaces an older one.
 */
function bestPerKey(ready: ReadyRow[], txs: Map<number, RunRow>): StateEntry[] {
  const best = new Map<string, StateEntry>();
  for (const e of ready) {
    const tx = txs.get(e.txId)!;
    if (tx.dry_run) continue;
    const k = `${tx.cluster_id}\u0000${tx.epoch}\u0000${rowKey(0, e.nodeId, e.taskName)}`;
    const cur = best.get(k);
    if (
      !cur ||
      e.timeEnd > cur.time_end ||
      (e.timeEnd.getTime() === cur.time_end.getTime() && BigInt(e.historyId) > BigInt(cur.history_id))
    ) {
      best.set(k, {
        cluster_id: tx.cluster_id,
        epoch: tx.epoch,
        node_id: e.nodeId,
        task_name: e.taskName,
        transaction_id: e.txId,
        history_id: e.historyId,
        time_end: e.timeEnd,
      });
    }
  }
  // In key order: two batches writing entries of the same keys lock them in the same order (lock-order.ts, step 3).
  return [...best.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
}

/**
 * What a batch writes once it has read and reconciled: history rows, cluster state and run states,
 * sent as one statement by RunChanges.commit at the end (the rows and state earlier when a row's
 * place in the cluster state must be handed back, which reads the rows written).
 */
class PendingWrites {
  readonly rows: RowChange[] = [];
  readonly state: StateEntry[] = [];
  readonly runs: Array<{ id: number; s: RunState }> = [];

  /** The rows and state entries pending, forgotten here once taken. */
  take(): { rows: RowChange[]; state: StateEntry[] } {
    return { rows: this.rows.splice(0), state: this.state.splice(0) };
  }
}

function toState(r: StoredRow): TaskState {
  return {
    status: r.status,
    timeStart: r.time_start,
    timeEnd: r.time_end,
    errorMessage: r.error_message,
    summary: r.summary,
    custom: r.custom ?? {},
    closedReason: r.closed_reason,
  };
}
