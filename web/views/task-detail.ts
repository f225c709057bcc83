import { nodeLabel } from '../../src/common/node-order';
import { getJson, taskPath, type Row, type TaskDetail } from '../api';
import { fmtDuration, fmtTime, h } from '../dom';
import type { NodeIdentity } from '../table';
import { badge } from './page';

/**
 * The panel with one task's full record: its times, error, closing reason, node, summary and
 * definition. Beside the timeline on a desktop; on a phone (≤ 700 px, run.css) the whole screen, its
 * header (with Close) always in view. A region with a label; focus moves into it when a user opened it
 * and back to what opened it when it closes (Close or Escape).
 */
export class TaskDetailPanel {
  readonly el = h('aside', { class: 'detail', id: 'detail', hidden: true, role: 'region', 'aria-label': 'Task detail', tabindex: -1 });
  row: Row | null = null;
  private opener: HTMLElement | null = null;
  private seq = 0;

  constructor(
    private readonly run: () => number,
    private readonly nodeInfo: () => Map<string | null, NodeIdentity>,
    private readonly onClose: () => void,
  ) {}

  get open(): boolean {
    return !this.el.hidden;
  }

  /** Shows a task; `from` is what opened it (focus returns there), none when the page opened it itself. */
  async show(row: Row, from: HTMLElement | null): Promise<void> {
    const seq = ++this.seq;
    this.row = row;
    if (from) this.opener = from;
    this.el.hidden = false;
    this.el.setAttribute('aria-label', `Task detail: ${row.task_name} on ${nodeLabel(row.node_id)}`);
    const head = this.header(row.task_name);
    this.el.replaceChildren(head, h('p', { class: 'muted' }, 'Loading…'));
    if (from) (head.querySelector('button.close') as HTMLElement).focus();
    try {
      const d = await getJson<TaskDetail>(taskPath(this.run(), row.node_id, row.task_name));
      if (seq !== this.seq) return;
      const dl = this.facts(d);
      const focused = this.el.contains(document.activeElement);
      const body = this.header(d.task_name);
      this.el.replaceChildren(
        body,
        dl,
        h('h4', {}, 'Summary'),
        h('pre', {}, d.summary ? JSON.stringify(d.summary, null, 2) : '—'),
        ...(Object.keys(d.custom ?? {}).length ? [h('h4', {}, 'Custom'), h('pre', {}, JSON.stringify(d.custom, null, 2))] : []),
        h('h4', {}, 'Graph definition'),
        h('pre', { class: 'definition' }, d.definition ? JSON.stringify(d.definition, null, 2) : 'not announced by the run'),
      );
      if (focused) (body.querySelector('button.close') as HTMLElement).focus();
    } catch (e) {
      if (seq !== this.seq) return;
      this.el.replaceChildren(
        this.header(row.task_name),
        h('p', { class: 'error-box', role: 'alert' }, e instanceof Error ? e.message : String(e)),
        h('button', { type: 'button', onclick: () => void this.show(row, null) }, 'Retry'),
      );
    }
  }

  /** The task's facts: node (roles, host), status, times, error, and why the service closed it. */
  private facts(d: TaskDetail): HTMLElement {
    const dl = h('dl');
    const item = (k: string, v: Node | string) => dl.append(h('dt', {}, k), h('dd', {}, v));
    const info = this.nodeInfo().get(d.node_id);
    const roles = info?.roles.filter((r) => r !== d.node_id) ?? [];
    item('node', d.node_id ?? 'cluster (null)');
    if (roles.length) item('roles', roles.join(', '));
    if (info?.hostname) item('host', info.hostname);
    item('status', badge(d.status));
    item('type', d.type ?? '—');
    item('start', fmtTime(d.time_start));
    item('end', fmtTime(d.time_end));
    item('duration', d.duration_s === null ? '—' : fmtDuration(d.duration_s * 1000));
    if (d.error_message) item('error', h('pre', { class: 'err' }, d.error_message));
    if (d.closed_reason) item('closed by the service', h('span', { class: 'closed-reason' }, d.closed_reason));
    return dl;
  }

  /** Closes the panel; focus goes back to what opened it (when it is still on the page). */
  close(): void {
    if (this.el.hidden) return;
    this.seq++;
    const back = this.opener;
    const had = this.el.contains(document.activeElement);
    this.el.hidden = true;
    this.row = null;
    this.opener = null;
    this.onClose();
    if (back?.isConnected) back.focus();
    else if (had) (document.querySelector('h1') as HTMLElement | null)?.focus();
  }

  /** The panel's header: the task's name and Close, kept in view (sticky) on a phone. */
  private header(name: string): HTMLElement {
    return h(
      'div',
      { class: 'detail-head' },
      h('h3', {}, name),
      h(
        'button',
        { type: 'button', class: 'close', 'aria-label': 'Close the task detail', title: 'Close (Escape)', onclick: () => this.close() },
        '×',
      ),
    );
  }
}
