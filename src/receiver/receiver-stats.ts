import { Injectable, Optional } from '@nestjs/common';
import { Metrics } from '../common/metrics/metrics.service';
import { ReceiverStatsDto } from './dto/receiver-stats.dto';

/**
 * The receiver's accounting, in one place: counters served at GET /api/v1/receiver/stats, mirrored
 * into the Prometheus metrics (GET /metrics).
 */
@Injectable()
export class ReceiverStats {
  casts = 0;
  /** The same, by the way they came. */
  busCasts = 0;
  httpCasts = 0;
  applied = 0;
  duplicates = 0;
  deadLettered = 0;
  entriesSkipped = 0;
  /** Task reports received for runs of pre-9.0 clusters: the run is recorded, the tasks are not. */
  preHistoryTasksIgnored = 0;
  batches = 0;
  batchRetries = 0;
  /** Casts in committed batches, and the time spent writing them. */
  batchedCasts = 0;
  commitMs = 0;

  constructor(@Optional() private readonly metrics: Metrics = new Metrics()) {}

  received(method: string, source: 'bus' | 'http'): void {
    this.casts++;
    if (source === 'http') this.httpCasts++;
    else this.busCasts++;
    this.metrics.castReceived(method, source);
  }

  outcome(outcome: string): void {
    if (outcome === 'duplicate') this.duplicates++;
    else if (outcome !== 'unknown_transaction') this.applied++;
    this.metrics.castApplied(outcome);
  }

  skipped(reasons: string[]): void {
    this.entriesSkipped += reasons.length;
    for (const r of reasons) this.metrics.entrySkipped(r);
  }

  /** A cast applied with a warning (a bounded kind: a release kept out or unreadable, an unknown parent). */
  warning(kind: string): void {
    this.metrics.castWarning(kind);
  }

  preHistory(tasks: number): void {
    this.preHistoryTasksIgnored += tasks;
    this.metrics.preHistoryTasks(tasks);
  }

  deadLetter(reason: string): void {
    this.deadLettered++;
    this.metrics.castDeadLettered(reason);
  }

  /** A copy to the dead-letter queue failed (the message is then rejected to the queue's dead-letter exchange, or held and tried again). */
  deadLetterCopyFailed(): void {
    this.metrics.deadLetterCopyFailed();
  }

  deadLetterRejected(to: 'exchange' | 'policy_or_nowhere'): void {
    this.metrics.deadLetterRejectedTo(to);
  }

  deadLetterHeadersCut(dropped: number, truncated: number): void {
    this.metrics.deadLetterHeadersCutShort(dropped, truncated);
  }

  batchCommitted(casts: number, ms: number): void {
    this.batches++;
    this.batchedCasts += casts;
    this.commitMs += ms;
    this.metrics.batchCommitted(casts, ms / 1000);
  }

  /** HTTP requests written together in one transaction (HttpCastBatcher): the transactions, their requests and casts, their time. */
  httpBatches = 0;
  httpBatchedRequests = 0;
  httpBatchedCasts = 0;
  httpCommitMs = 0;

  httpBatchCommitted(requests: number, casts: number, ms: number): void {
    this.httpBatches++;
    this.httpBatchedRequests += requests;
    this.httpBatchedCasts += casts;
    this.httpCommitMs += ms;
    this.metrics.batchCommitted(casts, ms / 1000);
  }

  batchRetried(): void {
    this.batchRetries++;
    this.metrics.batchRetried();
  }

  snapshot(): ReceiverStatsDto {
    return {
      casts: this.casts,
      bus_casts: this.busCasts,
      http_casts: this.httpCasts,
      applied: this.applied,
      duplicates: this.duplicates,
      dead_lettered: this.deadLettered,
      entries_skipped: this.entriesSkipped,
      pre_history_tasks_ignored: this.preHistoryTasksIgnored,
      batches: this.batches,
      batch_retries: this.batchRetries,
      batched_casts: this.batchedCasts,
      commit_ms: Math.round(this.commitMs),
      http_batches: this.httpBatches,
      http_batched_requests: this.httpBatchedRequests,
      http_batched_casts: this.httpBatchedCasts,
      http_commit_ms: Math.round(this.httpCommitMs),
    };
  }
}
