import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { FlagParam, IsTime, ListParam } from '../../common/http/validators';
import { HistoryQueryDto } from './history-query.dto';

export const MAX_PAGE = 1000;
export const ORDERS = ['-time_start', 'time_start'] as const;
export type Order = (typeof ORDERS)[number];
export const EPOCHS = ['all', 'current'] as const;

/** Keyset pagination: `limit`, `cursor` (from the `Link: rel="next"` header), `order`. */
export class PagedHistoryQueryDto extends HistoryQueryDto {
  /** Rows per page, 1 to 1000 (default 100 on cross-run lists; the per-run list is whole unless given). */
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: `limit must be an integer from 1 to ${MAX_PAGE}` })
  @Min(1, { message: `limit must be an integer from 1 to ${MAX_PAGE}` })
  @Max(MAX_PAGE, { message: `limit must be an integer from 1 to ${MAX_PAGE}` })
  limit?: number;

  /** Opaque cursor of the next page, as given in the previous page's `Link` header. */
  @IsOptional()
  @IsString()
  @MaxLength(500)
  cursor?: string;

  /** `-time_start` (newest first, the default) or `time_start` (oldest first). */
  @IsOptional()
  @IsIn(ORDERS, { message: `order must be one of: ${ORDERS.join(', ')}` })
  order?: Order;
}

/** A run's list: its filters and pages, and whether its rows carry their task's definition. */
export class RunHistoryQueryDto extends PagedHistoryQueryDto {
  /**
   * Merge each task's definition on its node (`parameters`, `requires`, `roles`...) into its row, as Fuel
   * 10 did (1/0, true/false; default 1). 0 gives the light rows: the columns, custom keys, summary if asked.
   */
  @FlagParam('include_definition')
  include_definition?: boolean;
}

/** Filters of the cross-run lists (a cluster's, a node's). */
export class CrossRunQueryDto extends PagedHistoryQueryDto {
  /** Comma-separated run names, e.g. `deployment,dry_run_deployment`. */
  @ListParam()
  transaction_types?: string[];

  /** Only rows whose task started (else ended, else was announced) at or after this ISO 8601 time. */
  @IsOptional()
  @IsTime({ message: 'since must be an ISO 8601 time, e.g. 2026-03-01T00:00:00Z' })
  since?: string;

  /** Only rows whose task started (else ended, else was announced) before this ISO 8601 time. */
  @IsOptional()
  @IsTime({ message: 'until must be an ISO 8601 time, e.g. 2026-03-08T00:00:00Z' })
  until?: string;

  /** Only dry runs (true) or only real runs (false). */
  @FlagParam('dry_run')
  dry_run?: boolean;

  /** `all` (default): every run; `current`: only runs since the cluster's last reset. */
  @IsOptional()
  @IsIn(EPOCHS, { message: `epoch must be one of: ${EPOCHS.join(', ')}` })
  epoch?: (typeof EPOCHS)[number];
}
