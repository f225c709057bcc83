import { Client } from 'pg';
import { Run, taskName } from './workload';

/** Compares every row with the status its casts say it must end in. */
export async function verify(db: Client, runs: Run[]): Promise<{ mismatches: number; rows: number; expectedRows: number }> {
  await db.query(`CREATE TEMP TABLE expected (uuid text, node_id text, task_name text, status text)`);
  let expectedRows = 0;
  for (const run of runs) {
    const node: string[] = [];
    const task: string[] = [];
    for (let n = 1; n <= run.nodes; n++) {
      for (let t = 0; t < run.tasks; t++) {
        node.push(String(n));
        task.push(taskName(t));
      }
    }
    expectedRows += node.length;
    await db.query(`INSERT INTO expected SELECT $1, u.n, u.t, u.s FROM unnest($2::text[], $3::text[], $4::text[]) AS u(n, t, s)`, [
      run.uuid,
      node,
      task,
      run.finals,
    ]);
  }
  const { rows } = await db.query<{ mismatches: number; rows: number }>(
    `SELECT count(*) FILTER (WHERE h.status::text IS DISTINCT FROM e.status)::int AS mismatches,
            (SELECT count(*)::int FROM deployment_history) AS rows
     FROM expected e JOIN transactions t ON t.uuid = e.uuid
     LEFT JOIN deployment_history h ON h.transaction_id = t.id AND h.node_id = e.node_id AND h.task_name = e.task_name`,
  );
  return { mismatches: rows[0].mismatches, rows: rows[0].rows, expectedRows };
}

/**
 * The reads that found nothing: no rows in a list, no items in an issue #15 answer. The workload puts
 * something under each at every scale the options allow; an empty answer's latency measures nothing,
 * so the benchmark fails on one.
 */
export function emptyReads(reads: Record<string, { rows?: number; items?: number }>): string[] {
  return Object.entries(reads)
    .filter(([, f]) => f.rows === 0 || f.items === 0)
    .map(([name]) => name);
}
