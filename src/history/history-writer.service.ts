import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ClusterInfo, ClusterRegistry } from '../clusters/cluster-registry';
import { describeRelease, MIN_HISTORY_VERSION } from '../clusters/release';
import { lockClusters, lockRuns } from '../common/database/lock-order';
import { RetryableWriteError, retryingTransaction } from '../common/database/retrying-transaction';
import { RunStatus } from './entities/transaction.entity';
import type { CommandOutcome, RunStart, StartWarning, StoreCommand } from './store-commands';
import { handBackState, StateKey } from './cluster-state';
import { reconcileRun, RunReport, RunState, sameRunState } from './run-state';
import { isFinalRun, pendingState, reconcileTask, RunOutcome, sameState, TaskReport, TaskState } from './task-state';

// Thrown when a batch lost a race with another writer; its home is the retry that runs the batch again.
export { RetryableWriteError };

interface TxRow {
  id: number;
  uuid: string;
  cluster_id: number;
  status: RunStatus;
  progress: number;
  message: string | null;
  status_time: Date | null;
  time_end: Date | null;
  history_recorded: boolean;
  dry_run: boolean;
  epoch: number;
}

interface StateEntry {
  txId: number;
  nodeId: string | null;
  taskName: string;
  historyId: string;
  timeEnd: Date;
}

interface HistoryRow {
  id: string;
  transaction_id: number;
  node_id: string | null;
  task_name: string;
  status: TaskState['status'];
  time_start: Date | null;
  time_end: Date | null;
  error_message: string | null;
  closed_reason: string | null;
  summary: Record<string, unknown> | null;
  custom: Record<string, unknown>;
}

const HISTORY_COLUMNS = `h.id, h.transaction_id, h.node_id, h.task_name, h.status, h.time_start, h.time_end,
  h.error_message, h.closed_reason, h.summary, h.custom`;

const rowKey = (txId: number, nodeId: string | null, task: string) => `${txId}\u0000${nodeId ?? '\u0001'}\u0000${task}`;

/**
 * The write path. A batch of commands is applied in one database transaction: runs are created with
 * their pending rows, run and task reports are merged through the state machines, and rows left open
 * by a run that ended are closed out. Rows are read and written in bulk (one statement per kind).
 */
@Injectable()
export class HistoryWriter {
  private readonly logger = new Logger(HistoryWriter.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clusters: ClusterRegistry,
  ) {}

  /**
   * Applies the commands in one transaction and returns one outcome per command, in order.
   * With `atomic`, a command that cannot be applied makes the whole batch fail with `onReject`'s error.
   */
  async apply(
    commands: StoreCommand[],
    onReject?: (rejected: Array<{ index: number; reason: string }>) => Error,
  ): Promise<CommandOutcome[]> {
    // Lost a race (a concurrent start, a deadlock): the next attempt sees the winner's rows.
    return retryingTransaction(
      this.db,
      async (m) => {
        const outcomes = await this.applyIn(m, commands);
        if (onReject) {
          const rejected = outcomes.flatMap((o, index) => (o.outcome === 'unknown_transaction' ? [{ index, reason: o.reason }] : []));
          if (rejected.length) throw onReject(rejected);
        }
        return outcomes;
      },
      { logger: this.logger, what: 'write' },
    );
  }

  /** Applies the commands inside the caller's database transaction. */
  async applyIn(m: EntityManager, commands: StoreCommand[]): Promise<CommandOutcome[]> {
    const outcomes: CommandOutcome[] = new Array(commands.length);
    const starts = commands.flatMap((c, i) => (c.kind === 'start' ? [{ i, start: c.start }] : []));
    const reports = commands.flatMap((c, i) => (c.kind === 'report' ? [{ i, cmd: c }] : []));
    // The lock order (common/database/lock-order.ts): the clusters of every run of the batch first, shared
    // with other writers, so that a reset or a deletion of one of them is either done (a run started now
    // reads the epoch it left) or waits for this batch; the runs after them (applyReports).
    const held = await lockClusters(m, 'shared', {
      clusters: starts.map((s) => s.start.cluster.id),
      runUuids: reports.map((r) => r.cmd.uuid),
    });
    if (starts.length) await this.applyStarts(m, starts, outcomes, held);
    const writes = new FinalWrites();
    if (reports.length) await this.applyReports(m, reports, outcomes, writes);
    writes.notify(outcomes);
    await writes.flush(m);
    return outcomes;
  }

