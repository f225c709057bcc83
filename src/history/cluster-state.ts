import type { EntityManager } from 'typeorm';

/** A key of the cluster state (cluster_state): per cluster, epoch and (node, task), one entry. */
export interface StateKey {
  cluster_id: number;
  epoch: number;
  node_id: string | null;
  task_name: string;
}

/**
 * Fills the cluster state entries of `keys`, emptied by the caller (their row stopped being ready, or
 * their run was deleted), with the best remaining ready row of a real run of the same cluster, epoch,
 * node and task, if any: the state is always what the history that remains says. One statement,
 * written in key order (lock-order.ts, step 3). The caller holds the runs whose rows it changed.
 */
export async function handBackState(m: EntityManager, keys: StateKey[]): Promise<void> {
  if (!keys.length) return;
  await m.query(
    `INSERT INTO cluster_state (cluster_id, epoch, node_id, task_name, transaction_id, history_id, time_end)
     SELECT b.cluster_id, b.epoch, b.node_id, b.task_name, b.transaction_id, b.id, b.time_end
     FROM unnest($1::int[], $2::int[], $3::varchar[], $4::varchar[]) AS k(cluster_id, epoch, node_id, task_name)
     CROSS JOIN LATERAL (
       SELECT h.cluster_id, t.epoch, h.node_id, h.task_name, h.transaction_id, h.id, h.time_end
       FROM deployment_history h JOIN transactions t ON t.id = h.transaction_id
       WHERE h.cluster_id = k.cluster_id AND t.epoch = k.epoch AND NOT t.dry_run AND h.node_id IS NOT DISTINCT FROM k.node_id
         AND h.task_name = k.task_name AND h.status = 'ready' AND h.time_end IS NOT NULL
       ORDER BY h.time_end DESC, h.id DESC LIMIT 1) b
     ORDER BY k.cluster_id, k.epoch, k.node_id NULLS FIRST, k.task_name
     ON CONFLICT ON CONSTRAINT cluster_state_key DO NOTHING`,
    [keys.map((k) => k.cluster_id), keys.map((k) => k.epoch), keys.map((k) => k.node_id), keys.map((k) => k.task_name)],
  );
}
