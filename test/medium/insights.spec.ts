import { FlakyTasksQueryDto, TaskStatsDto, TaskStatsQueryDto } from '../../src/history/dto/insights.dto';
import { flakyTasks } from '../../src/history/flaky-tasks';
import { InsightsService } from '../../src/history/insights/insights.service';
import { InsightsRepository } from '../../src/history/persistence/insights.repository';
import { RunStatsCache } from '../../src/history/persistence/run-stats-cache';
import { isFinalRun, RunStatus, TaskStatus } from '../../src/history/task-state';
import { DurationFigures, runsInOrder, StatsRow, taskStats } from '../../src/history/task-stats';
import { prng } from '../support/faults/workload';
import { openStore, RELEASE, report, Store } from './history-store';

/**
 * task_stats is read aggregated per (task, node) by PostgreSQL (InsightsRepository.taskStatsRows) and its
 * figures made from those lists (insights/stats-figures.ts); the pure taskStats() of task-stats.ts is
 * their specification. On a random history (seeded: a failure replays), with every kind
 * of row the rules name (dry runs, runs in progress, two epochs, closed-out rows, skipped rows, rows
 * without times, nodes with several roles or none, equal run start times), the service's answer must be
 * taskStats() over the same rows, filtered as the rules say, for each set of filters below.
 */

const CLUSTER = 1;
const OTHER = 2;
const NODES: Array<string | null> = [null, 'master', '1', '2', '3', '11'];
const TASKS = ['hiera', 'netconfig', 'globals', 'ceph', 'upload_configuration', 'rsync'];
const ROLES = ['controller', 'compute', 'ceph-osd'];
const BASE = Date.parse('2026-02-01T00:00:00Z');

/** A row as read back, with its run's and node's facts: what the rules filter on. */
interface Fact extends StatsRow {
  epoch: number;
  dry_run: boolean;
  run_status: RunStatus;
  closed_reason: string | null;
  roles: string[] | null;
}

async function seed(store: Store, seedValue: number): Promise<void> {
  const rnd = prng(seedValue);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  await store.ds.query(`INSERT INTO clusters (id, name, release, epoch) VALUES ($1, 'a', $3, 2), ($2, 'b', $3, 1)`, [
    CLUSTER,
    OTHER,
    RELEASE,
  ]);
  for (let i = 0; i < 70; i++) {
    const cluster = i % 7 === 6 ? OTHER : CLUSTER;
    const runStatus = pick<RunStatus>(['ready', 'ready', 'ready', 'error', 'stopped', 'running']);
    // Run starts drawn from a few values: equal starts are ordered by id, and the id order is not the start order.
    const start = BASE + Math.floor(rnd() * 40) * 3600_000;
    const [{ id }] = await store.ds.query(
      `INSERT INTO transactions (uuid, cluster_id, name, dry_run, status, history_recorded, release, epoch, time_start)
       VALUES ($1, $2, 'deployment', $3, $4, true, $5, $6, $7) RETURNING id`,
      [`run-${i}`, cluster, rnd() < 0.1, runStatus, RELEASE, cluster === CLUSTER && i >= 25 ? 2 : 1, new Date(start)],
    );
    for (const node of NODES) {
      const roll = rnd();
      if (node !== null && roll < 0.8) {
        const roles = node === 'master' ? pick([[], ['master']]) : ROLES.filter(() => rnd() < 0.4);
        await store.ds.query(`INSERT INTO run_nodes (transaction_id, node_id, roles) VALUES ($1, $2, $3)`, [id, node, roles]);
      }
      for (const task of TASKS) if (rnd() < 0.7) await insertRow(store, rnd, pick, id, cluster, node, task, start, isFinalRun(runStatus));
    }
  }
}

