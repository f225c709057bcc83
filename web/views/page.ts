import { HttpError, token } from '../api';
import { h } from '../dom';
import { statusColor } from '../status';

/** The page's fixed parts (index.html): where views draw, the breadcrumbs, the tooltip, the sign-out button. */
export const app = document.getElementById('app')!;
export const crumbs = document.getElementById('crumbs')!;
export const tooltip = document.getElementById('tooltip')!;
export const logout = document.getElementById('logout') as HTMLButtonElement;

/** What the current view holds open (the live stream, timers); closed when the route changes. */
let cleanup: Array<() => void> = [];

/** Closes what the view holds open when the route changes. */
export function onLeave(close: () => void): void {
  cleanup.push(close);
}

/** The route changes: closes what the previous view held open. */
export function leave(): void {
  for (const c of cleanup) c();
  cleanup = [];
}

/** Shows the current route again (main.ts's router, set at start): after signing in. */
let rerender: () => void = () => undefined;
export function setRouter(route: () => void): void {
  rerender = route;
}

export function badge(status: string) {
  return h('span', { class: `badge s-${status}`, style: { background: statusColor(status) } }, status);
}

export function setCrumbs(...parts: Array<[string, string | null]>) {
  crumbs.replaceChildren(...parts.flatMap(([label, href], i) => [i ? ' / ' : '', href ? h('a', { href }, label) : h('span', {}, label)]));
}

export function showError(e: unknown): void {
  if (e instanceof HttpError && e.status === 401) return tokenForm(!!token.get());
  if (e instanceof DOMException && e.name === 'AbortError') return;
  app.replaceChildren(
    h('div', { class: 'error-box' }, h('b', {}, 'Error: '), e instanceof Error ? e.message : String(e)),
    h('p', {}, h('a', { href: '#/' }, 'Back to the clusters')),
  );
}

function tokenForm(rejected: boolean): void {
  setCrumbs(['Sign in', null]);
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'off', placeholder: 'API token', required: true, size: 48 });
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
    h('h2', {}, 'This service needs a token'),
    h('p', { class: 'muted' }, 'Enter a read (or admin) token. It is kept for this browser tab only (sessionStorage).'),
    rejected ? h('p', { class: 'error-box' }, 'The token was not accepted.') : null,
    input,
    ' ',
    h('button', { type: 'submit' }, 'Use token'),
  );
  app.replaceChildren(form);
  input.focus();
}
