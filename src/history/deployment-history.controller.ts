import { applyDecorators, Get, Headers, Param, Query, Req, Res, StreamableFile, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse, ApiProduces, ApiTooManyRequestsResponse } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { HistoryAvailableGuard } from '../clusters/history-available.guard';
import { ErrorDto } from '../common/errors/error.dto';
import { ApiController, ApiListResponse } from '../common/http/api-controller';
import { strongEtag } from '../common/http/etag';
import { IdPipe } from '../common/http/id.pipe';
import { listResponse } from '../common/http/list-response';
import { isBigintText } from '../common/http/query';
import { CSV_COLUMNS, HistoryRowDto } from './dto/history-row.dto';
import { RunHistoryQueryDto } from './dto/page-query.dto';
import { DiffDto, SummaryDto, TaskDetailDto } from './dto/run-views.dto';
import { HistoryQueryService } from './history-query.service';
import { LiveHistoryService } from './live-history.service';
import { StreamQueryDto } from './dto/stream-query.dto';
import { TaskQueryDto } from './dto/task-query.dto';
import { PlansMaterialized } from './plans-materialized';

/** The run's task history exists (HistoryAvailableGuard): 409 for a run of a pre-9.0 cluster. */
const RecordedHistoryOnly = () =>
  applyDecorators(
    UseGuards(HistoryAvailableGuard),
    ApiConflictResponse({
      type: ErrorDto,
      description: "The run's cluster predates release 9.0, or the run was recorded before its upgrade: no task history",
    }),
  );

@ApiController('deployment history', 'transactions/:transaction_id/deployment_history')
@UseInterceptors(PlansMaterialized)
@RecordedHistoryOnly()
@ApiNotFoundResponse({ type: ErrorDto, description: '{"message": "Transaction not found"}' })
export class DeploymentHistoryController {
  constructor(
    private readonly history: HistoryQueryService,
    private readonly live: LiveHistoryService,
  ) {}

  /**
   * Every task of one run on every node: a bare JSON list, or Fuel's CSV with `Accept: text/csv`.
   * Whole and in Fuel's order by default; with `limit`/`cursor`/`order`, paged in time order with a
   * `Link: rel="next"` header. Each JSON row carries its task's definition on its node (as Fuel 10's did:
   * what `fuel2 task history show -p` prints), unless `include_definition=0`; CSV keeps Fuel's columns.
   */
  @Get()
  @ApiListResponse(HistoryRowDto, 'rel="next": the next page, while more rows exist (paged requests)')
  async list(
    @Param('transaction_id', new IdPipe('transaction id')) id: number,
    @Query() q: RunHistoryQueryDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<HistoryRowDto[] | string | StreamableFile | undefined> {
    const csv = req.accepts(['application/json', 'text/csv']) === 'text/csv';
    if (this.history.isWholeRun(q) && !csv) {
      res.type('application/json');
      // Brotli where it is taken, as the compression middleware prefers it; else gzip; else none.
      const accepted = req.acceptsEncodings('br') ? 'br' : req.acceptsEncodings('gzip') ? 'gzip' : null;
      const body = await this.history.runJson(id, q, accepted);
      if ('json' in body) return body.json;
      // A kept list: sent as kept (the compression middleware leaves an encoded answer alone), revalidated
      // like every other read (Express's own ETag needs a body it sends itself): a client that names its
      // ETag gets 304 from Express's send when the route's reply ends with no body.
      res.vary('Accept-Encoding');
      res.setHeader('ETag', strongEtag(body.encoded));
      if (req.fresh) return undefined;
      res.setHeader('Content-Encoding', body.encoding);
      return new StreamableFile(body.encoded, { length: body.encoded.length });
    }
    const page = await this.history.listRun(id, q, { definitions: !csv });
    return listResponse(req, res, page, { columns: CSV_COLUMNS, filename: `transaction-${id}-deployment-history.csv` });
  }

  /**
   * Live view (Server-Sent Events): `rows` (first all, in events of at most 1,000 rows, then only the
   * changed rows, summary included), `transaction` (the run, when it changes), `end` (the run is
   * over), `heartbeat`, `shutdown` (the service stops: reconnect later and resume). Resume with
   * `Last-Event-ID` or `?since=<id of the last rows event>`. At most STREAM_MAX_CLIENTS streams in all
   * and STREAM_MAX_PER_TOKEN per token: 429 over either.
   */
  @Get('stream')
  @ApiProduces('text/event-stream')
  @ApiTooManyRequestsResponse({ type: ErrorDto, description: 'Too many live streams open, in all or for this token: retry later' })
  async stream(
    @Param('transaction_id', new IdPipe('transaction id')) id: number,
    @Query() q: StreamQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    // Refused before the first byte, so an unknown run is still a plain 404 and a stream too many a 429.
    await this.live.stream(id, q.since ?? (isBigintText(lastEventId) ? lastEventId : undefined), req, res);
  }

  /** The run at a glance: counts per status and per node, duration, first failure, slowest tasks. */
  @Get('summary')
  summary(@Param('transaction_id', new IdPipe('transaction id')) id: number): Promise<SummaryDto> {
    return this.history.summary(id);
  }

  /**
   * One task's full record, the task named in the query: `?node_id=1&task_name=..`. The same answer as
   * `:node_id/:task_name`, for names a URL path cannot carry (`.` and `..`: clients resolve them away).
   */
  @Get('task')
  task(@Param('transaction_id', new IdPipe('transaction id')) id: number, @Query() q: TaskQueryDto): Promise<TaskDetailDto> {
    return this.history.detail(id, q.node_id, q.task_name);
  }

  /** One task's full record (`node_id`: a node id, `master`, or `null` for a cluster-level task). */
  @Get(':node_id/:task_name')
  detail(
    @Param('transaction_id', new IdPipe('transaction id')) id: number,
    @Param('node_id') node: string,
    @Param('task_name') task: string,
  ): Promise<TaskDetailDto> {
    return this.history.detail(id, node, task);
  }
}

@ApiController('deployment history', 'transactions/:transaction_id/diff')
@UseInterceptors(PlansMaterialized)
@RecordedHistoryOnly()
export class RunDiffController {
  constructor(private readonly history: HistoryQueryService) {}

  /** What changed between two runs of the same cluster: differing statuses, and tasks of one run only. */
  @Get(':other_id')
  @ApiNotFoundResponse({ type: ErrorDto, description: 'One of the runs does not exist' })
  diff(
    @Param('transaction_id', new IdPipe('transaction id')) id: number,
    @Param('other_id', new IdPipe('other transaction id')) other: number,
  ): Promise<DiffDto> {
    return this.history.diff(id, other);
  }
}
