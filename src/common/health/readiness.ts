import { Injectable } from '@nestjs/common';

export interface ReadinessState {
  up: boolean;
  /** Shown in GET /health/ready (why it is down, since when). */
  [detail: string]: unknown;
}

/**
 * Readiness checks contributed by feature modules (the bus consumer paused during a database outage,
 * say) without `common` knowing them: each registers a name and a function giving its state.
 */
@Injectable()
export class Readiness {
  private readonly checks = new Map<string, () => ReadinessState>();

  register(name: string, check: () => ReadinessState): void {
    this.checks.set(name, check);
  }

  all(): Array<[string, () => ReadinessState]> {
    return [...this.checks];
  }
}
