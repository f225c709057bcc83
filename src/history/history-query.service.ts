import { Inject, Injectable } from '@nestjs/common';
import { promisify } from 'node:util';
import { brotliCompress, gunzip, gzip } from 'node:zlib';
import { ClusterRegistry } from '../clusters/cluster-registry';
import { InvalidInputError, NotFoundError } from '../common/errors/domain-errors';
import { BROTLI_OPTIONS } from '../common/http/compression';
import { compareNodes } from '../common/node-order';
import { CrossRunRowDto, HistoryRecord, HistoryRowDto } from './dto/history-row.dto';
import { CrossRunQueryDto, PagedHistoryQueryDto, RunHistoryQueryDto } from './dto/page-query.dto';
import { DiffDto, firstFailureOf, isoTime, SummaryDto, TaskDetailDto } from './dto/run-views.dto';
import { TransactionDto } from './dto/transaction.dto';
import { TASK_STATUSES, isFinalRun } from './task-state';
import { decodeCursor, encodeCursor, queryDigest } from './keyset';
import { HistoryRowsRepository, REPLICA_HISTORY_ROWS } from './persistence/history-rows.repository';
import type { RowScope } from './persistence/history-rows.sql';
import { isKeptList, KeptEncoding, KeptList, RunCache } from './persistence/run-cache';
import { TransactionsService } from './transactions.service';

/** A whole-run list is kept once its run ended only from this size (smaller ones take a few ms to build). */
export const LIST_CACHE_MIN_BYTES = 256 * 1024;

/** A run's whole list as JSON text, or encoded (a finished large run's kept list, sent as it is kept). */
export type RunListBody = { json: string } | { encoded: Buffer; encoding: KeptEncoding };

const gzipped = promisify(gzip);
const brotli = promisify(brotliCompress);
const inflated = promisify(gunzip);

/** The part of a run's summary that comes from its rows (the part kept once the run ended). */
type RowsSummary = Omit<SummaryDto, 'transaction' | 'duration_s'>;

export const DEFAULT_PAGE = 100;

export interface Page<T> {
  rows: T[];
  /** Cursor of the next page; null on the last page. */
  next: string | null;
}

/** Reads of task history: one run (whole or paged), its summary, one task, two runs compared, cross-run lists. */
@Injectable()
export class HistoryQueryService {
  constructor(
    private readonly transactions: TransactionsService,
    // The rows are read on the replica when there is one (they may lag behind the primary); the run
    // itself, and what is kept of it (RunCache: kept only if the primary's rows are still the version
    // the answer was built from), on the primary.
    @Inject(REPLICA_HISTORY_ROWS) private readonly rows: HistoryRowsRepository,
    private readonly cache: RunCache,
    private readonly clusters: ClusterRegistry,
  ) {}

  /**
   * One run's rows. Without limit/cursor: the whole list in Fuel's stable order (node, start time, task
   * name). With them: a page in time order, like the cross-run lists. Each row carries its task's
   * definition unless `include_definition=0`, or `definitions` is false (CSV: Fuel's columns only).
   */
  async listRun(transactionId: number, q: RunHistoryQueryDto, opts: { definitions: boolean }): Promise<Page<HistoryRowDto>> {
    await this.transactions.find(transactionId);
    const include = q.include_summary === true;
    const definitions = opts.definitions && q.include_definition !== false;
    if (this.isWholeRun(q)) {
      const rows = await this.rows.list({ transactionId }, q, { order: 'run', includeSummary: include, definitions });
      return { rows: rows.map((r) => HistoryRowDto.from(r, include)), next: null };
    }
    const page = await this.page({ transactionId }, q, definitions);
    return { rows: page.rows.map((r) => HistoryRowDto.from(r, include)), next: page.next };
  }

  /** True when a run's list was asked whole (no paging), as Fuel served it. */
  isWholeRun(q: PagedHistoryQueryDto): boolean {
    return q.limit === undefined && q.cursor === undefined && q.order === undefined;
  }

