import { Controller, HttpCode, HttpStatus, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { AdminOnly, ApiAuth } from '../common/auth';
import { ErrorDto } from '../common/errors/error.dto';
import { RetentionQueryDto, RetentionResultDto } from './dto/retention.dto';
import { RetentionService } from './retention.service';

@ApiTags('retention')
@ApiAuth()
@Controller('retention')
export class RetentionController {
  constructor(private readonly retention: RetentionService) {}

  /**
   * Deletes whole finished runs that ended more than `older_than_days` ago and/or beyond the last
   * `keep_runs` of each cluster (never a run in progress); reports what it removed and the disk used
   * before and after. `dry_run=true` only reports.
   */
  @Post()
  @AdminOnly()
  @HttpCode(HttpStatus.OK)
  @ApiOkResponse({ type: RetentionResultDto })
  @ApiBadRequestResponse({ type: ErrorDto, description: 'Neither older_than_days nor keep_runs given, or a bad value' })
  run(@Query() q: RetentionQueryDto): Promise<RetentionResultDto> {
    return this.retention.apply(
      { olderThanDays: q.older_than_days, keepRuns: q.keep_runs },
      { dryRun: q.dry_run === true, compact: q.compact === true },
    );
  }
}
