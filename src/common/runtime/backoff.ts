/**
 * The pause before try `step + 2` of a back-off that doubles from `firstMs` (step 0) up to `maxMs`: the one
 * doubling rule of the service's back-offs (the database probes in an outage, the partition keeper's
 * pauses, the dead-letter copy's retries).
 */
export function doublingMs(step: number, firstMs: number, maxMs: number): number {
  return Math.min(maxMs, firstMs * 2 ** Math.min(Math.max(0, step), 40));
}

/** The first `pauses` pauses of that back-off, in all: how long it holds what it retries. */
export function doublingTotalMs(pauses: number, firstMs: number, maxMs: number): number {
  let total = 0;
  for (let step = 0; step < pauses; step++) total += doublingMs(step, firstMs, maxMs);
  return total;
}
