import { IsOptional, IsString, Length, Matches } from 'class-validator';
import { FlagParam } from '../../common/http/validators';

export class PutClusterDto {
  /** Display name; defaults to `cluster-<id>` for a new cluster, unchanged for an existing one. */
  @IsOptional()
  @IsString()
  @Length(1, 255)
  name?: string;

  /** Release string as Fuel names it, e.g. `mitaka-9.0`; from 9.0 on, task history is recorded. */
  @IsString({ message: 'release must be a string such as mitaka-9.0' })
  @Length(1, 255)
  @Matches(/^([^-]+-\d+(\.\d+)*(-.*)?|\d+(\.\d+)*)$/, { message: 'release must carry a version, such as mitaka-9.0 or liberty-8.0' })
  release: string;
}

export class ResetQueryDto {
  /** Stop the runs in progress (they end `stopped`, their open tasks closed out) instead of refusing. */
  @FlagParam('force')
  force?: boolean;
}
