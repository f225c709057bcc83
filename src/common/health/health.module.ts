import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { Readiness } from './readiness';
import { VersionController } from './version.controller';

/** Liveness, readiness (the database, the broker, and what feature modules register) and the version. */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController, VersionController],
  providers: [Readiness],
  exports: [Readiness],
})
export class HealthModule {}