  /** Creates the runs announced in the batch: one statement for the runs, one for all their pending rows. */
  private async applyStarts(
    m: EntityManager,
    starts: Array<{ i: number; start: RunStart }>,
    out: CommandOutcome[],
    held: ClusterInfo[],
  ): Promise<void> {
    const existing = new Map<string, number>(
      (await m.query(`SELECT id, uuid FROM transactions WHERE uuid = ANY($1)`, [starts.map((s) => s.start.uuid)])).map(
        (r: { id: number; uuid: string }) => [r.uuid, r.id],
      ),
    );
    const fresh = new Map<string, RunStart>();
    for (const { start } of starts) if (!existing.has(start.uuid) && !fresh.has(start.uuid)) fresh.set(start.uuid, start);
    const created = new Map<string, { id: number; rows: number; recorded: boolean; warnings: StartWarning[] }>();
    if (fresh.size) {
      const runs = [...fresh.values()];
      // Register clusters first (one statement, in id order, so concurrent batches lock them in the same order).
      // A release the cluster does not take (older than its own: Fuel cannot downgrade) is not applied: the
      // run is recorded on the release its cluster runs, and what the start claimed is kept beside it.
      const registered = await this.clusters.registerAll(
        m,
        runs.map((r) => r.cluster),
        held,
      );
      const recorded = registered.map((c) => this.clusters.historySupported(c.release));
      const warnings = registered.map((c, k): StartWarning[] => {
        if (!c.warning) return [];
        const tasks = recorded[k] ? 'with its tasks' : `without its tasks (before ${MIN_HISTORY_VERSION})`;
        return [{ kind: c.warning.kind, message: `${c.warning.message}; the run is recorded on ${describeRelease(c.release)}, ${tasks}` }];
      });
      // The runs and their pending rows in one statement (a round trip per statement is what a batch pays most).
      const rowRun: string[] = [];
      const node: Array<string | null> = [];
      const task: string[] = [];
      const type: Array<string | null> = [];
      // Per-node definitions and snapshots as one JSON list each (jsonb_/json_to_recordset): their texts go as
      // they are, where arrays of text parameters would have every quote of them escaped (a large deployment
      // info). The definitions are parsed once as jsonb (~20 % faster than json with jsonb fields); the
      // snapshots are kept as json, their text as sent.
      const nodeDefinitions: string[] = [];
      const snapshots: string[] = [];
      const snapshot = (uuid: string, kind: string, nodeUid: string | null, json: string) =>
        snapshots.push(`{"u":${JSON.stringify(uuid)},"k":"${kind}","n":${JSON.stringify(nodeUid)},"d":${json}}`);
      runs.forEach((r, k) => {
        // Snapshots are the run's own, kept whatever its release (unlike its tasks).
        const s = r.snapshots;
        if (s.deploymentInfo) {
          snapshot(r.uuid, 'deployment_info', null, s.deploymentInfo.common);
          for (const n of s.deploymentInfo.nodes) snapshot(r.uuid, 'deployment_info', n.uid, n.json);
        }
        if (s.settings !== undefined) snapshot(r.uuid, 'settings', null, s.settings);
        if (s.networkConfiguration !== undefined) snapshot(r.uuid, 'network_configuration', null, s.networkConfiguration);
        if (!recorded[k]) {
          this.logger.log(
            `transaction ${r.uuid}: cluster ${r.cluster.id} runs release '${registered[k].release}' (before ${MIN_HISTORY_VERSION}); ` +
              `the run is recorded, its ${r.tasks.length} tasks are not`,
          );
          return;
        }
        for (const t of r.tasks) {
          rowRun.push(r.uuid);
          node.push(t.nodeId);
          task.push(t.taskName);
          type.push(t.type);
        }
        const u = JSON.stringify(r.uuid);
        for (const d of r.nodeDefinitions) {
          nodeDefinitions.push(`{"u":${u},"n":${JSON.stringify(d.nodeId)},"t":${JSON.stringify(d.taskName)},"d":${d.json}}`);
        }
      });
      const inserted: Array<{ id: number; uuid: string; rows: number }> = await m.query(
        `WITH runs AS (
           INSERT INTO transactions (uuid, cluster_id, name, graph_type, dry_run, status, progress, history_recorded,
                                     tasks_snapshot, status_time, time_start, epoch, release, announced_release)
           SELECT u.uuid, u.cluster, u.name, u.graph, u.dry, 'running', 0, u.rec, u.snap, u.t, u.t, c.epoch, u.rel, u.ann
           FROM unnest($1::varchar[], $2::int[], $3::text[], $4::text[], $5::bool[], $6::bool[], $7::jsonb[], $8::timestamptz[], $9::text[],
                       $14::text[])
                WITH ORDINALITY AS u(uuid, cluster, name, graph, dry, rec, snap, t, rel, ann, n)
           JOIN clusters c ON c.id = u.cluster
           ORDER BY u.n
           ON CONFLICT (uuid) DO NOTHING RETURNING id, uuid, cluster_id),
         pending AS (
           INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, task_type)
           SELECT r.id, r.cluster_id, k.node, k.task, k.type
           FROM unnest($10::varchar[], $11::varchar[], $12::varchar[], $13::varchar[]) WITH ORDINALITY AS k(uuid, node, task, type, n)
           JOIN runs r ON r.uuid = k.uuid
           ORDER BY k.n
           ON CONFLICT DO NOTHING RETURNING transaction_id),
         definitions AS (
           INSERT INTO node_task_definitions (transaction_id, node_id, task_name, definition)
           SELECT r.id, d.n, d.t, d.d FROM jsonb_to_recordset($15::jsonb) AS d(u text, n text, t text, d jsonb)
           JOIN runs r ON r.uuid = d.u
           ON CONFLICT DO NOTHING),
         snapshots AS (
           INSERT INTO run_snapshots (transaction_id, kind, node_uid, data)
           SELECT r.id, s.k, s.n, s.d FROM json_to_recordset($16::json) AS s(u text, k text, n text, d json)
           JOIN runs r ON r.uuid = s.u
           ON CONFLICT DO NOTHING)
         SELECT r.id, r.uuid, (SELECT count(*) FROM pending p WHERE p.transaction_id = r.id)::int AS rows FROM runs r`,
        [
          runs.map((r) => r.uuid),
          runs.map((r) => r.cluster.id),
          runs.map((r) => r.name),
          runs.map((r) => r.graphType),
          runs.map((r) => r.dryRun),
          recorded,
          runs.map((r) => JSON.stringify(r.snapshot)),
          runs.map((r) => r.time),
          registered.map((c) => c.release),
          rowRun,
          node,
          task,
          type,
          registered.map((c) => c.announced),
          `[${nodeDefinitions.join(',')}]`,
          `[${snapshots.join(',')}]`,
        ],
      );
      if (inserted.length !== runs.length) throw new RetryableWriteError('a transaction was created concurrently');
      const index = new Map(runs.map((r, k) => [r.uuid, k]));
      for (const r of inserted) {
        const k = index.get(r.uuid)!;
        created.set(r.uuid, { id: r.id, rows: r.rows, recorded: recorded[k], warnings: warnings[k] });
      }

      const withParent = runs.filter((r) => r.parentUuid);
      if (withParent.length) {
        const linked: Array<{ uuid: string }> = await m
          .query(
            `UPDATE transactions c SET parent_id = p.id
           FROM unnest($1::varchar[], $2::varchar[]) AS u(uuid, parent) JOIN transactions p ON p.uuid = u.parent
           WHERE c.uuid = u.uuid RETURNING c.uuid`,
            [withParent.map((r) => r.uuid), withParent.map((r) => r.parentUuid)],
          )
          .then((res: [Array<{ uuid: string }>, number]) => res[0]);
        const found = new Set(linked.map((l) => l.uuid));
        for (const r of withParent) {
          if (!found.has(r.uuid)) {
            const message = `parent transaction '${r.parentUuid}' is unknown; recorded without a parent`;
            created.get(r.uuid)!.warnings.push({ kind: 'unknown_parent', message });
          }
        }
      }
    }
    const seen = new Set<string>();
    for (const { i, start } of starts) {
      const made = created.get(start.uuid);
      if (made && !seen.has(start.uuid)) {
        seen.add(start.uuid);
        out[i] = {
          outcome: 'started',
          transactionId: made.id,
          clusterId: start.cluster.id,
          historyRecorded: made.recorded,
          rows: made.rows,
          warnings: made.warnings,
        };
      } else {
        out[i] = { outcome: 'duplicate', transactionId: existing.get(start.uuid) ?? made!.id };
      }
    }
  }

