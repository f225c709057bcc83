import { Get, Param, UseGuards, UseInterceptors } from '@nestjs/common';
import { ApiConflictResponse, ApiNotFoundResponse } from '@nestjs/swagger';
import { HistoryAvailableGuard } from '../../clusters/history-available.guard';
import { ErrorDto } from '../../common/errors/error.dto';
import { ApiController } from '../../common/http/api-controller';
import { IdPipe } from '../../common/http/id.pipe';
import { CriticalPathDto } from '../dto/critical-path.dto';
import { CriticalPathService } from './critical-path.service';
import { PlansMaterialized } from '../plans-materialized';

@ApiController('transactions', 'transactions/:transaction_id', { body: false })
@UseInterceptors(PlansMaterialized)
@UseGuards(HistoryAvailableGuard)
@ApiConflictResponse({
  type: ErrorDto,
  description: "The run's cluster predates release 9.0, or the run was recorded before its upgrade: no task history",
})
@ApiNotFoundResponse({ type: ErrorDto, description: '{"message": "Transaction not found"}' })
export class CriticalPathController {
  constructor(private readonly paths: CriticalPathService) {}

  /**
   * The chain of (node, task) that determined the run's duration (issue #15): from the task that ended
   * last, back through the dependency that finished last before each step started (its `requires`, on
   * any node; where the graph says nothing, the task before it on its node), with each step's wait (time
   * in the orchestrator) and the totals. A graph without dependencies gives the same-node chain
   * (`fallback`); a running run, the path so far (`running`). Computed once for a finished run, then kept.
   */
  @Get('critical_path')
  criticalPath(@Param('transaction_id', new IdPipe('transaction id')) id: number): Promise<CriticalPathDto> {
    return this.paths.criticalPath(id);
  }
}
