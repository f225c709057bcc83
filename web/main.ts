import { HttpError, token } from './api';
import { clear, h } from './dom';
import { parseRoute, setTitle } from './url';
import { clustersView } from './views/clusters';
import { compareView } from './views/compare';
import { app, leave, logout, main, onLeave, setCrumbs, setRouter, showError, showNotFound, takeParams, tooltip } from './views/page';
import { runView } from './views/run';
import { clusterView } from './views/runs';

/**
 * The page's router (routes in web/url.ts): `#/` the clusters, `#/clusters/ID` a cluster's runs,
 * `#/clusters/ID/compare` two of its runs compared, `#/runs/ID` one run; anything else is a page that
 * does not exist. Each route starts from a clean page: the previous view closed, its breadcrumbs and
 * title reset, so an error never shows under the crumbs of the view before it.
 */
async function route(moveFocus: boolean): Promise<void> {
  shownPath = parseRoute().path;
  leave();
  tooltip.hidden = true;
  logout.hidden = !token.get();
  setCrumbs(['Clusters', '#/']);
  setTitle();
  app.replaceChildren(h('p', { class: 'muted', role: 'status' }, 'Loading…'));
  if (moveFocus) focusHeading();
  const { path } = parseRoute();
  let m: RegExpMatchArray | null;
  /** What the route names, for "… does not exist" when the service answers 404. */
  let what = `The page ${location.hash || '#/'}`;
  try {
    if (path === '/') await clustersView();
    else if ((m = path.match(/^\/clusters\/(\d+)$/))) {
      what = `Cluster #${m[1]}`;
      await clusterView(Number(m[1]));
    } else if ((m = path.match(/^\/clusters\/(\d+)\/compare$/))) {
      what = `Cluster #${m[1]}`;
      await compareView(Number(m[1]));
    } else if ((m = path.match(/^\/runs\/(\d+)$/))) {
      what = `Run #${m[1]}`;
      await runView(Number(m[1]));
    } else showNotFound(what);
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) showNotFound(what);
    else showError(e);
  }
}

/**
 * Moves the keyboard focus to the new view's heading once it is drawn (a screen reader then reads
 * where the user is), unless the view focused something itself (the token form its input).
 */
function focusHeading(): void {
  const tryFocus = (): boolean => {
    if (document.activeElement && document.activeElement !== document.body && app.contains(document.activeElement)) return true;
    const h1 = app.querySelector('h1');
    if (!h1) return false;
    h1.tabIndex = -1;
    h1.focus();
    return true;
  };
  const watch = new MutationObserver(() => void (tryFocus() && watch.disconnect()));
  watch.observe(app, { childList: true, subtree: true });
  onLeave(() => watch.disconnect());
}

setRouter(() => void route(true));
logout.addEventListener('click', () => {
  token.clear();
  void route(true);
});
// The skip link: focus the main content (its href would change the route).
document.getElementById('skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
/** The path of the view shown (its parameters apart): Back to the same view with other parameters stays in it. */
let shownPath: string | null = null;
window.addEventListener('hashchange', () => {
  if (parseRoute().path === shownPath && takeParams()) return;
  void route(true);
});
void route(false);
clear(tooltip);
