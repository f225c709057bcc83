/**
 * The wire format's vocabulary and limits, in one place: the parser (cast.ts) checks casts against them,
 * the builder (cast-builder.ts) writes casts with them, and the OpenAPI schema (cast.schema.ts) is built
 * from them. Pure: no framework, no database, so the simulator and the bench can import it.
 *
 * A cast is Astute's message `{"method": "<name>", "args": {...}}`: `transaction_start` announces a run
 * and its task graph; `transaction_resp` (Fuel 10+) or `deploy_resp` (Fuel 9.x) reports task statuses in
 * `args.nodes[]` and/or the run's own `status` / `progress` / `error`.
 */

import type { ReportedStatus } from '../history/task-state';

/** The method that announces a run (our addition, shaped after Nailgun's `task_deploy` args). */
export const START_METHOD = 'transaction_start';
/** The methods that report on a run: Fuel 10+, then Fuel 9.x; both carry the same args. */
export const REPORT_METHODS = ['transaction_resp', 'deploy_resp'] as const;
export const CAST_METHODS = [START_METHOD, ...REPORT_METHODS] as const;
export type CastMethod = (typeof CAST_METHODS)[number];
export type ReportMethod = (typeof REPORT_METHODS)[number];

/**
 * A node entry's `task_status` as sent, and the status it stands for: our names, and Astute's raw ones
 * (`successful` → ready, `failed` → error).
 */
export const TASK_STATUS_ALIASES = {
  running: 'running',
  ready: 'ready',
  error: 'error',
  skipped: 'skipped',
  successful: 'ready',
  failed: 'error',
} as const satisfies Record<string, ReportedStatus>;
export type WireTaskStatus = keyof typeof TASK_STATUS_ALIASES;
export const WIRE_TASK_STATUSES = Object.keys(TASK_STATUS_ALIASES) as WireTaskStatus[];

/** What a `transaction_start` that leaves them out means. */
export const START_DEFAULTS = { name: 'deployment', graph_type: 'default', dry_run: false } as const;

/** Longest name (uuid, task name, node id, release...). */
export const MAX_NAME = 255;
/** A run's `progress` is a percentage: from 0 to this. */
export const MAX_PROGRESS = 100;
/** Limits of one task report: its error message, and its summary and custom objects as JSON. */
export const MAX_ERROR_MESSAGE = 65_536;
export const MAX_JSON_BYTES = 1_048_576;
/**
 * Limit of each snapshot a start carries, as JSON: `settings`, `network_configuration`, and each node's
 * `deployment_info` (and its common part). A node's deployment info (its astute.yaml) holds every
 * node's network metadata (~1 KB each) and the cluster's settings: ~300 KB at 200 nodes. 4 MB leaves
 * room for environments several times larger; the whole start is bounded by its message (16 MB on the
 * bus, BODY_MAX_CASTS_BYTES over HTTP), which is what limits a large environment's deployment info.
 */
export const MAX_SNAPSHOT_BYTES = 4 * 1_048_576;

/** The largest message the bus consumer takes. */
export const MAX_MESSAGE_BYTES = 16 * 1_048_576;
