import fc from 'fast-check';
import {
  canonical,
  pendingState,
  reconcileTask,
  REPORTED_STATUSES,
  RunOutcome,
  sameState,
  TaskReport,
  TaskState,
} from '../../src/history/task-state';
import { at, bothOrders } from '../support/arrival';

const T0 = at(0);
const T1 = at(1);
const T2 = at(2);
const T3 = at(3);
const RUN_END = at(30);

const RUNNING: RunOutcome = { status: 'running', timeEnd: null };
const RUN_ERROR: RunOutcome = { status: 'error', timeEnd: RUN_END };
const RUN_STOPPED: RunOutcome = { status: 'stopped', timeEnd: RUN_END };
const RUN_READY: RunOutcome = { status: 'ready', timeEnd: RUN_END };

const apply = (reports: TaskReport[], run: RunOutcome = RUNNING, from: TaskState = pendingState()): TaskState =>
  reconcileTask(from, reports, run);

/** Readable form of a state for toEqual diffs. */
const view = (s: TaskState) => ({
  status: s.status,
  timeStart: s.timeStart?.toISOString() ?? null,
  timeEnd: s.timeEnd?.toISOString() ?? null,
  errorMessage: s.errorMessage,
  summary: s.summary === null ? null : canonical(s.summary),
  custom: canonical(s.custom),
  closedReason: s.closedReason,
});

