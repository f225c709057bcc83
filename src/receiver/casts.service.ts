import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InvalidInputError, NotFoundError } from '../common/errors/domain-errors';
import { LogThrottle } from '../common/logging/log-throttle';
import type { CommandOutcome } from '../history/store-commands';
import { CastRejected, isCastMethod, ParsedCast, parseCast } from './cast';
import { CastResultDto } from './dto/cast-result.dto';
import { HttpCastBatcher } from './http-batcher';
import { ReceiverStats } from './receiver-stats';

export const MAX_CASTS_PER_REQUEST = 10_000;

/**
 * Turns casts into store commands and accounts for the outcome. Used by the HTTP endpoints directly
 * and by the bus consumer through its batcher.
 */
@Injectable()
export class CastsService implements OnModuleDestroy {
  private readonly logger = new Logger('Receiver');
  /** Warnings repeat with every start of a misconfigured orchestrator: logged once per interval per cluster and kind, with a count. */
  private readonly warnings = new LogThrottle(this.logger);

  constructor(
    private readonly batcher: HttpCastBatcher,
    readonly stats: ReceiverStats,
  ) {}

  onModuleDestroy(): void {
    this.warnings.flush();
  }

  /** Validates a cast (counting it); throws CastRejected with the reason. */
  parse(raw: unknown, source: 'bus' | 'http', receivedAt = new Date()): ParsedCast {
    const method = (raw as { method?: unknown } | null)?.method;
    // Counted by method among the known ones only: a label value per name a sender makes up would grow the
    // metrics (and the service's memory) without bound.
    this.stats.received(isCastMethod(method) ? method : 'unknown', source);
    return parseCast(raw, receivedAt);
  }

  /**
   * `POST /casts`: one cast or a list, all validated first, then applied all or nothing, in a database
   * transaction shared with concurrent requests (HttpCastBatcher). Nothing is applied when one of them
   * cannot be (400 / 404 naming it); answered after the commit.
   */
  async applyHttp(body: unknown): Promise<CastResultDto[]> {
    const list = Array.isArray(body) ? body : [body];
    if (list.length === 0) throw new InvalidInputError('expected a cast or a non-empty list of casts');
    if (list.length > MAX_CASTS_PER_REQUEST) {
      throw new InvalidInputError(`at most ${MAX_CASTS_PER_REQUEST} casts per request, got ${list.length}`);
    }
    const receivedAt = new Date();
    const problems: string[] = [];
    const parsed = list.map((raw, i) => {
      try {
        return this.parse(raw, 'http', receivedAt);
      } catch (e) {
        if (!(e instanceof CastRejected)) throw e;
        problems.push(Array.isArray(body) ? `casts[${i}]: ${e.message}` : e.message);
        return null;
      }
    });
    if (problems.length) throw new InvalidInputError(problems.join('; '), problems);
    const casts = parsed as ParsedCast[];
    const outcomes = await this.batcher.apply(
      casts.map((c) => c.command),
      (rejected) =>
        new NotFoundError(rejected.map((r) => (Array.isArray(body) ? `casts[${r.index}]: ${r.reason}` : r.reason)).join('; '), rejected),
    );
    return casts.map((c, i) => this.account(c, outcomes[i]));
  }

  /** Counts and logs one applied cast; returns what was applied (POST /casts' answer). */
  account(cast: ParsedCast, outcome: CommandOutcome): CastResultDto {
    this.count(cast, outcome);
    return this.resultOf(cast, outcome);
  }

  /** What was applied of a cast, as POST /casts answers it. */
  resultOf(cast: ParsedCast, outcome: CommandOutcome): CastResultDto {
    const result: CastResultDto = { method: cast.method, task_uuid: cast.uuid, outcome: outcome.outcome, skipped: cast.skipped };
    switch (outcome.outcome) {
      case 'started':
        Object.assign(result, {
          transaction_id: outcome.transactionId,
          history_recorded: outcome.historyRecorded,
          rows_created: outcome.rows,
        });
        if (outcome.warnings.length) result.warnings = outcome.warnings.map((w) => w.message);
        break;
      case 'duplicate':
        result.transaction_id = outcome.transactionId;
        break;
      case 'applied':
        Object.assign(result, {
          transaction_id: outcome.transactionId,
          history_recorded: outcome.historyRecorded,
          tasks_applied: outcome.tasks,
        });
        break;
      case 'unknown_transaction':
        result.reason = outcome.reason;
        break;
    }
    return result;
  }

  /**
   * Counts and logs one applied cast: the metrics, what was skipped, warnings. The bus's casts (CastBatcher)
   * have no answer to build: counted only, as each of them is, hundreds per batch.
   */
  count(cast: ParsedCast, outcome: CommandOutcome): void {
    this.stats.outcome(outcome.outcome);
    if (cast.skipped.length) {
      this.stats.skipped(cast.skipped.map((s) => s.reason));
      for (const s of cast.skipped) this.logger.warn(`${cast.method} ${cast.uuid}: ${s.entry} skipped: ${s.reason}`);
    }
    if (outcome.outcome === 'started') {
      // Applied, but not as announced (a release kept out, or unreadable; an unknown parent): said in the
      // answer, the log and the metrics, never silently.
      for (const w of outcome.warnings) {
        this.stats.warning(w.kind);
        this.warnings.warn(`${w.kind}:${outcome.clusterId}`, `${cast.method} ${cast.uuid}: ${w.message}`);
      }
    } else if (outcome.outcome === 'applied' && !outcome.historyRecorded && cast.command.kind === 'report' && cast.command.tasks.length) {
      this.stats.preHistory(cast.command.tasks.length);
      this.logger.log(
        `${cast.method} ${cast.uuid}: ${cast.command.tasks.length} task reports not recorded: the cluster's release predates 9.0`,
      );
    }
  }
}
