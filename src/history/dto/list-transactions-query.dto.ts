import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { ListParam } from '../../common/http/validators';
import { RUN_STATUSES, RunStatus } from '../task-state';

export class ListTransactionsQueryDto {
  /** Only the runs of this cluster. */
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === '' ? undefined : typeof value === 'string' && /^\d{1,10}$/.test(value) ? Number(value) : value,
  )
  @IsInt({ message: 'cluster_id must be an integer' })
  @Min(0, { message: 'cluster_id must be an integer' })
  @Max(2 ** 31 - 1, { message: 'cluster_id must be an integer below 2^31' })
  cluster_id?: number;

  /** Comma-separated run statuses (pending, running, ready, error, stopped). */
  @ListParam()
  @IsIn(RUN_STATUSES, { each: true, message: `Statuses parameter could only be one of: ${RUN_STATUSES.join(', ')}` })
  statuses?: RunStatus[];

  /** Comma-separated run names, e.g. `deployment,dry_run_deployment`. */
  @ListParam()
  transaction_types?: string[];
}
