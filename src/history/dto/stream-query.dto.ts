import { IsOptional, Matches } from 'class-validator';

export class StreamQueryDto {
  /** Resume after this message id (the highest row version already received). */
  @IsOptional()
  @Matches(/^\d{1,19}$/, { message: 'since must be the id of a message of this stream (digits)' })
  since?: string;
}
