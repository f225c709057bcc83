import { applyDecorators, Body, Get, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { AdminOnly } from '../common/auth';
import { ErrorDto } from '../common/errors/error.dto';
import { ApiController } from '../common/http/api-controller';
import { LargeBody } from '../common/http/request-body';
import { TransactionsService } from '../history/transactions.service';
import { CASTS_BODY, TRANSACTION_START_ARGS } from './cast.schema';
import { CastsService } from './casts.service';
import { IngestBusyError } from './http-batcher';
import { CastResultDto } from './dto/cast-result.dto';
import { ReceiverStatsDto } from './dto/receiver-stats.dto';
import { StartedTransactionDto } from './dto/started-transaction.dto';
import { START_METHOD } from './cast-format';

/**
 * The 503 of a write (issue #17: it was answered, but missing from the OpenAPI document): never the
 * casts' fault, and nothing of them applied, so the client sends the same again.
 */
const ApiStoreUnavailableResponse = () =>
  applyDecorators(
    ApiServiceUnavailableResponse({
      type: ErrorDto,
      description:
        'Nothing was applied; send the same again after Retry-After seconds. The database did not answer (within seconds), ' +
        'or too many requests or large bodies are waiting to be written.',
      headers: { 'Retry-After': { description: 'Seconds to wait before sending again', schema: { type: 'integer' } } },
    }),
  );

@ApiController('receiver')
export class CastsController {
  constructor(
    private readonly casts: CastsService,
    private readonly transactions: TransactionsService,
  ) {}

  /**
   * Astute-format casts over HTTP: one cast or a list, validated as on the bus and applied all or
   * nothing, in a database transaction shared with concurrent requests. Returns what was applied, per
   * cast, once committed.
   */
  @Post('casts')
  @AdminOnly()
  @LargeBody()
  @HttpCode(HttpStatus.OK)
  @ApiBody({ schema: CASTS_BODY })
  @ApiOkResponse({ type: [CastResultDto] })
  @ApiBadRequestResponse({ type: ErrorDto, description: 'A cast is malformed; the message names it and why. Nothing was applied.' })
  @ApiNotFoundResponse({ type: ErrorDto, description: 'A cast refers to an unknown task_uuid. Nothing was applied.' })
  @ApiStoreUnavailableResponse()
  post(@Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<CastResultDto[]> {
    return busyAnswered(this.casts.applyHttp(body), res);
  }

  /**
   * Starts a run exactly like a `transaction_start` cast (the body is its `args`). 200 when already started.
   * A start applied with a warning (a release older than the cluster's is kept out), or with a part
   * skipped (a snapshot that cannot be stored), carries `warnings`.
   */
  @Post('transactions')
  @AdminOnly()
  @LargeBody()
  @ApiBody({ schema: TRANSACTION_START_ARGS })
  @ApiCreatedResponse({ type: StartedTransactionDto })
  @ApiOkResponse({ type: StartedTransactionDto, description: 'The run was already started: nothing changed.' })
  @ApiStoreUnavailableResponse()
  async start(@Body() args: unknown, @Res({ passthrough: true }) res: Response): Promise<StartedTransactionDto> {
    const [result] = await busyAnswered(this.casts.applyHttp({ method: START_METHOD, args }), res);
    if (result.outcome === 'duplicate') res.status(HttpStatus.OK);
    const run = await this.transactions.get(result.transaction_id!);
    // What was not applied (a snapshot that cannot be stored) is said as POST /casts says it in `skipped`.
    const warnings = [...(result.warnings ?? []), ...result.skipped.map((s) => `${s.entry} skipped: ${s.reason}`)];
    return warnings.length ? { ...run, warnings } : run;
  }

  /** Counters of the receiver since start. */
  @Get('receiver/stats')
  stats(): ReceiverStatsDto {
    return this.casts.stats.snapshot();
  }
}

/** Too many requests waiting for a batch: the 503 says when to come back (Retry-After). Also casts-fast-path.ts's. */
export async function busyAnswered<T>(work: Promise<T>, res: { setHeader(name: string, value: string): unknown }): Promise<T> {
  try {
    return await work;
  } catch (e) {
    if (e instanceof IngestBusyError) res.setHeader('Retry-After', String(e.retryAfterS));
    throw e;
  }
}
