import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RmqContext } from '@nestjs/microservices';
import type { ConfirmChannel as Channel } from 'amqplib';
import { CastRejected } from '../cast';
import { CastsService } from '../casts.service';
import { DELIVERIES_PATTERN, readDelivery } from './astute.deserializer';
import { CastBatcher } from './cast-batcher.service';
import { errorMessage } from '../../common/errors/error-message';
import type { HeldMessage } from './held-message';

/**
 * Casts from RabbitMQ, a group of deliveries per event (bus-consumer.ts), each body read here once, in
 * turn (readDelivery: no group's parsed bodies alive at once). Every path ends in an ack (after the
 * batch commits), a nack back to the queue (a passing failure) or a dead-letter with the reason (a
 * message that can never be applied).
 */
@Controller()
export class BusController {
  constructor(
    private readonly casts: CastsService,
    private readonly batcher: CastBatcher,
  ) {}

  @EventPattern(DELIVERIES_PATTERN)
  // Typed unknown for Nest: the global ValidationPipe transforms a payload of a declared class or array type.
  async deliveries(@Payload() payload: unknown, @Ctx() ctx: RmqContext): Promise<void> {
    const messages = payload as HeldMessage[];
    const channel = ctx.getChannelRef() as Channel;
    const rejected: Promise<void>[] = [];
    // The group came in one turn of the event loop: one time of receipt for all (a cast with no time of its own takes it).
    const receivedAt = new Date();
    // In delivery order: a dead-letter takes its tag apart at once (CastBatcher.deadLetter), before later pushes.
    for (const message of messages) {
      try {
        const d = readDelivery(message);
        if (d.reason !== undefined) {
          this.casts.stats.received(d.kind, 'bus');
          rejected.push(this.batcher.deadLetter(channel, message, d.reason));
          continue;
        }
        this.batcher.push(this.casts.parse(d.cast, 'bus', receivedAt), message, channel);
      } catch (e) {
        const reason = e instanceof CastRejected ? e.message : `unexpected error: ${errorMessage(e)}`;
        rejected.push(this.batcher.deadLetter(channel, message, reason));
      }
    }
    await Promise.all(rejected);
  }
}
