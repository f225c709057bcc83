import { nodeLabel } from '../../src/common/node-order';
import { getJson, type CriticalPath, type Regressions, type Summary } from '../api';
import { fmtDuration, fmtTime, h } from '../dom';
import { TASK_STATUSES } from '../status';
import { badge } from './page';

/** A link to a task of a run (the contract's form): opens its detail, selects and reveals its bar. */
export type TaskLink = (node: string | null, task: string, text: string) => HTMLElement;

const secs = (s: number | null | undefined) => (s === null || s === undefined ? '—' : fmtDuration(s * 1000));
const why = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** One block of the header: a heading and what it found, or why it has nothing. */
function block(id: string, title: string, ...body: Array<Node | string>): HTMLElement {
  return h('section', { class: 'insight', id, 'aria-labelledby': `${id}-h` }, h('h2', { id: `${id}-h` }, title), ...body);
}
const none = (text: string) => h('p', { class: 'muted none' }, text);

/**
 * The failure-first header of a run (issue #16 item 2): counts per status, the first failure (a link
 * opening it), the slowest tasks, the critical path (collapsible steps, each a link) and the
 * regressions against the cluster's history, from the insights API. Each block says when it has
 * nothing, or why it cannot be had; a run in progress shows the path so far.
 */
export class RunHeader {
  readonly el = h('div', { class: 'run-insights', id: 'run-insights' });
  summary: Summary | null = null;

  constructor(
    private readonly id: number,
    private readonly link: TaskLink,
  ) {}

  /** Loads the three answers (in parallel) and draws them; the summary is returned (the first failure). */
  async load(summary?: Promise<Summary>): Promise<Summary | null> {
    const s = summary ?? getJson<Summary>(`/transactions/${this.id}/deployment_history/summary`);
    const path = getJson<CriticalPath>(`/transactions/${this.id}/critical_path`);
    const reg = getJson<Regressions>(`/transactions/${this.id}/regressions`);
    // Nothing left unhandled while one of them is awaited.
    for (const p of [s, path, reg]) p.catch(() => undefined);
    const sBlocks = await s.then(
      (v) => ((this.summary = v), this.summaryBlocks(v)),
      (e) => [block('first-failure', 'First failure', none(`Cannot be had: ${why(e)}`))],
    );
    this.el.replaceChildren(
      ...sBlocks,
      block('critical-path', 'Critical path', none('Loading…')),
      block('regressions', 'Regressions', none('Loading…')),
    );
    const [p, r] = await Promise.allSettled([path, reg]);
    this.el
      .querySelector('#critical-path')!
      .replaceWith(p.status === 'fulfilled' ? this.pathBlock(p.value) : this.failed('critical-path', 'Critical path', p.reason));
    this.el
      .querySelector('#regressions')!
      .replaceWith(r.status === 'fulfilled' ? this.regBlock(r.value) : this.failed('regressions', 'Regressions', r.reason));
    return this.summary;
  }

  private failed(id: string, title: string, e: unknown): HTMLElement {
    return block(id, title, none(`Cannot be had: ${why(e)}`));
  }

  private summaryBlocks(s: Summary): HTMLElement[] {
    const counts = block(
      'status-counts',
      `${s.total.toLocaleString('en-US')} tasks`,
      h(
        'ul',
        { class: 'counts-list' },
        ...TASK_STATUSES.map((st) => h('li', { 'data-status': st }, badge(st), ` ${(s.statuses[st] ?? 0).toLocaleString('en-US')}`)),
      ),
      h('p', { class: 'muted small' }, `run duration ${secs(s.duration_s)}`),
    );
    const f = s.first_failure;
    const failure = block(
      'first-failure',
      'First failure',
      ...(f
        ? [
            h(
              'p',
              {},
              this.link(f.node_id, f.task_name, f.task_name),
              ` on ${nodeLabel(f.node_id)}`,
              f.time_end ? ` · ${fmtTime(f.time_end)}` : '',
            ),
            f.error_message ? h('pre', { class: 'err' }, f.error_message) : none('no error message reported'),
          ]
        : [none('No task failed.')]),
    );
    const slow = block(
      'slowest',
      'Slowest tasks',
      s.slowest.length
        ? h(
            'ol',
            { class: 'slow-list' },
            ...s.slowest
              .slice(0, 5)
              .map((t) =>
                h('li', {}, this.link(t.node_id, t.task_name, t.task_name), ` on ${nodeLabel(t.node_id)} · ${secs(t.duration_s)}`),
              ),
          )
        : none('No task finished yet.'),
    );
    return [counts, failure, slow];
  }

  private pathBlock(p: CriticalPath): HTMLElement {
    if (!p.steps.length) return block('critical-path', 'Critical path', none(p.running ? 'No task started yet.' : 'No task ran.'));
    const so = p.running ? 'Path so far: ' : '';
    return block(
      'critical-path',
      'Critical path',
      h(
        'p',
        {},
        `${so}${p.steps.length} steps, ${secs(p.duration_s)} (tasks ${secs(p.tasks_s)}, waiting ${secs(p.waiting_s)})`,
        p.fallback ? h('span', { class: 'muted' }, ' · no dependencies in the graph: same-node chain') : '',
      ),
      h(
        'details',
        { class: 'path-steps' },
        h('summary', {}, 'Steps'),
        h(
          'ol',
          {},
          ...p.steps.map((st) =>
            h(
              'li',
              {},
              this.link(st.node_id, st.task_name, st.task_name),
              ` on ${nodeLabel(st.node_id)} · ${secs(st.duration_s)}`,
              st.wait_s ? h('span', { class: 'muted' }, ` (waited ${secs(st.wait_s)})`) : '',
            ),
          ),
        ),
      ),
    );
  }

  private regBlock(r: Regressions): HTMLElement {
    const list = r.regressions;
    return block(
      'regressions',
      `Regressions (vs the last ${r.baseline} runs)`,
      list.length
        ? h(
            'ul',
            {},
            ...list
              .slice(0, 10)
              .map((g) =>
                h(
                  'li',
                  {},
                  this.link(g.node_id, g.task_name, g.task_name),
                  ` ${secs(g.duration)} (usually ${secs(g.baseline.p50)}, +${secs(g.excess_seconds)}${g.ratio === null ? '' : `, ×${g.ratio.toFixed(1)}`})`,
                ),
              ),
          )
        : none(
            r.not_enough_history.length && !r.regressions.length
              ? `None found (${r.not_enough_history.length} tasks without enough history to judge).`
              : 'None: no task is far slower than its history.',
          ),
      r.new_tasks.length ? h('p', { class: 'muted small' }, `${r.new_tasks.length} new tasks (no history).`) : '',
    );
  }
}