  private async applyReports(
    m: EntityManager,
    reports: Array<{ i: number; cmd: Extract<StoreCommand, { kind: 'report' }> }>,
    out: CommandOutcome[],
    writes: FinalWrites,
  ): Promise<void> {
    const uuids = [...new Set(reports.map((r) => r.cmd.uuid))];
    const txs = await lockRuns<TxRow>(
      m,
      'id, uuid, cluster_id, status, progress, message, status_time, time_end, history_recorded, dry_run, epoch',
      'uuid = ANY($1)',
      [uuids],
    );
    const byUuid = new Map(txs.map((t) => [t.uuid, t]));

    // Run status first: a run that ends in this batch closes out its rows below.
    const runReports = new Map<number, RunReport[]>();
    const taskReports = new Map<string, { txId: number; nodeId: string | null; taskName: string; reports: TaskReport[] }>();
    for (const { i, cmd } of reports) {
      const tx = byUuid.get(cmd.uuid);
      if (!tx) {
        out[i] = {
          outcome: 'unknown_transaction',
          reason: `unknown transaction: no transaction_start was recorded for task_uuid '${cmd.uuid}'`,
        };
        continue;
      }
      if (cmd.run) runReports.set(tx.id, [...(runReports.get(tx.id) ?? []), cmd.run]);
      if (tx.history_recorded) {
        for (const t of cmd.tasks) {
          const k = rowKey(tx.id, t.nodeId, t.taskName);
          const g = taskReports.get(k) ?? { txId: tx.id, nodeId: t.nodeId, taskName: t.taskName, reports: [] };
          g.reports.push(t);
          taskReports.set(k, g);
        }
      }
    }

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
    m: EntityManager,
    groups: Map<string, { txId: number; nodeId: string | null; taskName: string; reports: TaskReport[] }>,
    toCloseOut: number[],
    runs: Map<number, RunOutcome>,
    txs: Map<number, TxRow>,
    writes: FinalWrites,
  ): Promise<void> {
    if (!groups.size && !toCloseOut.length) return;
    const keyed = [...groups.values()];
    // The rows reported on, and the open rows of runs that end in this batch, in one statement. No row
    // locks: every writer of a run's rows holds the run's row lock (taken above, in id order), which
    // serializes them. Node rows by equality on the whole unique key (so the index is used whole).
    const withNode = keyed.filter((g) => g.nodeId !== null);
    const clusterLevel = keyed.filter((g) => g.nodeId === null);
    const rows: HistoryRow[] = await m.query(
      `SELECT ${HISTORY_COLUMNS} FROM deployment_history h
       JOIN unnest($1::int[], $2::varchar[], $3::varchar[]) AS k(tx, node, task)
         ON h.transaction_id = k.tx AND h.task_name = k.task AND h.node_id = k.node
       UNION ALL
       SELECT ${HISTORY_COLUMNS} FROM deployment_history h
       JOIN unnest($4::int[], $5::varchar[]) AS k(tx, task) ON h.transaction_id = k.tx AND h.task_name = k.task AND h.node_id IS NULL
       UNION ALL
       SELECT ${HISTORY_COLUMNS} FROM deployment_history h
       WHERE h.transaction_id = ANY($6::int[]) AND (h.status IN ('pending', 'running') OR h.closed_reason IS NOT NULL)`,
      [
        withNode.map((g) => g.txId),
        withNode.map((g) => g.nodeId),
        withNode.map((g) => g.taskName),
        clusterLevel.map((g) => g.txId),
        clusterLevel.map((g) => g.taskName),
        toCloseOut,
      ],
    );
    const stored = new Map<string, HistoryRow>();
    for (const r of rows) {
      const k = rowKey(r.transaction_id, r.node_id, r.task_name);
      stored.set(k, r);
      // An open row of a run that ends here, not reported on in this batch: closed out all the same.
      if (!groups.has(k)) groups.set(k, { txId: r.transaction_id, nodeId: r.node_id, taskName: r.task_name, reports: [] });
    }

    const inserts: Array<{ txId: number; nodeId: string | null; taskName: string; s: TaskState }> = [];
    /** Rows that are `ready` now (candidates for the cluster state), and rows that stopped being `ready`. */
    const ready: StateEntry[] = [];
    const lost: string[] = [];
    for (const [k, g] of groups) {
      const row = stored.get(k);
      const before = row ? toState(row) : pendingState();
      const after = reconcileTask(before, g.reports, runs.get(g.txId)!);
      if (row && !sameState(before, after)) {
        writes.history.push({ id: row.id, s: after });
        if (after.status === 'ready')
          ready.push({ txId: g.txId, nodeId: g.nodeId, taskName: g.taskName, historyId: row.id, timeEnd: after.timeEnd! });
        else if (before.status === 'ready') lost.push(row.id);
      }
      if (!row) inserts.push({ txId: g.txId, nodeId: g.nodeId, taskName: g.taskName, s: after });
    }
    if (inserts.length) {
      // A report for a (node, task) the run did not announce: recorded all the same.
      const res: unknown[] = await m.query(
        `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, status, time_start, time_end,
                                         error_message, closed_reason, summary, custom)
         SELECT u.tx, t.cluster_id, u.node, u.task, u.status::history_status, u.ts, u.te, u.em, u.cr, u.su, u.cu
         FROM unnest($1::int[], $2::varchar[], $3::varchar[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[],
                     $8::text[], $9::jsonb[], $10::jsonb[]) AS u(tx, node, task, status, ts, te, em, cr, su, cu)
         JOIN transactions t ON t.id = u.tx
         ON CONFLICT DO NOTHING RETURNING id, transaction_id, node_id, task_name, status, time_end`,
        [
          inserts.map((r) => r.txId),
          inserts.map((r) => r.nodeId),
          inserts.map((r) => r.taskName),
          ...columns(
            inserts.map((r) => r.s),
            [],
          ),
        ],
      );
      if (res.length !== inserts.length) throw new RetryableWriteError('history rows were created concurrently');
      for (const r of res as Array<{
        id: string;
        transaction_id: number;
        node_id: string | null;
        task_name: string;
        status: string;
        time_end: Date;
      }>) {
        if (r.status === 'ready')
          ready.push({ txId: r.transaction_id, nodeId: r.node_id, taskName: r.task_name, historyId: r.id, timeEnd: r.time_end });
      }
    }
    writes.state.push(...bestPerKey(ready, txs));
    // A row that stopped being ready hands its place in the cluster state back to the best remaining
    // ready row, which is looked up in history: the rows must be written first. Rare (a later failure
    // report won over a success), so done apart from the single final statement.
    if (lost.length) {
      await writes.flush(m, true);
      await this.handBackState(m, lost);
    }
  }

