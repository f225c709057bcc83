import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RmqContext } from '@nestjs/microservices';
import type { ConfirmChannel as Channel, ConsumeMessage } from 'amqplib';
import { CastRejected, checkMessageBytes } from '../cast';
import { CastsService } from '../casts.service';
import { castPattern, UNSUPPORTED_PATTERN } from './astute.deserializer';
import { CastBatcher } from './cast-batcher.service';

/**
 * Casts from RabbitMQ. Every path ends in an ack (after the batch commits), a nack back to the queue
 * (a passing failure) or a dead-letter with the reason (a message that can never be applied).
 */
@Controller()
export class BusController {
  constructor(
    private readonly casts: CastsService,
    private readonly batcher: CastBatcher,
  ) {}

  @EventPattern(castPattern('transaction_start'))
  transactionStart(@Payload() cast: unknown, @Ctx() ctx: RmqContext) {
    return this.receive(cast, ctx);
  }

  @EventPattern(castPattern('transaction_resp'))
  transactionResp(@Payload() cast: unknown, @Ctx() ctx: RmqContext) {
    return this.receive(cast, ctx);
  }

  @EventPattern(castPattern('deploy_resp'))
  deployResp(@Payload() cast: unknown, @Ctx() ctx: RmqContext) {
    return this.receive(cast, ctx);
  }

  @EventPattern(UNSUPPORTED_PATTERN)
  unsupported(@Payload() data: { reason: string }, @Ctx() ctx: RmqContext) {
    this.casts.stats.received('unsupported', 'bus');
    return this.batcher.deadLetter(ctx.getChannelRef() as Channel, ctx.getMessage() as ConsumeMessage, data.reason);
  }

  private async receive(raw: unknown, ctx: RmqContext): Promise<void> {
    const channel = ctx.getChannelRef() as Channel;
    const message = ctx.getMessage() as ConsumeMessage;
    try {
      checkMessageBytes(message.content);
    } catch (e) {
      this.casts.stats.received('invalid', 'bus');
      return this.batcher.deadLetter(channel, message, (e as Error).message);
    }
    try {
      this.batcher.push({ cast: this.casts.parse(raw, 'bus'), channel, message });
    } catch (e) {
      const reason = e instanceof CastRejected ? e.message : `unexpected error: ${e instanceof Error ? e.message : String(e)}`;
      await this.batcher.deadLetter(channel, message, reason);
    }
  }
}
