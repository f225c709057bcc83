/**
 * A run's status, in its life order (the `transaction_status` enum of the database). Its home is here, in
 * common, because both the history (which records runs: src/history/task-state.ts re-exports it with the
 * state machine) and the clusters (whose answers carry a run's status) speak it, and clusters must not
 * import history.
 */
export const RUN_STATUSES = ['pending', 'running', 'ready', 'error', 'stopped'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
