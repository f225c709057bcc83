import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiTags } from '@nestjs/swagger';
import { ApiAuth } from '../common/auth';
import { ErrorDto } from '../common/errors/error.dto';
import { IdPipe } from '../common/http/id.pipe';
import { ListTransactionsQueryDto } from './dto/list-transactions-query.dto';
import { TransactionDto } from './dto/transaction.dto';
import { TransactionsService } from './transactions.service';

@ApiBadRequestResponse({ type: ErrorDto, description: 'A parameter or the body is invalid: the message says which and why' })
@ApiTags('transactions')
@ApiAuth()
@Controller('transactions')
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
}
