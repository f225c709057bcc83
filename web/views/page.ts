import { HttpError, isNetworkError, token } from '../api';
import { h } from '../dom';
import { statusColor, statusTint } from '../status';
import { setTitle } from '../url';

/** The page's fixed parts (index.html): where views draw, the breadcrumbs, the banner, the tooltip, the sign-out button. */
export const main = document.getElementById('main')!;
export const app = document.getElementById('app')!;
export const crumbs = document.getElementById('crumbs')!;
export const banner = document.getElementById('banner')!;
export const tooltip = document.getElementById('tooltip')!;
export const logout = document.getElementById('logout') as HTMLButtonElement;

/** What the current view holds open (the live stream, timers); closed when the route changes. */
let cleanup: Array<() => void> = [];
/** Which view is shown: counts route changes, so an answer that comes back after its view was left is dropped. */
let generation = 0;

/** Closes what the view holds open when the route changes. */
export function onLeave(close: () => void): void {
  cleanup.push(close);
}

/**
 * A view that takes a change of its own URL parameters in place (Back/Forward between a run's tasks,
 * tabs or filters): the router calls it instead of showing the view again, which would fetch a 30,000-row
 * run anew. Forgotten when the route changes.
 */
let paramsHandler: (() => void) | null = null;
export function onParamsChange(handler: () => void): void {
  paramsHandler = handler;
}
/** The current view's parameters changed (same path): true when the view took the change in place. */
export function takeParams(): boolean {
  if (!paramsHandler) return false;
  paramsHandler();
  return true;
}

/** The route changes: closes what the previous view held open. */
export function leave(): void {
  generation++;
  paramsHandler = null;
  for (const c of cleanup) c();
  cleanup = [];
  serviceUp();
}

/** Whether the view shown when this was called is still shown (a late answer must not draw over the next view). */
export function viewAlive(): () => boolean {
  const g = generation;
  return () => g === generation;
}

/** Shows the current route again (main.ts's router, set at start): after signing in, or "Retry". */
let rerender: () => void = () => undefined;
export function setRouter(route: () => void): void {
  rerender = route;
}
export const reload = (): void => rerender();

/**
 * A status badge: the status in dark text on a light tint of its colour, with a dot of the colour
 * itself (COLORS stay the bars' colours; white text on them did not reach 4.5:1).
 */
export function badge(status: string): HTMLElement {
  return h(
    'span',
    { class: `badge s-${status}`, style: { background: statusTint(status), borderColor: statusColor(status) } },
    h('i', { class: 'dot', 'aria-hidden': 'true', style: { background: statusColor(status) } }),
    status,
  );
}

/** The breadcrumbs: links, then where the user is (no link). main.ts resets them on every route. */
export function setCrumbs(...parts: Array<[string, string | null]>): void {
  crumbs.replaceChildren(
    ...parts.flatMap(([label, href], i) => [
      i ? h('span', { class: 'sep', 'aria-hidden': 'true' }, ' / ') : '',
      href ? h('a', { href }, label) : h('span', { 'aria-current': 'page' }, label),
    ]),
  );
}

/** An error in place of the view: its title as the view's heading, the reason, a retry where it makes sense. */
function errorView(title: string, reason: string, retry: boolean): void {
  setCrumbs(['Clusters', '#/']);
  setTitle(title);
  app.replaceChildren(
    h('h1', { class: 'error-title' }, title),
    h('p', { class: 'error-box', id: 'error', role: 'alert' }, reason),
    h(
      'p',
      { class: 'toolbar' },
      retry ? h('button', { type: 'button', id: 'retry', onclick: () => reload() }, 'Retry') : null,
      h('a', { href: '#/' }, 'Back to the clusters'),
    ),
  );
}

/** Whether an error says the service is down or unreachable (not an answer about what was asked). */
export const serviceDownError = (e: unknown): boolean =>
  isNetworkError(e) || (e instanceof HttpError && (e.status === 502 || e.status === 503 || e.status === 504));

/** Shows why a view could not be drawn, with its reason (and a Retry when trying again may help). */
export function showError(e: unknown): void {
  if (e instanceof HttpError && e.status === 401) return tokenForm(!!token.get());
  if (e instanceof DOMException && e.name === 'AbortError') return;
  if (isNetworkError(e)) return errorView('The service does not answer', 'The service does not answer (network error).', true);
  if (e instanceof HttpError) return errorView(`Error ${e.status}`, e.message, e.status >= 500 || e.status === 429);
  errorView('Error', e instanceof Error ? e.message : String(e), true);
}

