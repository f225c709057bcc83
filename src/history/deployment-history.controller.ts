import { Controller, Get, Headers, Param, Query, Res, UseGuards } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { HistoryAvailableGuard } from '../clusters/history-available.guard';
import { IdPipe } from '../common/http/id.pipe';
import { HistoryQueryDto } from './dto/history-query.dto';
import { HistoryRowDto } from './dto/history-row.dto';
import { HistoryQueryService } from './history-query.service';

@ApiTags('deployment history')
@Controller('transactions/:transaction_id/deployment_history')
@UseGuards(HistoryAvailableGuard)
@ApiConflictResponse({ description: "The run's cluster predates release 9.0: it has no task history" })
export class DeploymentHistoryController {
  constructor(private readonly history: HistoryQueryService) {}

  /** Every task of one run on every node, as a bare JSON list, or Fuel's CSV with `Accept: text/csv`. */
  @Get()
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: [HistoryRowDto] })
  @ApiNotFoundResponse({ description: '{"message": "Transaction not found"}' })
  async list(
    @Param('transaction_id', new IdPipe('transaction id')) id: number,
    @Query() q: HistoryQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<HistoryRowDto[] | string> {
    const rows = await this.history.list(id, q);
    if (!wantsCsv(accept)) return rows;
    res.type('text/csv; charset=utf-8');
    res.attachment(`transaction-${id}-deployment-history.csv`);
    return this.history.toCsv(rows);
  }
}

function wantsCsv(accept: string | undefined): boolean {
  return !!accept && /(^|,)\s*text\/csv/i.test(accept);
}
