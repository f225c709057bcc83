import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import { FLAG_MESSAGE, parseFlag } from '../../common/http/query';

/** `DELETE /transactions/:id?force=0|1`, as fuel2 task delete [-f] sends it. */
export class DeleteTransactionQueryDto {
  /** Delete a run in progress too (it is stopped first, its open tasks closed out); without it, only a finished run. */
  @IsOptional()
  @Transform(({ value }) => parseFlag(value))
  @IsBoolean({ message: FLAG_MESSAGE('force') })
  force?: boolean;
}
