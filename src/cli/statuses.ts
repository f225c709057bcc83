import type { TaskStatus } from '../history/entities/deployment-history.entity';
import type { RunStatus } from '../history/entities/transaction.entity';

/**
 * The task and run statuses, as the help texts list them. Their home is the entities (`TASK_STATUSES`,
 * `RUN_STATUSES`), which load TypeORM: the CLI speaks HTTP only and cannot import them at run time. So
 * the names are keys of records typed by the entities' types (a status missing or unknown here fails
 * the build), and test/unit/cli-statuses.spec.ts checks them, in order, against the entities' lists.
 */
const TASK: Record<TaskStatus, true> = { pending: true, running: true, ready: true, error: true, skipped: true };
const RUN: Record<RunStatus, true> = { pending: true, running: true, ready: true, error: true, stopped: true };

export const TASK_STATUS_NAMES = Object.keys(TASK) as TaskStatus[];
export const RUN_STATUS_NAMES = Object.keys(RUN) as RunStatus[];
