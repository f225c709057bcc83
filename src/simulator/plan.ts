import { atTime, Cast } from '../receiver/cast-builder';
import { CLUSTER_NAMES } from './fixture';
import { Rng } from './rng';
import { planRun, round } from './run-plan';
import type { TaskStatus } from '../history/task-state';

/**
 * The simulated orchestrator's plan: every cast of every run with its virtual time, worked out in
 * advance from the seed, and what the service should hold once all of them are applied.
 *
 * Times are virtual seconds from the simulation's start. A cast carries its event time (`time`); it is
 * delivered at `deliverAt`, which is later than its time for the few casts delivered out of order.
 */
export interface SimOptions {
  clusters: number;
  nodes: number;
  /** Tasks per deployed node. */
  tasks: number;
  /** Runs in all, dealt to the clusters in turn. */
  runs: number;
  seed: string;
  /** Chance that a run has a failing task. */
  failureRate: number;
  /** Chance that a task report is sent twice. */
  duplicates: number;
  /** Chance that a task report is delivered late (after casts sent after it). */
  outOfOrder: number;
  release: string;
  firstCluster: number;
  prefix: string;
  method: 'transaction_resp' | 'deploy_resp';
  /** --slow: task name → factor of its duration, on every node of every run. */
  slow?: Readonly<Record<string, number>>;
  /** --flaky: task name → chance that it fails, per node per run. */
  flaky?: Readonly<Record<string, number>>;
}

export type Counts = Record<TaskStatus, number>;

/** A cast as planned: `at` is its event time in virtual seconds, stamped on it as an ISO time when sent. */
export interface PlannedCast {
  kind: 'start' | 'report' | 'final';
  at: number;
  cast: Cast;
}

export interface Delivery extends PlannedCast {
  deliverAt: number;
  /** Order of generation, to keep delivery stable among equal times. */
  seq: number;
  run: string;
  duplicate: boolean;
  late: boolean;
}

export interface PlannedRun {
  uuid: string;
  clusterId: number;
  clusterName: string;
  /** 1-based, per cluster. */
  number: number;
  status: 'ready' | 'error';
  /** Rows per status once the run has ended and the service has closed out what was not reached. */
  expected: Counts;
  total: number;
  /** The first failing task (by its end), or null. */
  failure: { node: string; task: string } | null;
  /** Every failing task reached, by their end (one at most without --flaky). */
  failures: Array<{ node: string; task: string }>;
  startAt: number;
  endAt: number;
}

export interface Plan {
  runs: PlannedRun[];
  deliveries: Delivery[];
  /** The last delivery's virtual time. */
  span: number;
  duplicates: number;
  late: number;
}

export function makePlan(o: SimOptions): Plan {
  const rng = new Rng(o.seed);
  const flakyRng = new Rng(`${o.seed}/flaky`);
  const runs: PlannedRun[] = [];
  const deliveries: Delivery[] = [];
  let seq = 0;
  // Runs of one cluster follow each other; clusters deploy side by side.
  const clusterClock = new Map<number, number>();
  const lastStatuses = new Map<number, Map<string, TaskStatus>>();
  const perCluster = new Map<number, number>();

  for (let r = 0; r < o.runs; r++) {
    const ci = r % o.clusters;
    const clusterId = o.firstCluster + ci;
    const clusterName =
      CLUSTER_NAMES[ci % CLUSTER_NAMES.length] + (ci >= CLUSTER_NAMES.length ? `-${Math.floor(ci / CLUSTER_NAMES.length) + 1}` : '');
    const number = (perCluster.get(clusterId) ?? 0) + 1;
    perCluster.set(clusterId, number);
    const t0 = clusterClock.get(clusterId) ?? round(ci * rng.between(2, 8));
    const uuid = `${o.prefix}-c${clusterId}-r${number}`;
    const built = planRun(rng, o, {
      uuid,
      clusterId,
      clusterName,
      clusterIndex: ci,
      number,
      t0,
      previous: lastStatuses.get(clusterId),
      flakyRng,
    });
    lastStatuses.set(clusterId, built.statuses);
    clusterClock.set(clusterId, round(built.run.endAt + rng.between(60, 300)));
    runs.push(built.run);
    for (const e of built.events) {
      deliveries.push({ ...e, deliverAt: e.at, seq: seq++, run: uuid, duplicate: false, late: false });
    }
  }

  // Duplicates and late deliveries, among task reports only: a run's start always comes first and
  // its final status last, as the orchestrator sends them.
  const finalAt = new Map(runs.map((r) => [r.uuid, r.endAt]));
  let duplicates = 0;
  let late = 0;
  for (const d of [...deliveries]) {
    if (d.kind !== 'report') continue;
    const limit = finalAt.get(d.run)! - 0.001;
    if (rng.chance(o.outOfOrder)) {
      const at = round(Math.min(limit, d.deliverAt + rng.between(2, 40)));
      if (at > d.deliverAt) {
        d.deliverAt = at;
        d.late = true;
        late++;
      }
    }
    if (rng.chance(o.duplicates)) {
      deliveries.push({
        ...d,
        deliverAt: round(Math.min(limit, d.deliverAt + rng.between(0, 5))),
        seq: seq++,
        duplicate: true,
        late: false,
      });
      duplicates++;
    }
  }
  deliveries.sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq);
  return { runs, deliveries, span: deliveries.length ? deliveries[deliveries.length - 1].deliverAt : 0, duplicates, late };
}

/** The cast as sent: its virtual time stamped as an ISO 8601 time. */
export function stamp(planned: PlannedCast, iso: (t: number) => string): Cast {
  return atTime(planned.cast, iso(planned.at));
}
