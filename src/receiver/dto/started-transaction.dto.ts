import { TransactionDto } from '../../history/dto/transaction.dto';

/** The run `POST /transactions` started, with what its start applied otherwise than announced. */
export class StartedTransactionDto extends TransactionDto {
  /**
   * Present when the start was applied with a warning (e.g. a release older than the cluster's, kept out),
   * or with a part skipped (`settings skipped: ...`: a snapshot that cannot be stored), as `POST /casts` says them.
   */
  warnings?: string[];
}
