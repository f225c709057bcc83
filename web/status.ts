import { TASK_STATUSES } from '../src/history/task-state';
import type { TaskStatus } from './api';

/** Each task status's colour (bars, dots, badges); typed by the API's statuses, so none is missing or extra. */
export const COLORS: Record<TaskStatus, string> = {
  pending: '#94a3b8',
  running: '#2563eb',
  ready: '#16a34a',
  error: '#dc2626',
  skipped: '#f59e0b',
};

/** The task statuses, in the order the filters list them: the state machine's own list (its home). */
export { TASK_STATUSES };

/** The colour of any status (a run's too), grey for one that has none. */
export const statusColor = (status: string): string => (COLORS as Record<string, string | undefined>)[status] ?? '#64748b';
