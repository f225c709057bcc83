import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A run's plan (`run_plans`): the (node, task, type) it announced, kept as one row per run instead of one
 * pending history row per task, issue #17.
 *
 * Why: a pending row was written twice before it said anything a report had not: inserted with its four
 * index entries when the run started, then written again, with four more, at its first report (which moves
 * `sort_time`, indexed twice, so that update is never HOT). Measured (bench/README.md, tenth round): without
 * the pending rows PostgreSQL spent 17-31 % less per cast and wrote a third fewer WAL records. Now a run's
 * row is inserted at its task's first report, with the plan's type and creation time, and the tasks never
 * reported are inserted as pending rows only when someone needs them (RunChanges.materialize): when the run
 * ends (to be closed out as before), when a read of the history comes (PlansMaterialized), when the run is
 * deleted. Every read then sees the same rows as before.
 *
 * `tasks`: a JSON list `[[node, task, type], ...]` in the order the start listed them (graph order), each
 * (node, task) once. The key cascades with the run: a deleted run leaves no plan. Existing runs keep the
 * pending rows they have: nothing to move.
 */
export class RunPlans1765100000000 implements MigrationInterface {
  name = 'RunPlans1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TABLE run_plans (
        transaction_id int PRIMARY KEY REFERENCES transactions (id) ON DELETE CASCADE,
        cluster_id     int NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        tasks          jsonb NOT NULL)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // The plans' tasks become the pending rows they stand for, as they were stored before.
    await q.query(
      `INSERT INTO deployment_history (transaction_id, cluster_id, node_id, task_name, task_type, created_at)
       SELECT p.transaction_id, p.cluster_id, e.t ->> 0, e.t ->> 1, e.t ->> 2, p.created_at
       FROM run_plans p, jsonb_array_elements(p.tasks) WITH ORDINALITY AS e(t, n)
       ORDER BY p.transaction_id, e.n
       ON CONFLICT ON CONSTRAINT deployment_history_row_uq DO NOTHING`,
    );
    await q.query(`DROP TABLE run_plans`);
  }
}
