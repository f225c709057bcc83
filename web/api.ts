import { isFinalRun } from '../src/history/task-state';
import type { components } from './generated/api';

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
      const body = (await res.json()) as { message?: unknown } | null;
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

/** The answers' shapes, generated from the service's OpenAPI document (`npm run gen:api`), never copied by hand. */
type Schemas = components['schemas'];
export type Cluster = Schemas['ClusterDto'];
export type Transaction = Schemas['TransactionDto'];
export type Row = Schemas['HistoryRowDto'];
export type Summary = Schemas['SummaryDto'];
export type TaskDetail = Schemas['TaskDetailDto'];
export type Diff = Schemas['DiffDto'];
export type TaskStatus = Row['status'];
export type CriticalPath = Schemas['CriticalPathDto'];
export type Regressions = Schemas['RegressionsAnswerDto'];
/** A run's node as the orchestrator named it (GET /transactions/:id/nodes): roles and host name. */
export type RunNode = Schemas['RunNodeDto'];

/** A run still in progress (its stream goes on): not yet in a final status. */
export const isLive = (t: Transaction) => !isFinalRun(t.status);

/**
 * One task's detail, named in the query (`null`: a cluster-level task). In a path, a task or node named
 * `..` or `.` would be resolved away by the browser, `%2E%2E` as well (the URL standard treats both as
 * dot segments): the detail of a task named `..` would be the run's list.
 */
export const taskPath = (run: number, node: string | null, task: string) =>
  `/transactions/${run}/deployment_history/task?${new URLSearchParams({ node_id: node ?? 'null', task_name: task })}`;

/** A cluster's runs, one page of them (`GET /clusters/:id/runs`), each with its task counts and first failure. */
export type RunStatus = Transaction['status'];
export type RunTaskCounts = Schemas['RunTaskCountsDto'];
export type RunFailure = Schemas['RunFailureDto'];
export type RunListItem = Schemas['RunListItemDto'];
export type RunsPage = Schemas['RunsPageDto'];

/** The service could not be reached at all (fetch's TypeError: refused, reset, offline), as opposed to an HTTP answer. */
export const isNetworkError = (e: unknown): boolean => e instanceof TypeError;
