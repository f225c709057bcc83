import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { VersionController } from './version.controller';

@Module({ imports: [TerminusModule.forRoot({ logger: false })], controllers: [HealthController, VersionController] })
export class HealthModule {}
