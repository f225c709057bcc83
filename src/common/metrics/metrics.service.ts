import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Counts of a counter bumped for every cast, kept here by one label's value (no object, no string made per
 * count) and handed to the counter when the metrics are read (its `collect`): prom-client's own `inc`
 * hashes and checks the labels at every call, ~1 % of the service's CPU in the bus ingest (issue #17).
 * As many entries as the label's values (bounded, as every label here).
 */
class Tally<L extends string> {
  private readonly counts = new Map<string, number>();

  constructor(private readonly labelsOf: (value: string) => Partial<Record<L, string>>) {}

  add(value: string): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
  }

  flushInto(counter: Counter<L>): void {
    for (const [value, n] of this.counts) counter.inc(this.labelsOf(value), n);
    this.counts.clear();
  }
}

/**
 * The service's Prometheus metrics (served at /metrics). Feature modules report through these
 * methods; labels are bounded (methods, reason kinds, route templates), never free text or ids.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  private readonly receivedOnBus = new Tally<'method' | 'source'>((method) => ({ method, source: 'bus' }));
  private readonly receivedOverHttp = new Tally<'method' | 'source'>((method) => ({ method, source: 'http' }));
  private readonly appliedBy = new Tally<'outcome'>((outcome) => ({ outcome }));
  private readonly castsReceived: Counter<'method' | 'source'> = new Counter({
    name: 'dh_casts_received_total',
    help: 'Casts received, by method and source',
    labelNames: ['method', 'source'],
    registers: [this.registry],
    collect: () => {
      this.receivedOnBus.flushInto(this.castsReceived);
      this.receivedOverHttp.flushInto(this.castsReceived);
    },
  });
  private readonly castsApplied: Counter<'outcome'> = new Counter({
    name: 'dh_casts_applied_total',
    help: 'Casts applied to the store, by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
    collect: () => this.appliedBy.flushInto(this.castsApplied),
  });
  private readonly deadLettered = new Counter({
    name: 'dh_casts_dead_lettered_total',
    help: 'Messages sent to the dead-letter queue, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly deadLetterFailures = new Counter({
    name: 'dh_dead_letter_copy_failures_total',
    help: 'Attempts to copy a message to the dead-letter queue that failed',
    registers: [this.registry],
  });
  private readonly deadLetterRejected = new Counter({
    name: 'dh_dead_letter_rejected_total',
    help:
      'Messages rejected without requeue after their dead-letter copy failed: moved by the broker through the ' +
      "queue's dead-letter exchange (to=exchange), or dropped unless a policy names one (to=policy_or_nowhere)",
    labelNames: ['to'],
    registers: [this.registry],
  });
  private readonly deadLetterHeadersCut = new Counter({
    name: 'dh_dead_letter_headers_cut_total',
    help: 'Original headers left out of (dropped) or shortened in (truncated) dead-letter copies, to fit the frame',
    labelNames: ['how'],
    registers: [this.registry],
  });
  private readonly entriesSkipped = new Counter({
    name: 'dh_cast_entries_skipped_total',
    help: 'Parts of casts skipped (the rest applied), by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly castWarnings = new Counter({
    name: 'dh_cast_warnings_total',
    help:
      "Casts applied with a warning, by kind: a release older than the cluster's (older_release), " +
      'one with no readable version (unreadable_release), an unknown parent (unknown_parent)',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  private readonly runsDeleted = new Counter({
    name: 'dh_runs_deleted_total',
    help:
      'Runs deleted with their task rows, by cause: DELETE /transactions/:id (request), ' +
      'DELETE /clusters/:id/deployment_history (history_deletion), retention',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  private readonly rowsDeleted = new Counter({
    name: 'dh_history_rows_deleted_total',
    help: 'Task rows deleted with their runs, by cause (as dh_runs_deleted_total)',
    labelNames: ['cause'],
    registers: [this.registry],
  });
  private readonly preHistory = new Counter({
    name: 'dh_pre_history_task_reports_total',
    help: 'Task reports for runs of pre-9.0 clusters (not recorded)',
    registers: [this.registry],
  });
  private readonly batchSize = new Histogram({
    name: 'dh_batch_casts',
    help: 'Casts per database transaction of the bus consumer',
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000],
    registers: [this.registry],
  });
  private readonly commitSeconds = new Histogram({
    name: 'dh_batch_commit_seconds',
    help: 'Time to write and commit one batch',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly batchRetries = new Counter({
    name: 'dh_batch_retries_total',
    help: 'Batches retried after a passing database failure',
    registers: [this.registry],
  });
  readonly storeAvailable = new Gauge({
    name: 'dh_store_available',
    help: '1 while the database answers, 0 during an outage',
    registers: [this.registry],
  });
  private readonly storeOutages = new Counter({
    name: 'dh_store_outages_total',
    help: 'Times the database became unavailable',
    registers: [this.registry],
  });
  readonly consumerPaused = new Gauge({
    name: 'dh_consumer_paused',
    help: '1 while the bus consumer takes no deliveries (the database is unavailable)',
    registers: [this.registry],
  });
  readonly consumerLag = new Gauge({
    name: 'dh_consumer_queue_messages',
    help: 'Messages waiting in the consumed queue (consumer lag), when the bus is on',
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'dh_http_request_duration_seconds',
    help: 'HTTP request durations, by method, route template and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  private readonly largeBodies = new Gauge({
    name: 'dh_http_large_bodies',
    help:
      'Request bodies over 1 MB (POST /casts, POST /transactions) being read or handled (state=active), ' +
      'or waiting for their turn (state=waiting)',
    labelNames: ['state'],
    registers: [this.registry],
  });
  private readonly largeBodiesRefused = new Counter({
    name: 'dh_http_large_bodies_refused_total',
    help: 'Requests with a body over 1 MB answered 503 because as many as allowed were already active and waiting',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'dh_' });
  }

  castReceived(method: string, source: 'bus' | 'http'): void {
    (source === 'bus' ? this.receivedOnBus : this.receivedOverHttp).add(method);
  }
  castApplied(outcome: string): void {
    this.appliedBy.add(outcome);
  }
  castDeadLettered(reason: string): void {
    this.deadLettered.inc({ reason: reasonKind(reason) });
  }
  deadLetterCopyFailed(): void {
    this.deadLetterFailures.inc();
  }
  deadLetterRejectedTo(to: 'exchange' | 'policy_or_nowhere'): void {
    this.deadLetterRejected.inc({ to });
  }
  deadLetterHeadersCutShort(dropped: number, truncated: number): void {
    if (dropped) this.deadLetterHeadersCut.inc({ how: 'dropped' }, dropped);
    if (truncated) this.deadLetterHeadersCut.inc({ how: 'truncated' }, truncated);
  }
  entrySkipped(reason: string): void {
    this.entriesSkipped.inc({ reason: reasonKind(reason) });
  }
  castWarning(kind: string): void {
    this.castWarnings.inc({ kind });
  }
  runsDeletedBy(cause: 'request' | 'history_deletion' | 'retention', runs: number, rows: number): void {
    this.runsDeleted.inc({ cause }, runs);
    this.rowsDeleted.inc({ cause }, rows);
  }
  preHistoryTasks(n: number): void {
    this.preHistory.inc(n);
  }
  batchCommitted(casts: number, seconds: number): void {
    this.batchSize.observe(casts);
    this.commitSeconds.observe(seconds);
  }
  batchRetried(): void {
    this.batchRetries.inc();
  }
  storeOutage(): void {
    this.storeOutages.inc();
  }
  largeBodiesNow(active: number, waiting: number): void {
    this.largeBodies.set({ state: 'active' }, active);
    this.largeBodies.set({ state: 'waiting' }, waiting);
  }
  largeBodyRefused(): void {
    this.largeBodiesRefused.inc();
  }
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }
}

/** A bounded label for a free-text reason: its kind, not its details (no uuids, names or values). */
export function reasonKind(reason: string): string {
  const rules: Array<[RegExp, string]> = [
    [/unknown method|has no "method"/, 'unknown_method'],
    [/not a JSON object|must be a JSON object/, 'not_an_object'],
    [/unknown transaction/, 'unknown_transaction'],
    [/task_uuid/, 'bad_task_uuid'],
    [/unknown task_status|missing task_status/, 'bad_task_status'],
    [/deployment_graph_task_name/, 'bad_task_name'],
    [/uid/, 'bad_uid'],
    [/time|UTC offset/, 'bad_time'],
    [/NUL character|lone surrogate|invalid UTF-16/, 'unstorable_text'],
    [/nested deeper/, 'too_deep'],
    [/must be at most \d+ characters/, 'too_long'],
    [/too large|exceeds/, 'too_large'],
    [/cannot be stored/, 'store_failure'],
    [/tasks_graph|cluster|release|dry_run|args/, 'bad_args'],
    [/status|progress|error/, 'bad_run_report'],
  ];
  for (const [re, kind] of rules) if (re.test(reason)) return kind;
  return 'other';
}