async function insertRow(
  store: Store,
  rnd: () => number,
  pick: <T>(xs: readonly T[]) => T,
  run: number,
  cluster: number,
  node: string | null,
  task: string,
  runStart: number,
  finished: boolean,
): Promise<void> {
  let status = pick<TaskStatus>(['ready', 'ready', 'ready', 'ready', 'error', 'skipped', 'pending', 'running']);
  let closed: string | null = null;
  if (finished && (status === 'pending' || status === 'running')) {
    closed = 'closed out';
    status = status === 'pending' ? 'skipped' : 'error';
  }
  const ts = rnd() < 0.05 ? null : runStart + Math.floor(rnd() * 600_000);
  // Durations from a small set (ties), some with milliseconds.
  const te =
    ts === null || rnd() < 0.05 ? null : ts + pick([0, 1000, 2000, 2500, 7000, 7001, 30_000, 61_250]) * (1 + Math.floor(rnd() * 3));
  await store.ds.query(
    `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, status, time_start, time_end, error_message, closed_reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      run,
      cluster,
      node,
      task,
      status,
      ts === null ? null : new Date(ts),
      status === 'running' || te === null ? null : new Date(te),
      status === 'error' ? pick(['boom', 'timeout', null]) : null,
      closed,
    ],
  );
}

async function facts(store: Store): Promise<Fact[]> {
  const rows: Fact[] = await store.ds.query(
    `SELECT h.transaction_id AS run_id, t.time_start AS run_time, h.node_id, h.task_name, h.status, h.time_start, h.time_end,
            h.error_message, h.closed_reason, t.epoch, t.dry_run, t.status AS run_status, rn.roles, NULL AS role
     FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
     LEFT JOIN run_nodes rn ON rn.transaction_id = h.transaction_id AND rn.node_id = h.node_id
     WHERE t.cluster_id = $1`,
    [CLUSTER],
  );
  return rows;
}

const rolesOf = (f: Fact): string[] => [...new Set([...(f.roles ?? []), ...(f.node_id === 'master' ? ['master'] : [])])];

/** The specification: taskStats() over the rows the rules keep, the by_role figures over each row once per role. */
function expected(all: readonly Fact[], q: TaskStatsQueryDto): { runs: number; tasks: TaskStatsDto[] } {
  const epoch = q.epoch ?? 'current';
  const rows = all.filter(
    (f) =>
      !f.dry_run &&
      isFinalRun(f.run_status) &&
      f.closed_reason === null &&
      (epoch === 'all' || f.epoch === 2) &&
      (q.since === undefined || f.run_time.getTime() >= Date.parse(q.since)) &&
      (q.until === undefined || f.run_time.getTime() < Date.parse(q.until)) &&
      (q.nodes === undefined || q.nodes.includes(f.node_id ?? 'null')) &&
      (q.tasks_names === undefined || q.tasks_names.includes(f.task_name)) &&
      (q.roles === undefined || rolesOf(f).some((r) => q.roles!.includes(r))),
  );
  const trendRuns = q.trend_runs ?? 10;
  const terminal = rows.filter((r) => ['ready', 'error', 'skipped'].includes(r.status));
  const expanded = rows.flatMap((f) =>
    rolesOf(f)
      .filter((role) => q.roles === undefined || q.roles.includes(role))
      .map((role) => ({ ...f, role })),
  );
  const perRole = new Map(taskStats(expanded, { trendRuns }).map((t) => [t.task_name, t.by_role]));
  const tasks = taskStats(rows, { trendRuns }).map(({ task_name, by_role: _, ...f }) => ({
    task_name,
    ...dto(f),
    by_role: (perRole.get(task_name) ?? []).map(({ role, ...g }) => ({ role, ...dto(g) })),
  }));
  return { runs: new Set(terminal.map((r) => r.run_id)).size, tasks };
}

function dto(f: DurationFigures) {
  const { last_failure: l, ...rest } = f;
  return { ...rest, last_failure: l && { transaction_id: l.run_id, node_id: l.node_id, time: l.time?.toISOString() ?? null } };
}

describe('task_stats as served equals taskStats()', () => {
  let store: Store;
  let service: InsightsService;
  let all: Fact[];
  beforeAll(async () => {
    store = await openStore();
    await seed(store, 20261130);
    service = new InsightsService(store.registry, new InsightsRepository(store.ds, new RunStatsCache(store.ds, store.cache)));
    all = await facts(store);
  });
  afterAll(() => store?.close());

  const cases: Array<[string, TaskStatsQueryDto]> = [
    ['the defaults (current epoch, trend of 10 runs)', {}],
    ['across epochs, a trend of 3 runs', { epoch: 'all', trend_runs: 3 }],
    ['a trend of 1 run', { trend_runs: 1 }],
    ['runs started in a window', { epoch: 'all', since: '2026-02-01T05:00:00Z', until: '2026-02-02T08:00:00Z', trend_runs: 2 }],
    ['some nodes, cluster-level and master included', { nodes: ['null', 'master', '11'], trend_runs: 4 }],
    ['some tasks', { tasks_names: ['hiera', 'rsync', 'absent'], epoch: 'all' }],
    ['some roles', { roles: ['compute', 'master'], trend_runs: 2 }],
    [
      'everything at once',
      { epoch: 'all', nodes: ['1', '2', 'master'], tasks_names: ['hiera', 'ceph'], roles: ['controller'], trend_runs: 5 },
    ],
    ['a window without runs', { since: '2027-01-01T00:00:00Z' }],
  ];

  it('the history has what the rules talk about', () => {
    const finished = all.filter((f) => !f.dry_run && isFinalRun(f.run_status));
    expect(finished.some((f) => f.closed_reason !== null)).toBe(true);
    expect(finished.some((f) => f.status === 'error' && f.closed_reason === null)).toBe(true);
    expect(all.some((f) => f.dry_run)).toBe(true);
    expect(all.some((f) => !isFinalRun(f.run_status))).toBe(true);
    expect(new Set(all.map((f) => f.epoch))).toEqual(new Set([1, 2]));
    expect(all.some((f) => (f.roles?.length ?? 0) > 1)).toBe(true);
  });

  it.each(cases)('%s', async (_, q) => {
    const want = expected(all, q);
    const got = await service.taskStats(CLUSTER, q);
    expect(got.runs).toBe(want.runs);
    expect(got.tasks).toEqual(want.tasks);
    if (q.since !== '2027-01-01T00:00:00Z') expect(got.tasks.length).toBeGreaterThan(0);
  });

  it("keeps each finished run's counted rows in its own row, serves them from there, and forgets them when a late report changes the run", async () => {
    const want = expected(all, {});
    expect((await service.taskStats(CLUSTER, {})).tasks).toEqual(want.tasks);
    const kept = async (): Promise<number[]> =>
      (
        await store.ds.query<Array<{ id: number }>>(
          `SELECT id FROM transactions WHERE cluster_id = $1 AND NOT dry_run AND stats_cache IS NOT NULL ORDER BY id`,
          [CLUSTER],
        )
      ).map((r) => r.id);
    const runsInScope = [...new Set(all.filter((f) => !f.dry_run && isFinalRun(f.run_status) && f.epoch === 2).map((f) => f.run_id))];
    expect((await kept()).sort((a, b) => a - b)).toEqual(expect.arrayContaining(runsInScope.sort((a, b) => a - b)));
    // Served from the kept texts: one emptied behind the service's back changes the answer.
    const [victim] = runsInScope;
    const [text] = await store.ds.query<Array<{ stats_cache: string }>>(`SELECT stats_cache FROM transactions WHERE id = $1`, [victim]);
    await store.ds.query(`UPDATE transactions SET stats_cache = '[]' WHERE id = $1`, [victim]);
    expect((await service.taskStats(CLUSTER, {})).tasks).not.toEqual(want.tasks);
    await store.ds.query(`UPDATE transactions SET stats_cache = $2 WHERE id = $1`, [victim, text.stats_cache]);
    expect((await service.taskStats(CLUSTER, {})).tasks).toEqual(want.tasks);
    // A late report on a row the service closed out wins, and the run's kept rows are forgotten with its other answers.
    const closed = all.find((f) => runsInScope.includes(f.run_id) && f.closed_reason !== null)!;
    const [{ uuid }] = await store.ds.query<Array<{ uuid: string }>>(`SELECT uuid FROM transactions WHERE id = $1`, [closed.run_id]);
    await store.writer.apply([
      report(uuid, [{ nodeId: closed.node_id, taskName: closed.task_name, status: 'ready', time: new Date('2026-03-01T00:00:00Z') }]),
    ]);
    expect(await kept()).not.toContain(closed.run_id);
    const now = await facts(store);
    expect(now).not.toEqual(all);
    expect((await service.taskStats(CLUSTER, {})).tasks).toEqual(expected(now, {}).tasks);
    expect(await kept()).toContain(closed.run_id);
    all = now;
  });
});

/**
 * flaky_tasks is read counted per (task, node) by PostgreSQL (InsightsRepository.flakyCounts) and judged by
 * flakyOf; on the same random history its answer must be, to the byte, flakyTasks() over the counted rows
 * of the cluster's real finished runs (in scope of the epoch), its runs the last of those in run order.
 */
describe('flaky_tasks as served equals flakyTasks()', () => {
  let store: Store;
  let service: InsightsService;
  let all: Fact[];
  beforeAll(async () => {
    store = await openStore();
    await seed(store, 20261201);
    service = new InsightsService(store.registry, new InsightsRepository(store.ds, new RunStatsCache(store.ds, store.cache)));
    all = await facts(store);
  });
  afterAll(() => store?.close());

  const cases: Array<[string, FlakyTasksQueryDto, boolean]> = [
    ['the defaults (current epoch, 20 runs)', {}, true],
    ['across epochs, more runs than there are', { epoch: 'all', last_runs: 500 }, true],
    ['the last 5 runs', { last_runs: 5 }, true],
    ['the last run across epochs', { epoch: 'all', last_runs: 1 }, false],
  ];

  it.each(cases)('%s', async (_, q, someFlaky) => {
    const epoch = q.epoch ?? 'current';
    const lastRuns = q.last_runs ?? 20;
    const rows = all.filter(
      (f) => !f.dry_run && isFinalRun(f.run_status) && f.closed_reason === null && (epoch === 'all' || f.epoch === 2),
    );
    const want = flakyTasks(rows, { lastRuns });
    const got = await service.flakyTasks(CLUSTER, q);
    expect(got.runs).toEqual(
      runsInOrder(rows)
        .slice(-lastRuns)
        .map((r) => r.run_id),
    );
    // Byte for byte: the same tasks, figures, lists and key order.
    expect(JSON.stringify(got.tasks)).toBe(JSON.stringify(want));
    if (someFlaky) expect(want.some((t) => t.failed > 1 && t.errors.length > 1)).toBe(true);
  });
});
