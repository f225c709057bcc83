/**
 * The pause before try `step + 2` of a back-off that doubles from `firstMs` (step 0) up to `maxMs`: the
 * one rule of the dead-letter copy's back-off (receiver/rmq/dead-letter.ts), and of how long it holds a
 * message in all (config/app-config.ts checks that bound at boot).
 */
export function doublingMs(step: number, firstMs: number, maxMs: number): number {
  return Math.min(maxMs, firstMs * 2 ** Math.min(Math.max(0, step), 40));
}