describe('reconcileTask: examples', () => {
  it('a pending row with no report stays pending while the run is going', () => {
    const s = apply([]);
    expect(view(s)).toEqual(view(pendingState()));
    expect(s.status).toBe('pending');
  });

  it('running sets time_start and leaves time_end empty', () => {
    const s = apply([{ status: 'running', time: T1 }]);
    expect(s.status).toBe('running');
    expect(s.timeStart).toEqual(T1);
    expect(s.timeEnd).toBeNull();
  });

  it('ready alone (no running seen) gets both time_start and time_end', () => {
    const s = apply([{ status: 'ready', time: T2 }]);
    expect(s.status).toBe('ready');
    expect(s.timeStart).toEqual(T2);
    expect(s.timeEnd).toEqual(T2);
  });

  it('ready before running ends ready; time_start is the earliest report time (Fuel bug 1564295)', () => {
    const s = apply([
      { status: 'ready', time: T2 },
      { status: 'running', time: T1 },
    ]);
    expect(s.status).toBe('ready');
    expect(s.timeStart).toEqual(T1);
    expect(s.timeEnd).toEqual(T2);
    expect(s.closedReason).toBeNull();
  });

  it('a late running after ready does not regress the row', () => {
    const ready = apply([
      { status: 'running', time: T1 },
      { status: 'ready', time: T2, summary: { resources: { changed: 3 } } },
    ]);
    const after = apply([{ status: 'running', time: T3, errorMessage: 'late' }], RUNNING, ready);
    expect(after.status).toBe('ready');
    expect(after.timeStart).toEqual(T1);
    expect(after.timeEnd).toEqual(T2);
    expect(after.errorMessage).toBeNull();
    expect(after.summary).toEqual({ resources: { changed: 3 } });
  });

  it('the same report twice is a no-op', () => {
    const report: TaskReport = { status: 'error', time: T2, errorMessage: 'boom', summary: { a: 1 }, custom: { attempt: 2 } };
    const once = apply([report]);
    const twice = apply([report], RUNNING, once);
    expect(sameState(once, twice)).toBe(true);
    expect(view(twice)).toEqual(view(once));
    expect(view(apply([report, { ...report, time: new Date(T2.getTime()) }]))).toEqual(view(once));
  });

  it('error and ready at the same time: error wins whatever the order', () => {
    const ready: TaskReport = { status: 'ready', time: T2 };
    const error: TaskReport = { status: 'error', time: T2, errorMessage: 'Task failed on node-1' };
    for (const order of bothOrders(ready, error)) {
      const s = apply(order);
      expect(s.status).toBe('error');
      expect(s.errorMessage).toBe('Task failed on node-1');
      expect(s.timeEnd).toEqual(T2);
    }
  });

  it('ready beats skipped at the same time', () => {
    const ready: TaskReport = { status: 'ready', time: T2 };
    const skipped: TaskReport = { status: 'skipped', time: T2 };
    for (const order of bothOrders(ready, skipped)) expect(apply(order).status).toBe('ready');
  });

  it('the later terminal report wins whatever the arrival order', () => {
    const early: TaskReport = { status: 'error', time: T1, errorMessage: 'first attempt failed' };
    const late: TaskReport = { status: 'ready', time: T3, custom: { attempt: 2 } };
    for (const order of bothOrders(early, late)) {
      const s = apply(order);
      expect(s.status).toBe('ready');
      expect(s.errorMessage).toBeNull();
      expect(s.custom).toEqual({ attempt: 2 });
      expect(s.timeStart).toEqual(T1);
      expect(s.timeEnd).toEqual(T3);
    }
  });

  it('the winning report carries its own error message, summary and custom; a loser leaves none behind', () => {
    const s = apply([
      { status: 'running', time: T0, errorMessage: 'transient', summary: { x: 1 }, custom: { y: 2 } },
      { status: 'ready', time: T1 },
    ]);
    expect(s.errorMessage).toBeNull();
    expect(s.summary).toBeNull();
    expect(s.custom).toEqual({});
  });

  describe('close-out when the run is final', () => {
    it('pending → skipped with a reason and the run end time', () => {
      const s = apply([], RUN_ERROR);
      expect(s.status).toBe('skipped');
      expect(s.closedReason).toBe('not reached: transaction ended with error');
      expect(s.timeEnd).toEqual(RUN_END);
      expect(s.timeStart).toBeNull();
    });

    it('running → error with a reason, keeping time_start', () => {
      const s = apply([{ status: 'running', time: T1 }], RUN_ERROR);
      expect(s.status).toBe('error');
      expect(s.closedReason).toBe('did not finish: transaction ended with error');
      expect(s.timeStart).toEqual(T1);
      expect(s.timeEnd).toEqual(RUN_END);
    });

    it('the reason names the run status (stopped)', () => {
      expect(apply([], RUN_STOPPED).closedReason).toBe('not reached: transaction ended with stopped');
      expect(apply([{ status: 'running', time: T1 }], RUN_STOPPED).closedReason).toBe('did not finish: transaction ended with stopped');
    });

    it('no close-out while the run is pending or running', () => {
      expect(apply([], { status: 'pending', timeEnd: null }).status).toBe('pending');
      expect(apply([{ status: 'running', time: T1 }], RUNNING).status).toBe('running');
    });

    it('terminal rows are not closed out', () => {
      for (const status of ['ready', 'error', 'skipped'] as const) {
        const s = apply([{ status, time: T2, errorMessage: status === 'error' ? 'real' : undefined }], RUN_ERROR);
        expect(s.status).toBe(status);
        expect(s.closedReason).toBeNull();
        expect(s.timeEnd).toEqual(T2);
      }
      // Also when the terminal row was stored before the run ended.
      const stored = apply([{ status: 'ready', time: T2 }]);
      const s = apply([], RUN_ERROR, stored);
      expect(view(s)).toEqual(view(stored));
    });

    it.each<{ row: string; reports: TaskReport[]; closedAs: string; timeStart: Date; how: string }>([
      { row: 'skipped', reports: [], closedAs: 'skipped', timeStart: T2, how: 'and clears closed_reason' },
      {
        row: 'running',
        reports: [{ status: 'running', time: T1 }],
        closedAs: 'error',
        timeStart: T1,
        how: 'even though it is earlier than the run end',
      },
    ])('a real ready arriving after a closed-out $row row wins $how', ({ reports, closedAs, timeStart }) => {
      const closed = apply(reports, RUN_ERROR);
      expect(closed.status).toBe(closedAs);
      const s = apply([{ status: 'ready', time: T2 }], RUN_ERROR, closed);
      expect(s.status).toBe('ready');
      expect(s.closedReason).toBeNull();
      expect(s.timeStart).toEqual(timeStart);
      expect(s.timeEnd).toEqual(T2);
    });

    it('a late running report on a closed-out skipped row turns it into a closed-out error', () => {
      const closed = apply([], RUN_READY);
      const s = apply([{ status: 'running', time: T1 }], RUN_READY, closed);
      expect(s.status).toBe('error');
      expect(s.closedReason).toBe('did not finish: transaction ended with ready');
      expect(s.timeStart).toEqual(T1);
    });

    it('closing out twice is the same as closing out once', () => {
      const once = apply([{ status: 'running', time: T1 }], RUN_ERROR);
      expect(view(apply([], RUN_ERROR, once))).toEqual(view(once));
    });
  });

  it('sameState ignores key order in summary and custom but not values', () => {
    const a = apply([{ status: 'ready', time: T1, summary: { a: 1, b: { c: 2, d: 3 } }, custom: { x: 1, y: 2 } }]);
    const b = apply([{ status: 'ready', time: T1, summary: { b: { d: 3, c: 2 }, a: 1 }, custom: { y: 2, x: 1 } }]);
    const c = apply([{ status: 'ready', time: T1, summary: { a: 1, b: { c: 2, d: 4 } }, custom: { x: 1, y: 2 } }]);
    expect(sameState(a, b)).toBe(true);
    expect(sameState(a, c)).toBe(false);
    expect(sameState(a, apply([{ status: 'ready', time: T2, summary: a.summary, custom: a.custom }]))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: the state is a function of the set of reports (and of whether the run ended).

const TIMES = [0, 1, 2, 3].map((s) => at(s).getTime());
/** Fresh objects for every report, so that no two reports share a reference; key orders differ. */
const SUMMARIES: Array<() => Record<string, unknown> | null | undefined> = [
  () => undefined,
  () => null,
  () => ({}),
  () => ({ resources: { failed: 1, changed: 2 } }),
  () => ({ resources: { changed: 2, failed: 1 } }),
  () => ({ a: 1, b: [1, { y: 2, x: 1 }] }),
  () => ({ b: [1, { x: 1, y: 2 }], a: 1 }),
];
const CUSTOMS: Array<() => Record<string, unknown> | null | undefined> = [
  () => undefined,
  () => null,
  () => ({}),
  () => ({ attempt: 1, node: '1' }),
  () => ({ node: '1', attempt: 1 }),
  () => ({ attempt: 2 }),
];

const reportArb: fc.Arbitrary<TaskReport> = fc
  .record({
    status: fc.constantFrom(...REPORTED_STATUSES),
    time: fc.constantFrom(...TIMES),
    errorMessage: fc.constantFrom(undefined, null, '', 'boom', 'Task failed on node-1'),
    summary: fc.nat(SUMMARIES.length - 1),
    custom: fc.nat(CUSTOMS.length - 1),
  })
  .map(({ status, time, errorMessage, summary, custom }) => {
    const r: TaskReport = { status, time: new Date(time) };
    if (errorMessage !== undefined) r.errorMessage = errorMessage;
    const sm = SUMMARIES[summary]();
    if (sm !== undefined) r.summary = sm;
    const cu = CUSTOMS[custom]();
    if (cu !== undefined) r.custom = cu;
    return r;
  });

/** A copy of a report that shares nothing with it (same value, new objects). */
const clone = (r: TaskReport): TaskReport => ({
  ...r,
  time: new Date(r.time.getTime()),
  ...(r.summary ? { summary: JSON.parse(JSON.stringify(r.summary)) } : {}),
  ...(r.custom ? { custom: JSON.parse(JSON.stringify(r.custom)) } : {}),
});

const reportsArb = fc.array(reportArb, { maxLength: 10 });
const finalRunArb: fc.Arbitrary<RunOutcome> = fc
  .constantFrom('error', 'stopped', 'ready')
  .map((status) => ({ status: status, timeEnd: RUN_END }));
const runArb: fc.Arbitrary<RunOutcome> = fc.oneof(fc.constant(RUNNING), finalRunArb);

/** The reports with copies of some of them inserted at arbitrary places. */
function withDuplicates(reports: TaskReport[], inserts: Array<[number, number]>): TaskReport[] {
  const out = [...reports];
  if (reports.length === 0) return out;
  for (const [which, where] of inserts) out.splice(where % (out.length + 1), 0, clone(reports[which % reports.length]));
  return out;
}

/** Splits a list at the given cut points (taken modulo length + 1). */
function chunksOf<T>(list: T[], cuts: number[]): T[][] {
  const points = [...new Set(cuts.map((c) => c % (list.length + 1)))].sort((a, b) => a - b);
  const chunks: T[][] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(list.slice(prev, p));
    prev = p;
  }
  chunks.push(list.slice(prev));
  return chunks;
}

const expectSame = (actual: TaskState, expected: TaskState): void => {
  if (!sameState(actual, expected)) expect(view(actual)).toEqual(view(expected));
  expect(sameState(actual, expected)).toBe(true);
};

const NUM_RUNS = 600;

describe('reconcileTask: order, duplicates and batching do not matter (property)', () => {
  it('any permutation gives the same state', () => {
    fc.assert(
      fc.property(
        reportsArb.chain((rs) => fc.tuple(fc.constant(rs), fc.shuffledSubarray(rs, { minLength: rs.length, maxLength: rs.length }))),
        runArb,
        ([reports, shuffled], run) => {
          expect(shuffled).toHaveLength(reports.length);
          expectSame(apply(shuffled, run), apply(reports, run));
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('duplicates inserted anywhere (and a permutation on top) give the same state', () => {
    fc.assert(
      fc.property(
        reportsArb,
        fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        runArb,
        (reports, inserts, sortKeys, run) => {
          const dup = withDuplicates(reports, inserts);
          // A generated permutation of the duplicated list: stable sort by arbitrary keys.
          const permuted = dup
            .map((r, i) => ({ r, k: sortKeys[i % Math.max(sortKeys.length, 1)] ?? 0, i }))
            .sort((a, b) => a.k - b.k || b.i - a.i)
            .map((x) => x.r);
          const expected = apply(reports, run);
          expectSame(apply(dup, run), expected);
          expectSame(apply(permuted, run), expected);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('applying in chunks (each on the stored result of the previous) equals applying all at once', () => {
    fc.assert(
      fc.property(reportsArb, fc.array(fc.nat(), { maxLength: 4 }), runArb, (reports, cuts, run) => {
        let state = pendingState();
        for (const chunk of chunksOf(reports, cuts)) state = apply(chunk, run, state);
        expectSame(state, apply(reports, run));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the run becoming final between chunks gives the same state as everything applied with the run final', () => {
    fc.assert(
      fc.property(
        reportsArb,
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.nat(),
        finalRunArb,
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 4 }),
        (reports, cuts, finalFrom, finalRun, inserts) => {
          const all = withDuplicates(reports, inserts);
          const chunks = chunksOf(all, cuts);
          const switchAt = finalFrom % chunks.length; // chunks before it see a running run
          let state = pendingState();
          chunks.forEach((chunk, i) => {
            state = apply(chunk, i < switchAt ? RUNNING : finalRun, state);
          });
          expectSame(state, apply(reports, finalRun));
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('chunk 1 with the run running, chunk 2 with the run final, equals all with the run final', () => {
    fc.assert(
      fc.property(reportsArb, reportsArb, finalRunArb, (first, second, finalRun) => {
        const stored = apply(first, RUNNING);
        const a = apply(second, finalRun, stored);
        expectSame(a, apply([...first, ...second], finalRun));
        expectSame(a, apply([...second, ...first], finalRun));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the result follows the set-level rules (independent oracle)', () => {
    const rank: Record<string, number> = { skipped: 0, ready: 1, error: 2 };
    fc.assert(
      fc.property(reportsArb, runArb, (reports, run) => {
        const s = apply(reports, run);
        const final = run.status !== 'running';
        const terminals = reports.filter((r) => r.status !== 'running');
        const times = reports.map((r) => r.time.getTime());
        expect(s.timeStart?.getTime() ?? null).toBe(times.length ? Math.min(...times) : null);
        if (terminals.length) {
          const latest = Math.max(...terminals.map((r) => r.time.getTime()));
          const atLatest = terminals.filter((r) => r.time.getTime() === latest);
          const best = Math.max(...atLatest.map((r) => rank[r.status]));
          expect(rank[s.status]).toBe(best);
          expect(s.timeEnd?.getTime()).toBe(latest);
          expect(s.closedReason).toBeNull();
          // The payload is one of the winning reports' payloads.
          const winners = atLatest.filter((r) => rank[r.status] === best);
          expect(
            winners.some(
              (w) =>
                (w.errorMessage ?? null) === s.errorMessage &&
                canonical(w.summary ?? null) === canonical(s.summary) &&
                canonical(w.custom ?? {}) === canonical(s.custom),
            ),
          ).toBe(true);
        } else if (reports.length) {
          expect(s.status).toBe(final ? 'error' : 'running');
          expect(s.timeEnd).toEqual(final ? RUN_END : null);
          expect(s.closedReason).toBe(final ? `did not finish: transaction ended with ${run.status}` : null);
        } else {
          expect(s.status).toBe(final ? 'skipped' : 'pending');
          expect(s.closedReason).toBe(final ? `not reached: transaction ended with ${run.status}` : null);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