  /**
   * One run's whole list as JSON text, built by PostgreSQL (the fast path for large runs). A finished
   * large run's unfiltered list is kept once built (it only changes with a late report), gzipped, and then
   * served as kept (migrations/1764900000000-GzipListCache.ts says why). A small run's list is built each
   * time, at the cost of one query more than before lists were kept, not more. `accepted`: the encoding the
   * caller takes (null: none; a kept list is then inflated here).
   */
  async runJson(transactionId: number, q: RunHistoryQueryDto, accepted: KeptEncoding | null = null): Promise<RunListBody> {
    const run = await this.cache.list(transactionId, accepted ?? 'gzip');
    if (!run) throw new NotFoundError('Transaction not found'); // as TransactionsService.find says it
    const { include_definition: definitions = true, ...filters } = q;
    const shape = { includeSummary: q.include_summary === true, definitions };
    // Only the lists RunCache names are kept (the default one, what fuel2 and the page ask).
    if (!isKeptList(q) || !isFinalRun(run.status)) return { json: (await this.rows.runJson(transactionId, filters, shape)).body };
    if (run.list_cache !== null)
      return accepted ? { encoded: run.list_cache, encoding: accepted } : { json: (await inflated(run.list_cache)).toString() };
    const { body, version } = await this.rows.runJson(transactionId, filters, shape, true);
    if (body.length < LIST_CACHE_MIN_BYTES) return { json: body };
    const [gzip, br] = await Promise.all([gzipped(body), brotli(body, BROTLI_OPTIONS)]);
    const kept: KeptList = { gzip, br };
    await this.cache.keepIfUnchanged(transactionId, 'list_cache', kept, version);
    // Sent as it was kept (and as the next request gets it: the same bytes, the same ETag), not compressed again.
    return accepted ? { encoded: kept[accepted], encoding: accepted } : { json: body };
  }

  /** A cluster's rows across runs, or one node's (`nodeId` given: an id, `master`, null for cluster-level). */
  async listAcrossRuns(clusterId: number, nodeId: string | null | undefined, q: CrossRunQueryDto): Promise<Page<CrossRunRowDto>> {
    const page = await this.page({ clusterId, nodeId }, q);
    // A row of the cluster proves that it exists (clusters are never deleted): only an empty page asks, to
    // tell an unknown cluster (404) from one with nothing to show. One statement less per read (issue #17).
    if (!page.rows.length) await this.clusters.get(clusterId);
    return { rows: page.rows.map((r) => CrossRunRowDto.fromRun(r, q.include_summary === true)), next: page.next };
  }

  private async page(scope: RowScope, q: CrossRunQueryDto | RunHistoryQueryDto, definitions = false): Promise<Page<HistoryRecord>> {
    const limit = q.limit ?? DEFAULT_PAGE;
    const order = q.order ?? '-time_start';
    if ('since' in q && q.since && q.until && Date.parse(q.since) >= Date.parse(q.until)) {
      throw new InvalidInputError(`since (${q.since}) must be before until (${q.until})`);
    }
    // The digest covers everything that decides which rows come and in what order (not what each row shows).
    const { limit: _l, cursor: _c, include_summary: _s, ...filters } = q;
    if ('include_definition' in filters) delete filters.include_definition;
    const digest = queryDigest({ scope, order, filters });
    const after = q.cursor ? decodeCursor(q.cursor, digest) : undefined;
    const includeSummary = q.include_summary === true;
    const rows = await this.rows.list(scope, q, { order, limit: limit + 1, after, includeSummary, definitions });
    const more = rows.length > limit;
    const shown = more ? rows.slice(0, limit) : rows;
    const last = shown[shown.length - 1];
    return { rows: shown, next: more ? encodeCursor({ us: last.sort_us, id: String(last.id) }, digest) : null };
  }

  /** Counts per status and per node, the run's duration, its first failure and its slowest tasks. */
  async summary(transactionId: number): Promise<SummaryDto> {
    const tx = await this.transactions.find(transactionId);
    const rows = isFinalRun(tx.status) ? await this.finishedRunSummary(transactionId) : (await this.rowsSummary(transactionId)).summary;
    const end = tx.timeEnd ?? new Date();
    return {
      transaction: TransactionDto.from(tx),
      total: rows.total,
      statuses: rows.statuses,
      nodes: rows.nodes,
      duration_s: (end.getTime() - tx.timeStart.getTime()) / 1000,
      first_failure: rows.first_failure,
      slowest: rows.slowest,
    };
  }

  /** A finished run's summary: kept once computed (RunCache.keepIfUnchanged). */
  private async finishedRunSummary(transactionId: number): Promise<RowsSummary> {
    const kept = await this.cache.summary<RowsSummary>(transactionId);
    if (kept) return kept;
    const { summary, version } = await this.rowsSummary(transactionId);
    await this.cache.keepIfUnchanged(transactionId, 'summary_cache', JSON.stringify(summary), version);
    return summary;
  }

