import { RUN_STATUSES, TASK_STATUSES } from '../src/history/task-state';
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
/** The run statuses, in the order the lists' filters show them (the state machine's own list). */
export { RUN_STATUSES };

/** The colour of any status (a run's too), grey for one that has none. */
export const statusColor = (status: string): string => (COLORS as Record<string, string | undefined>)[status] ?? '#64748b';

/**
 * A light tint of a status's colour (its colour at 14% over white), the background of its badge: dark
 * text on it reads at well over 4.5:1 (WCAG AA), where white on green or amber did not (3.3 and 2.1:1).
 */
export function statusTint(status: string): string {
  const c = statusColor(status);
  const mix = (i: number) => Math.round(parseInt(c.slice(i, i + 2), 16) * 0.14 + 255 * 0.86);
  return `rgb(${mix(1)}, ${mix(3)}, ${mix(5)})`;
}