/** "WHAT does not exist" (an unknown run, cluster or page), with the breadcrumbs back at the clusters. */
export function showNotFound(what: string): void {
  errorView(`${what} does not exist`, `${what} does not exist (or was deleted).`, false);
}

/** When the service stopped answering (the banner's "since"), null while it answers. */
let downSince: Date | null = null;

/**
 * The banner saying the service does not answer (since when, retrying, a "Retry now"), shown by any
 * view that polls or streams; `serviceUp()` takes it away once the service answers again.
 */
export function serviceDown(retryNow: () => void): void {
  if (!downSince) downSince = new Date();
  const since = downSince.toTimeString().slice(0, 8);
  banner.replaceChildren(
    h(
      'div',
      { class: 'banner-down', role: 'alert' },
      h('span', {}, `The service does not answer since ${since} — retrying…`),
      ' ',
      h('button', { type: 'button', id: 'retry-now', onclick: () => retryNow() }, 'Retry now'),
    ),
  );
  banner.hidden = false;
}

export function serviceUp(): void {
  downSince = null;
  banner.hidden = true;
  banner.replaceChildren();
}

const ago = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
};

/**
 * Keeps a list view fresh while it is shown: `refresh` runs every `everyMs` while the page is visible
 * (at once when it becomes visible again), `updated` says how long ago the last answer came; when the
 * service stops answering the banner says so until it answers again. Another error (the cluster was
 * deleted, the token refused) replaces the view. Stopped when the view is left.
 */
export function keepFresh(refresh: () => Promise<void>, updated: HTMLElement, everyMs = 5000): void {
  const alive = viewAlive();
  let last = Date.now();
  let busy = false;
  const tell = () => {
    updated.textContent = `updated ${ago(Date.now() - last)} ago`;
    updated.classList.toggle('stale', downSince !== null);
  };
  const tick = async (): Promise<void> => {
    if (busy || !alive() || document.visibilityState !== 'visible') return;
    busy = true;
    try {
      await refresh();
      if (!alive()) return;
      last = Date.now();
      serviceUp();
    } catch (e) {
      if (!alive()) return;
      if (serviceDownError(e)) serviceDown(() => void tick());
      else {
        stop();
        showError(e);
      }
    } finally {
      busy = false;
      if (alive()) tell();
    }
  };
  const poll = setInterval(() => void tick(), everyMs);
  const clock = setInterval(tell, 1000);
  const visible = () => void (document.visibilityState === 'visible' && tick());
  document.addEventListener('visibilitychange', visible);
  const stop = () => {
    clearInterval(poll);
    clearInterval(clock);
    document.removeEventListener('visibilitychange', visible);
  };
  onLeave(stop);
  tell();
}

/**
 * Draws again (a live refresh) keeping the keyboard focus: the focused element's `data-focus` key is
 * looked for in what was drawn, so a user tabbing through a list that refreshes stays where they were.
 */
export function keepingFocus(draw: () => void): void {
  const was = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const key = was?.dataset.focus;
  draw();
  if (key && was && !was.isConnected) app.querySelector<HTMLElement>(`[data-focus="${CSS.escape(key)}"]`)?.focus();
}

function tokenForm(rejected: boolean): void {
  setCrumbs(['Sign in', null]);
  setTitle('Sign in');
  const input = h('input', {
    type: 'password',
    id: 'token-input',
    name: 'token',
    autocomplete: 'off',
    placeholder: 'API token',
    required: true,
    size: 48,
  });
  const form = h(
    'form',
    {
      class: 'token-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        token.set(input.value.trim());
        rerender();
      },
    },
    h('h1', {}, 'This service needs a token'),
    h('p', { class: 'muted' }, 'Enter a read (or admin) token. It is kept for this browser tab only (sessionStorage).'),
    rejected ? h('p', { class: 'error-box', role: 'alert' }, 'The token was not accepted.') : null,
    h('label', { for: 'token-input' }, 'API token'),
    ' ',
    input,
    ' ',
    h('button', { type: 'submit' }, 'Use token'),
  );
  app.replaceChildren(form);
  input.focus();
}
