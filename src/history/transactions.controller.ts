import { Delete, Get, HttpCode, HttpStatus, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNoContentResponse, ApiNotFoundResponse } from '@nestjs/swagger';
import { AdminOnly } from '../common/auth';
import { ErrorDto } from '../common/errors/error.dto';
import { ApiController } from '../common/http/api-controller';
import { IdPipe } from '../common/http/id.pipe';
import { DeleteTransactionQueryDto } from './dto/delete-transaction-query.dto';
import { RunNodeDto } from './dto/run-node.dto';
import { ListTransactionsQueryDto } from './dto/list-transactions-query.dto';
import { TransactionDto } from './dto/transaction.dto';
import { RUNNING_RUN_MESSAGE, TransactionsService } from './transactions.service';

@ApiController('transactions', 'transactions')
export class TransactionsController {
  constructor(private readonly transactions: TransactionsService) {}

  /** Runs, oldest first, filtered by cluster, status and name. */
  @Get()
  list(@Query() q: ListTransactionsQueryDto): Promise<TransactionDto[]> {
    return this.transactions.list(q);
  }

  /** One run. */
  @Get(':transaction_id')
  @ApiNotFoundResponse({ type: ErrorDto, description: '{"message": "Transaction not found"}' })
  get(@Param('transaction_id', new IdPipe('transaction id')) id: number): Promise<TransactionDto> {
    return this.transactions.get(id);
  }

  /**
   * The run's nodes as the orchestrator described them when the run started (roles, host name), in node
   * order; [] when it described none (a run of a release before 9.0, or a start without nodes).
   */
  @Get(':transaction_id/nodes')
  @ApiNotFoundResponse({ type: ErrorDto, description: '{"message": "Transaction not found"}' })
  nodes(@Param('transaction_id', new IdPipe('transaction id')) id: number): Promise<RunNodeDto[]> {
    return this.transactions.nodes(id);
  }

  /**
   * Deletes a run with its task rows (`fuel2 task delete ID [-f]`), as Nailgun did: a finished run
   * (`ready`, `error`, `stopped`), or with `force=1` one in progress (stopped first). Its cluster state
   * entries go back to the best remaining ready rows; its live streams end with a `deleted` event.
   */
  @Delete(':transaction_id')
  @AdminOnly()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiBadRequestResponse({ type: ErrorDto, description: `The run is in progress and force was not given: "${RUNNING_RUN_MESSAGE}"` })
  @ApiNotFoundResponse({ type: ErrorDto, description: '{"message": "Transaction not found"}' })
  async remove(@Param('transaction_id', new IdPipe('transaction id')) id: number, @Query() q: DeleteTransactionQueryDto): Promise<void> {
    await this.transactions.delete(id, q.force === true);
  }
}
