import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { FlagParam } from '../../common/http/validators';

export class RetentionQueryDto {
  /** Delete finished runs that ended more than this many days ago. */
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'older_than_days must be an integer from 0 to 36500' })
  @Min(0, { message: 'older_than_days must be an integer from 0 to 36500' })
  @Max(36500, { message: 'older_than_days must be an integer from 0 to 36500' })
  older_than_days?: number;

  /** Keep only the last N runs of each cluster (finished runs beyond them are deleted). */
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'keep_runs must be an integer from 1 to 1000000' })
  @Min(1, { message: 'keep_runs must be an integer from 1 to 1000000' })
  @Max(1_000_000, { message: 'keep_runs must be an integer from 1 to 1000000' })
  keep_runs?: number;

  /** Report what would be removed, remove nothing. */
  @FlagParam('dry_run')
  dry_run?: boolean;

  /**
   * Also give back to the system the space of runs deleted row by row (VACUUM FULL of the history
   * partitions they were in: rewrites them and holds writes back while it runs). Without it, that space
   * is freed for reuse by new history. The space of a range of runs removed whole (its partition
   * dropped) is given back at once either way.
   */
  @FlagParam('compact')
  compact?: boolean;
}

export class RetentionClusterDto {
  cluster_id: number;
  transactions: number;
  rows: number;
}

/** What a retention pass removed (or would remove, on a dry run). */
export class RetentionResultDto {
  dry_run: boolean;
  older_than_days: number | null;
  keep_runs: number | null;
  transactions: number;
  rows: number;
  clusters: RetentionClusterDto[];
  /**
   * History partitions dropped whole (each a range of runs all of which went; on a dry run, those that
   * would be): their space is back at once. The other runs' rows were deleted one by one.
   */
  partitions_dropped: string[];
  /** Disk used by the history tables before and after, in bytes. */
  disk_before_bytes: number;
  disk_after_bytes: number;
  seconds: number;
}
