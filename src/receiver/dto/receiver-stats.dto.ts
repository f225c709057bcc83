/** Counters of the receiver since the service started. */
export class ReceiverStatsDto {
  /** Casts received (bus and HTTP, valid or not). */
  casts: number;
  /** Of them, those received from the bus. */
  bus_casts: number;
  /** Of them, those received over HTTP (POST /casts, POST /transactions). */
  http_casts: number;
  /** Casts applied to the store. */
  applied: number;
  /** transaction_start casts for a run already started: nothing changed. */
  duplicates: number;
  /** Messages sent to the dead-letter queue, each with its reason. */
  dead_lettered: number;
  /** nodes[] entries (or top-level fields) that could not be applied and were skipped. */
  entries_skipped: number;
  /** Task reports for runs of pre-9.0 clusters, whose tasks are not recorded. */
  pre_history_tasks_ignored: number;
  /** Database transactions written by the bus consumer, and the retries of batches (bus and HTTP). */
  batches: number;
  batch_retries: number;
  /** Casts in the bus consumer's committed batches, and the milliseconds spent writing those batches. */
  batched_casts: number;
  commit_ms: number;
  /** Database transactions written for HTTP requests (concurrent requests share one), and their requests. */
  http_batches: number;
  http_batched_requests: number;
  /** Casts in those committed transactions, and the milliseconds spent writing them. */
  http_batched_casts: number;
  http_commit_ms: number;
}
