import { IsOptional, ValidateBy } from 'class-validator';
import { isBigintText } from '../../common/http/query';

export class StreamQueryDto {
  /** Resume after this message id (the highest row version already received). */
  @IsOptional()
  @ValidateBy({ name: 'isVersion', validator: { validate: isBigintText } }, { message: 'since must be the id of a message of this stream' })
  since?: string;
}