  /**
   * Keeps cluster_state for rows that stopped being ready: each one's place goes to the best remaining
   * ready row of a real run of the same cluster, epoch, node and task, if any.
   */
  private async handBackState(m: EntityManager, lost: string[]): Promise<void> {
    const [gone]: [StateKey[], number] = await m.query(
      `DELETE FROM cluster_state WHERE history_id = ANY($1::bigint[]) RETURNING cluster_id, epoch, node_id, task_name`,
      [lost],
    );
    await handBackState(m, gone);
  }
}

/**
 * The cluster state (cluster_state) is, per cluster, epoch and (node, task), the last ready row of a
 * real (not dry) run. Of the rows that became ready in a batch, the best one per key replaces an older one.
 */
function bestPerKey(ready: StateEntry[], txs: Map<number, TxRow>): Array<StateEntry & { tx: TxRow }> {
  const best = new Map<string, StateEntry & { tx: TxRow }>();
  for (const e of ready) {
    const tx = txs.get(e.txId)!;
    if (tx.dry_run) continue;
    const k = `${tx.cluster_id}\u0000${tx.epoch}\u0000${rowKey(0, e.nodeId, e.taskName)}`;
    const cur = best.get(k);
    if (!cur || e.timeEnd > cur.timeEnd || (e.timeEnd.getTime() === cur.timeEnd.getTime() && BigInt(e.historyId) > BigInt(cur.historyId))) {
      best.set(k, { ...e, tx });
    }
  }
  // In key order: two batches writing entries of the same keys lock them in the same order (lock-order.ts, step 3).
  return [...best.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
}

/** The channel on which every instance hears which runs changed (delivered at commit). */
export const HISTORY_CHANNEL = 'dh_history_changed';

/** The payloads announcing that these runs changed on HISTORY_CHANNEL: ids, comma-separated, in chunks. */
export function notifyPayloads(ids: number[]): string[] {
  // A NOTIFY payload holds at most 8000 bytes: the ids go in chunks.
  const chunks: string[] = [];
  for (let i = 0; i < ids.length; i += 500) chunks.push(ids.slice(i, i + 500).join(','));
  return chunks;
}

/**
 * What a batch writes once it has read and reconciled: run states, history rows, cluster state and
 * the notification of the runs that changed. Sent as one statement (data-modifying WITH clauses on
 * different tables), as a batch's cost is mostly its round trips to the database.
 */
class FinalWrites {
  readonly runs: Array<{ id: number; s: RunState }> = [];
  readonly history: Array<{ id: string; s: TaskState }> = [];
  readonly state: Array<StateEntry & { tx: TxRow }> = [];
  private readonly changed = new Set<number>();

  notify(outcomes: CommandOutcome[]): void {
    for (const o of outcomes) if ('transactionId' in o && o.outcome !== 'duplicate') this.changed.add(o.transactionId);
  }

  /**
   * Writes what is pending in one statement, or with `rowsOnly` only the history rows and the cluster
   * state (the runs and the notification then wait for the last flush); what was written is forgotten.
   */
  async flush(m: EntityManager, rowsOnly = false): Promise<void> {
    const parts: string[] = [];
    const params: unknown[] = [];
    /** Parameters for unnest(), each array with its SQL type. */
    const arrays = (types: string[], cols: unknown[][]) => cols.map((c, i) => `$${params.push(c)}::${types[i]}[]`).join(', ');
    if (this.history.length) {
      parts.push(`history AS (
        UPDATE deployment_history h
        SET status = u.status::history_status, time_start = u.ts, time_end = u.te, error_message = u.em,
            closed_reason = u.cr, summary = u.su, custom = u.cu, row_version = nextval('deployment_history_version_seq')
        FROM unnest(${arrays(
          ['bigint', 'text', 'timestamptz', 'timestamptz', 'text', 'text', 'jsonb', 'jsonb'],
          columns(
            this.history.map((u) => u.s),
            [this.history.map((u) => u.id)],
          ),
        )}) AS u(id, status, ts, te, em, cr, su, cu)
        WHERE h.id = u.id RETURNING 1)`);
      this.history.length = 0;
    }
    if (this.state.length) {
      const rows = this.state;
      parts.push(`state AS (
        INSERT INTO cluster_state (cluster_id, epoch, node_id, task_name, transaction_id, history_id, time_end)
        SELECT * FROM unnest(${arrays(
          ['int', 'int', 'varchar', 'varchar', 'int', 'bigint', 'timestamptz'],
          [
            rows.map((r) => r.tx.cluster_id),
            rows.map((r) => r.tx.epoch),
            rows.map((r) => r.nodeId),
            rows.map((r) => r.taskName),
            rows.map((r) => r.txId),
            rows.map((r) => r.historyId),
            rows.map((r) => r.timeEnd),
          ],
        )})
        ON CONFLICT ON CONSTRAINT cluster_state_key DO UPDATE
        SET transaction_id = EXCLUDED.transaction_id, history_id = EXCLUDED.history_id, time_end = EXCLUDED.time_end
        WHERE (EXCLUDED.time_end, EXCLUDED.history_id) >= (cluster_state.time_end, cluster_state.history_id)
        RETURNING 1)`);
      this.state.length = 0;
    }
    let select = 'SELECT 1';
    if (!rowsOnly && this.runs.length) {
      const r = this.runs.map((x) => x.s);
      parts.push(`runs AS (
        UPDATE transactions t SET status = u.status::transaction_status, progress = u.progress, message = u.message,
                                  status_time = u.status_time, time_end = u.time_end, summary_cache = NULL, list_cache = NULL
        FROM unnest(${arrays(
          ['int', 'text', 'smallint', 'text', 'timestamptz', 'timestamptz'],
          [
            this.runs.map((x) => x.id),
            r.map((s) => s.status),
            r.map((s) => s.progress),
            r.map((s) => s.message),
            r.map((s) => s.statusTime),
            r.map((s) => s.timeEnd),
          ],
        )}) AS u(id, status, progress, message, status_time, time_end)
        WHERE t.id = u.id RETURNING 1)`);
    }
    if (!rowsOnly && this.changed.size) {
      // A finished run's kept summary and list (history-query.service.ts) no longer hold once its rows
      // change. Runs updated just above are cleared there: a row is changed once per statement.
      parts.push(`stale AS (
        UPDATE transactions SET summary_cache = NULL, list_cache = NULL
        WHERE id = ANY($${params.push([...this.changed])}::int[]) AND (summary_cache IS NOT NULL OR list_cache IS NOT NULL)
          AND NOT (id = ANY($${params.push(this.runs.map((x) => x.id))}::int[]))
        RETURNING 1)`);
      select = `SELECT pg_notify('${HISTORY_CHANNEL}', c) FROM unnest($${params.push(notifyPayloads([...this.changed]))}::text[]) AS c`;
      this.changed.clear();
    }
    if (!rowsOnly) this.runs.length = 0;
    if (!parts.length && select === 'SELECT 1') return;
    await m.query(parts.length ? `WITH ${parts.join(',\n')}\n${select}` : select, params);
  }
}

function toState(r: HistoryRow): TaskState {
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

/** State columns as parallel arrays for unnest(), after the given leading columns. */
function columns(states: TaskState[], leading: unknown[][]): unknown[][] {
  return [
    ...leading,
    states.map((s) => s.status),
    states.map((s) => s.timeStart),
    states.map((s) => s.timeEnd),
    states.map((s) => s.errorMessage),
    states.map((s) => s.closedReason),
    states.map((s) => (s.summary === null ? null : JSON.stringify(s.summary))),
    states.map((s) => JSON.stringify(s.custom)),
  ];
}
