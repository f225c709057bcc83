/** Counters of the receiver since the service started. */
export class ReceiverStatsDto {
  /** Casts received (bus and HTTP). */
  casts: number;
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
  /** Database transactions written by the bus consumer, and their retries. */
  batches: number;
  batch_retries: number;
  /** Casts in committed batches, and the milliseconds spent writing those batches. */
  batched_casts: number;
  commit_ms: number;
}
