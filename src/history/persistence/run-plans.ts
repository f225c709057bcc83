/**
 * What the writer knows of runs' plans (run_plans, migration RunPlans1765100000000): for each planned
 * (node, task) of a run, its type, and when the plan was made. A task's row is inserted at its first report
 * with these (RunChanges.insertReported), as its pending row was when the run started.
 *
 * Kept in memory for the runs this instance created, read from run_plans for the others (another
 * instance's runs, runs from before a restart), and bounded: past MAX_TASKS planned tasks in all, the
 * oldest runs' plans are forgotten (read again if needed), and a run's plan is forgotten once its tasks are
 * all stored (RunChanges.materialize: its run ended, or was read). A plan never changes once made, so a plan kept
 * here is never stale: once a plan is materialized (its never-reported tasks stored as pending rows, the
 * plan dropped), every planned task has its row, and the writer no longer asks for it.
 */
export interface RunPlan {
  createdAt: Date;
  /** Type per planned task, by planKey. Empty for a run without a plan (its rows are stored, or it has none). */
  types: Map<string, string | null>;
}

/**
 * A planned task's key within its run. Names and node ids hold no NUL (casts refuse them, PostgreSQL's text
 * cannot): one NUL after the node, two before a cluster-level task (no node), so no two keys meet.
 */
export const planKey = (nodeId: string | null, taskName: string): string =>
  nodeId === null ? `\u0000\u0000${taskName}` : `${nodeId}\u0000${taskName}`;

/**
 * The highest run id among the plans (runs in progress) that `where` picks, a condition on `p.cluster_id`
 * (null: none), as a scalar subquery: what PlanMaterializer looks at first, alone or read with the run or the
 * cluster the upgrade guard looks up (RunsRepository.located, locatedCluster).
 */
export const lastPlanSql = (where: string): string => `(SELECT max(p.transaction_id) FROM run_plans p WHERE ${where})`;

/** A plan's weight against MAX_TASKS: its tasks, and the run itself (a run without a plan is kept too). */
const weight = (p: RunPlan): number => p.types.size + 1;

/** The planned tasks kept in all, past which the oldest runs' plans are forgotten (~100 bytes each). */
const MAX_TASKS = 100_000;

export class PlanCache {
  private readonly plans = new Map<number, RunPlan>();
  private tasks = 0;

  constructor(private readonly maxTasks = MAX_TASKS) {}

  get(runId: number): RunPlan | undefined {
    return this.plans.get(runId);
  }

  set(runId: number, plan: RunPlan): void {
    this.forget(runId);
    this.plans.set(runId, plan);
    this.tasks += weight(plan);
    // Oldest first (a Map keeps insertion order); the run just set stays, however large.
    for (const id of this.plans.keys()) {
      if (this.tasks <= this.maxTasks || id === runId) break;
      this.forget(id);
    }
  }

  forget(runId: number): void {
    const p = this.plans.get(runId);
    if (!p) return;
    this.plans.delete(runId);
    this.tasks -= weight(p);
  }

  /** How many runs' plans are kept (tests). */
  get size(): number {
    return this.plans.size;
  }
}
