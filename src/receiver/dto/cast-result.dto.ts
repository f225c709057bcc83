/** A part of a cast that was not applied. */
export class SkippedEntryDto {
  /** Which part: `nodes[3]`, `status`, `progress`, ... */
  entry: string;
  reason: string;
}

/** What happened to one cast. */
export class CastResultDto {
  method: string;
  task_uuid: string;
  /** started | duplicate (a start seen before: nothing changed) | applied | unknown_transaction */
  outcome: string;
  transaction_id?: number;
  /** False for a pre-9.0 cluster: the run is recorded, its tasks are not. */
  history_recorded?: boolean;
  /** Pending rows created by a start. */
  rows_created?: number;
  /** Task reports merged into the history. */
  tasks_applied?: number;
  /** Parts of the cast that were not applied, each with the reason; the rest was. */
  skipped: SkippedEntryDto[];
  /** What was applied otherwise than announced (e.g. a release older than the cluster's, kept out), each said once. */
  warnings?: string[];
  reason?: string;
}
