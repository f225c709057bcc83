import { Get, Param, Res } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorDto } from '../common/errors/error.dto';
import { ApiController } from '../common/http/api-controller';
import { IdPipe } from '../common/http/id.pipe';
import type { SnapshotKind } from './persistence/run-snapshots.repository';
import { RunSnapshotsService } from './run-snapshots.service';

const RUN_ID = new IdPipe('transaction id');
const DEPLOYMENT_INFO = {
  type: 'object' as const,
  properties: {
    common: { type: 'object' as const },
    nodes: { type: 'object' as const, additionalProperties: { type: 'object' as const } },
  },
};
const ABSENT = '"Transaction not found", or the run did not record it (its start sent none, or one that was refused)';

/**
 * What a run was deployed with, as `fuel2 task deployment-info|settings|network-configuration download ID`
 * asks it (`GET /api/v1/transactions/ID/deployment_info`...) and writes it to a YAML file. Any run's,
 * whatever its release: they are the run's own records, as the run itself is (not its task history,
 * which needs 9.0).
 */
@ApiController('transactions', 'transactions/:transaction_id', { body: false })
@ApiNotFoundResponse({ type: ErrorDto, description: ABSENT })
export class RunSnapshotsController {
  constructor(private readonly snapshots: RunSnapshotsService) {}

  /** The deployment info the run's start sent: `{"common": {...}, "nodes": {"<uid>": {...}}}`, as Fuel 10 served it. */
  @Get('deployment_info')
  @ApiOkResponse({ schema: DEPLOYMENT_INFO })
  deploymentInfo(@Param('transaction_id', RUN_ID) id: number, @Res({ passthrough: true }) res: Response): Promise<string> {
    return this.answer(id, 'deployment_info', res);
  }

  /** The cluster settings the run's start sent (Fuel 10: `{"editable": {...}}`). */
  @Get('settings')
  @ApiOkResponse({ schema: { type: 'object' } })
  settings(@Param('transaction_id', RUN_ID) id: number, @Res({ passthrough: true }) res: Response): Promise<string> {
    return this.answer(id, 'settings', res);
  }

  /** The network configuration the run's start sent (Fuel 10: `{"networks": [...], "networking_parameters": {...}}`). */
  @Get('network_configuration')
  @ApiOkResponse({ schema: { type: 'object' } })
  networkConfiguration(@Param('transaction_id', RUN_ID) id: number, @Res({ passthrough: true }) res: Response): Promise<string> {
    return this.answer(id, 'network_configuration', res);
  }

  private async answer(id: number, kind: SnapshotKind, res: Response): Promise<string> {
    const body = await this.snapshots.json(id, kind);
    res.type('application/json');
    return body;
  }
}
