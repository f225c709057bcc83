import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorFunction, HealthIndicatorService } from '@nestjs/terminus';
import * as amqp from 'amqplib';
import { Public } from '../auth/auth.decorators';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { StoreHealth } from '../database/store-health';
import { Readiness } from './readiness';
import { errorMessage } from '../errors/error-message';

@ApiTags('health')
@Controller('health')
@Public()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly store: StoreHealth,
    private readonly readiness: Readiness,
    private readonly indicators: HealthIndicatorService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Liveness: the process answers. */
  @Get()
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /**
   * Readiness: the database answers, and, when AMQP_URL is set, the broker does; plus what feature
   * modules register (the bus consumer: down while paused by a database outage).
   */
  @Get('ready')
  @HealthCheck()
  ready() {
    const checks: HealthIndicatorFunction[] = [() => this.database()];
    if (this.config.amqpUrl) checks.push(() => this.broker(this.config.amqpUrl!));
    for (const [name, state] of this.readiness.all()) {
      checks.push(() => {
        const { up, ...details } = state();
        return up ? this.indicators.check(name).up(details) : this.indicators.check(name).down(details);
      });
    }
    return this.health.check(checks);
  }

  private async database() {
    const check = this.indicators.check('database');
    if (await this.store.probe()) return check.up();
    const outage = this.store.outage();
    return check.down({ message: outage?.error ?? 'unavailable', since: outage?.since.toISOString() });
  }

  private async broker(url: string) {
    const check = this.indicators.check('broker');
    try {
      const conn = await amqp.connect(url, { timeout: 3000 });
      await conn.close();
      return check.up();
    } catch (e) {
      return check.down({ message: errorMessage(e) });
    }
  }
}
