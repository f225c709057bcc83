import { FlagParam } from '../../common/http/validators';

/** `DELETE /transactions/:id?force=0|1`, as fuel2 task delete [-f] sends it. */
export class DeleteTransactionQueryDto {
  /** Delete a run in progress too (it is stopped first, its open tasks closed out); without it, only a finished run. */
  @FlagParam('force')
  force?: boolean;
}
