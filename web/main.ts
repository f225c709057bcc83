import { token } from './api';
import { clear } from './dom';
import { clustersView } from './views/clusters';
import { leave, logout, setRouter, showError, tooltip } from './views/page';
import { runView } from './views/run';
import { clusterView } from './views/runs';
import { parseRoute } from './url';

/** The page's router: `#/` the clusters, `#/clusters/ID` a cluster's runs, `#/runs/ID` one run (web/views/). */
async function route(): Promise<void> {
  leave();
  tooltip.hidden = true;
  logout.hidden = !token.get();
  const hash = parseRoute().path; // the view's parameters (?tab=&task=...) are the view's own
  let m: RegExpMatchArray | null;
  try {
    if ((m = hash.match(/^\/clusters\/(\d+)$/))) await clusterView(Number(m[1]));
    else if ((m = hash.match(/^\/runs\/(\d+)$/))) await runView(Number(m[1]));
    else await clustersView();
  } catch (e) {
    showError(e);
  }
}

setRouter(() => void route());
logout.addEventListener('click', () => {
  token.clear();
  void route();
});
window.addEventListener('hashchange', () => void route());
void route();
clear(tooltip);
