/** The service's REST API, with the session's token when one is set. */
const TOKEN_KEY = 'deployment-history.token';
export const API = '/api/v1';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = token.get();
  return t ? { ...extra, Authorization: `Bearer ${t}` } : extra;
}

export async function request(path: string, init: RequestInit & { accept?: string } = {}): Promise<Response> {
  const res = await fetch(API + path, { ...init, headers: headers({ Accept: init.accept ?? 'application/json' }) });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      if (body && typeof body.message === 'string') message = body.message;
      else if (body && Array.isArray(body.message)) message = body.message.join('; ');
    } catch {
      /* not JSON */
    }
    throw new HttpError(res.status, message);
  }
  return res;
}

export async function getJson<T>(path: string, init?: RequestInit): Promise<T> {
  return (await request(path, init)).json() as Promise<T>;
}

export type TaskStatus = 'pending' | 'running' | 'ready' | 'error' | 'skipped';
export const TASK_STATUSES: TaskStatus[] = ['pending', 'running', 'ready', 'error', 'skipped'];

export interface Cluster {
  id: number;
  name: string;
  release: string;
  version: string | null;
  history_enabled: boolean;
  epoch: number;
  transactions: number;
  running_transactions: number;
  history_rows: number;
  last_transaction_id: number | null;
}

export interface Transaction {
  id: number;
  cluster: number;
  uuid: string;
  name: string;
  /** Nailgun's `result`: always `{}` for a deployment. */
  result: Record<string, unknown>;
  status: 'pending' | 'running' | 'ready' | 'error' | 'stopped';
  progress: number;
  message: string | null;
  dry_run: boolean;
  graph_type: string;
  time_start: string;
  time_end: string | null;
  parent_id: number | null;
  epoch: number;
}

export interface Row {
  task_name: string;
  node_id: string | null;
  status: TaskStatus;
  type: string | null;
  time_start: string | null;
  time_end: string | null;
  error_message: string | null;
  closed_reason: string | null;
  summary?: Record<string, unknown> | null;
  [custom: string]: unknown;
}

export interface Summary {
  transaction: Transaction;
  total: number;
  statuses: Record<string, number>;
  nodes: Record<string, Record<string, number>>;
  duration_s: number;
  first_failure: { node_id: string | null; task_name: string; error_message: string | null } | null;
}

export interface TaskDetail extends Row {
  custom: Record<string, unknown>;
  duration_s: number | null;
  definition: Record<string, unknown> | null;
}

export interface Diff {
  transaction: Transaction;
  other: Transaction;
  changed: Array<{ node_id: string | null; task_name: string; status: string; other_status: string }>;
  only_in_transaction: Array<{ node_id: string | null; task_name: string; status: string }>;
  only_in_other: Array<{ node_id: string | null; task_name: string; status: string }>;
}

export const isLive = (t: Transaction) => t.status === 'running' || t.status === 'pending';

/**
 * One task's detail, named in the query (`null`: a cluster-level task). In a path, a task or node named
 * `..` or `.` would be resolved away by the browser, `%2E%2E` as well (the URL standard treats both as
 * dot segments): the detail of a task named `..` would be the run's list.
 */
export const taskPath = (run: number, node: string | null, task: string) =>
  `/transactions/${run}/deployment_history/task?${new URLSearchParams({ node_id: node ?? 'null', task_name: task })}`;
