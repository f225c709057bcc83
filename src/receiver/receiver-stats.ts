import { Injectable } from '@nestjs/common';
import { ReceiverStatsDto } from './dto/receiver-stats.dto';

/** Counters of what the receiver took in; served at GET /api/v1/receiver/stats. */
@Injectable()
export class ReceiverStats {
  casts = 0;
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

  snapshot(): ReceiverStatsDto {
    return {
      casts: this.casts,
      applied: this.applied,
      duplicates: this.duplicates,
      dead_lettered: this.deadLettered,
      entries_skipped: this.entriesSkipped,
      pre_history_tasks_ignored: this.preHistoryTasksIgnored,
      batches: this.batches,
      batch_retries: this.batchRetries,
      batched_casts: this.batchedCasts,
      commit_ms: Math.round(this.commitMs),
    };
  }
}
