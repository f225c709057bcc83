/**
 * The page's state in its URL (one home): `#/PATH?PARAMS`. A view reads its parameters when it is
 * shown and writes them back as the user changes something (history.replaceState: no new history entry
 * per keystroke, no hashchange, so the view is not shown again); a reload or a link sent to a colleague
 * opens the same view, tab, task, filters and zoom window.
 *
 * Parameters by view (names as the API's where there is one):
 * - `#/clusters/ID`: `statuses` (run statuses, comma-separated), `page` (1-based)
 * - `#/runs/ID`: `tab` (`timeline`|`table`), `task` + `task_node` (the task shown in the detail panel;
 *   `task_node=null` for a cluster-level task), `statuses`, `nodes` (comma-separated; `null` for
 *   cluster-level rows), `q` (task name contains), `sort` (`COLUMN` or `-COLUMN`), `from` + `to` (the
 *   timeline's zoom window, ISO 8601 UTC), `compare` (the other run's id)
 */
export interface Route {
  /** The path after `#`, e.g. `/runs/12`. */
  path: string;
  params: URLSearchParams;
}

/** The route of a hash (`location.hash` by default). */
export function parseRoute(hash: string = location.hash): Route {
  const h = hash.replace(/^#/, '') || '/';
  const q = h.indexOf('?');
  return q < 0 ? { path: h, params: new URLSearchParams() } : { path: h.slice(0, q) || '/', params: new URLSearchParams(h.slice(q + 1)) };
}

/** A link to a view: `#/PATH?PARAMS`, parameters without a value left out. */
export function href(path: string, params: Record<string, string | number | null | undefined> | URLSearchParams = {}): string {
  const p = params instanceof URLSearchParams ? new URLSearchParams(params) : new URLSearchParams();
  if (!(params instanceof URLSearchParams))
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') p.set(k, String(v));
  const qs = p.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

/**
 * Changes the current view's parameters in the URL (null or '' removes one), without showing the view
 * again. `push` makes a history entry (Back returns to what was before), for changes a user would step
 * back through (opening a task); typing in a filter replaces.
 */
export function setParams(patch: Record<string, string | number | null | undefined>, opts: { push?: boolean } = {}): void {
  const r = parseRoute();
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || v === undefined || v === '') r.params.delete(k);
    else r.params.set(k, String(v));
  }
  const next = href(r.path, r.params);
  if (next === (location.hash || '#/')) return;
  if (opts.push) history.pushState(null, '', next);
  else history.replaceState(null, '', next);
}

/** A comma-separated list parameter, empty when absent. */
export function listParam(params: URLSearchParams, name: string): string[] {
  const v = params.get(name);
  return v ? v.split(',').filter((s) => s !== '') : [];
}

/** The page's title: the view first, then the service (`Run #12 error · ui-cluster — Deployment history`). */
export function setTitle(...parts: Array<string | null | undefined | false>): void {
  const what = parts.filter((p): p is string => !!p).join(' · ');
  document.title = what ? `${what} — Deployment history` : 'Deployment history';
}

/** The link to one task of a run, opening its detail there (`task_node=null`: a cluster-level task). */
export const taskHref = (run: number, node: string | null, task: string): string =>
  href(`/runs/${run}`, { task, task_node: node ?? 'null' });
