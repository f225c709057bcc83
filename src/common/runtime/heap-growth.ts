import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the heap grow past what the last full collection kept before it collects again:
 * the next limit is (1 + percent / 100) × the live size; 0 leaves it to V8's own heuristics.
 *
 * Why (issue #17): nearly all the service allocates is short-lived (a batch's casts until they commit, a
 * read's rows until they are sent), and much of it outlives a young collection, so it dies in the old
 * generation. Left to V8, that generation was allowed to grow to 4-5 times what it kept: each full
 * collection took it from ~140-190 MB back to ~35 MB, and the process peaked at 302-340 MB in 1,000-run
 * benchmarks (318 MB at 10,000 runs; the target is 300). With a factor of 2 (100) the peak was 264 MB
 * for ~8 % more of the service's CPU per cast (50 vs 44-47 µs); with 1.5 (50), 222-228 MB for ~17 % more;
 * a larger young generation instead (--max-semi-space-size=32) gave neither. bench/README.md has the runs.
 *
 * The flag is read by V8 at each collection, so setting it once the process runs takes effect (a
 * command-line flag would not reach a service started by `npm start` or by a supervisor's own line).
 */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
