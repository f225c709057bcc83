/** Builders for Astute-format casts, as the orchestrator sends them (shared/fuel-reference.md §1). */
export type Graph = Record<string, Array<{ id: string; type?: string; [k: string]: unknown }>>;

export function start(
  uuid: string,
  cluster: { id: number; name?: string; release: string },
  graph: Graph,
  extra: Record<string, unknown> = {},
) {
  return {
    method: 'transaction_start',
    args: { task_uuid: uuid, name: 'deployment', graph_type: 'default', dry_run: false, cluster, tasks_graph: graph, ...extra },
  };
}

export function task(uid: string | number | null, name: string, status: string, extra: Record<string, unknown> = {}) {
  return { uid, deployment_graph_task_name: name, task_status: status, progress: status === 'running' ? 0 : 100, ...extra };
}

export function resp(uuid: string, nodes: unknown[], extra: Record<string, unknown> = {}, method = 'transaction_resp') {
  return { method, args: { task_uuid: uuid, nodes, ...extra } };
}

export function finish(uuid: string, status: 'ready' | 'error' | 'stopped', extra: Record<string, unknown> = {}) {
  return { method: 'transaction_resp', args: { task_uuid: uuid, status, progress: 100, ...extra } };
}