  /** What the summary says of the run's rows, from one scan of them, and the run's highest row version then. */
  private async rowsSummary(transactionId: number): Promise<{ summary: RowsSummary; version: string | null }> {
    const { counts, failure, slowest, version } = await this.rows.scan(transactionId);
    const statuses: Record<string, number> = Object.fromEntries(TASK_STATUSES.map((st) => [st, 0]));
    const nodes: Record<string, Record<string, number>> = {};
    let total = 0;
    // A stable order: nodes as lists show them, statuses in their life order.
    const life: readonly string[] = TASK_STATUSES;
    counts.sort((a, b) => compareNodes(a.node_id, b.node_id) || life.indexOf(a.status) - life.indexOf(b.status));
    for (const c of counts) {
      statuses[c.status] += c.n;
      const node = c.node_id ?? 'null';
      nodes[node] = { ...(nodes[node] ?? {}), [c.status]: c.n };
      total += c.n;
    }
    const summary: RowsSummary = {
      total,
      statuses,
      nodes,
      first_failure: failure ? firstFailureOf(failure) : null,
      slowest: (slowest ?? []).map((s) => ({
        node_id: s.node_id,
        task_name: s.task_name,
        status: s.status,
        time_start: isoTime(s.time_start)!,
        time_end: isoTime(s.time_end)!,
        duration_s: Math.round(s.ms) / 1000,
      })),
    };
    return { summary, version };
  }

  /** One task's full record, with its graph definition on its node, its run and its cluster. */
  async detail(transactionId: number, node: string, taskName: string): Promise<TaskDetailDto> {
    const tx = await this.transactions.find(transactionId);
    const nodeId = node === 'null' ? null : node;
    const row = await this.rows.detail(transactionId, nodeId, taskName);
    if (!row) {
      throw new NotFoundError(`No task '${taskName}' on node '${node}' in transaction ${transactionId}`);
    }
    const duration = row.time_start && row.time_end ? (row.time_end.getTime() - row.time_start.getTime()) / 1000 : null;
    return {
      ...HistoryRowDto.from(row, true),
      summary: row.summary ?? null,
      custom: row.custom ?? {},
      duration_s: duration,
      definition: row.node_definition ?? tx.tasksSnapshot?.[taskName] ?? null,
      transaction: TransactionDto.from(tx),
      cluster: { id: row.cluster_id, name: row.cluster_name, release: row.cluster_release },
    };
  }

  /** Two runs of the same cluster compared: per (node, task) where the status differs, and rows of one run only. */
  async diff(transactionId: number, otherId: number): Promise<DiffDto> {
    const [a, b] = [await this.transactions.find(transactionId), await this.transactions.find(otherId)];
    if (a.clusterId !== b.clusterId) {
      throw new InvalidInputError(
        `Transactions ${a.id} and ${b.id} belong to different clusters (${a.clusterId} and ${b.clusterId}): only runs of one cluster can be compared`,
      );
    }
    const load = async (id: number) => {
      const rows = await this.rows.statuses(id);
      return new Map(rows.map((r) => [`${r.node_id ?? '\u0000'}\u0001${r.task_name}`, r]));
    };
    const [ra, rb] = [await load(a.id), await load(b.id)];
    const changed: DiffDto['changed'] = [];
    const onlyA: DiffDto['only_in_transaction'] = [];
    for (const [k, r] of ra) {
      const o = rb.get(k);
      if (!o) onlyA.push(r);
      else if (o.status !== r.status)
        changed.push({ node_id: r.node_id, task_name: r.task_name, status: r.status, other_status: o.status });
    }
    const onlyB = [...rb].filter(([k]) => !ra.has(k)).map(([, r]) => r);
    const byNodeTask = (x: { node_id: string | null; task_name: string }, y: { node_id: string | null; task_name: string }) =>
      compareNodes(x.node_id, y.node_id) || x.task_name.localeCompare(y.task_name);
    return {
      transaction: TransactionDto.from(a),
      other: TransactionDto.from(b),
      changed: changed.sort(byNodeTask),
      only_in_transaction: onlyA.sort(byNodeTask),
      only_in_other: onlyB.sort(byNodeTask),
    };
  }
}
