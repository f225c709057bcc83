import { Module } from '@nestjs/common';
import { HistoryModule } from '../history/history.module';
import { CastsController } from './casts.controller';
import { CastsService } from './casts.service';
import { HttpCastBatcher } from './http-batcher';
import { IngestBatcher } from './ingest-batcher';
import { ReceiverStats } from './receiver-stats';
import { BusConsumer } from './rmq/bus-consumer';
import { BusController } from './rmq/bus.controller';
import { CastBatcher } from './rmq/cast-batcher.service';
import { DeadLetterer } from './rmq/dead-letterer.service';
import { QueueLagProbe } from './rmq/queue-lag.probe';

/** Takes Astute-format casts from RabbitMQ and over HTTP, and hands them to the store. */
@Module({
  imports: [HistoryModule],
  controllers: [CastsController, BusController],
  providers: [CastsService, IngestBatcher, HttpCastBatcher, ReceiverStats, CastBatcher, DeadLetterer, QueueLagProbe, BusConsumer],
})
export class ReceiverModule {}
