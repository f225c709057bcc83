import { compareNodes, nodeLabel } from '../src/common/node-order';
import type { Row, TaskStatus } from './api';
import { h } from './dom';
import { COLORS, TASK_STATUSES } from './status';
import { listParam } from './url';

/** A node's id as the filters and the URL name it: `null` for the cluster-level rows. */
export const nodeKey = (n: string | null): string => n ?? 'null';
const nodeOf = (k: string): string | null => (k === 'null' ? null : k);

/** Counts as people read them: 6,000. */
const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * The run view's one filter model, shared by the timeline (rows not kept drawn faded) and the table
 * (rows not kept left out): statuses (several), nodes (several), task name contains. Its state is the
 * URL's `statuses`, `nodes`, `q` (web/url.ts); every change calls `onChange`.
 */
export class Filters {
  statuses = new Set<TaskStatus>();
  nodes = new Set<string>();
  q = '';
  /** The timeline's rows (nodes), said in the summary. */
  lanes = 0;
  readonly el: HTMLElement;
  readonly summary = h('p', { class: 'filter-summary', id: 'filter-summary', 'aria-live': 'polite' });
  private readonly statusBox = h('div', { class: 'status-filter', role: 'group', 'aria-label': 'Task statuses' });
  private readonly nodeSel = h('select', { name: 'node', id: 'filter-node', multiple: true, size: 3 });
  private readonly taskInput = h('input', {
    name: 'task',
    id: 'filter-task',
    type: 'search',
    placeholder: 'e.g. ceph',
    autocomplete: 'off',
  });
  private counts: Record<string, number> = {};
  private info = new Map<string | null, { roles: string[]; hostname: string | null }>();
  private nodeList: Array<string | null> = [];

  constructor(private readonly onChange: () => void) {
    this.nodeSel.addEventListener('change', () => {
      this.nodes = new Set([...this.nodeSel.selectedOptions].map((o) => o.value));
      this.changed();
    });
    this.taskInput.addEventListener('input', () => {
      this.q = this.taskInput.value.trim();
      this.changed();
    });
    this.el = h(
      'section',
      { class: 'filters', 'aria-label': 'Filters (timeline and table)' },
      this.statusBox,
      h('label', { class: 'filter-nodes', for: 'filter-node' }, h('span', {}, 'Nodes'), this.nodeSel),
      h('label', { class: 'filter-task', for: 'filter-task' }, h('span', {}, 'Task name contains'), this.taskInput),
      this.summary,
    );
    this.renderStatuses();
  }

  /** The filters named in the URL. */
  fromParams(p: URLSearchParams): void {
    this.statuses = new Set(listParam(p, 'statuses').filter((s): s is TaskStatus => (TASK_STATUSES as readonly string[]).includes(s)));
    this.nodes = new Set(listParam(p, 'nodes'));
    this.q = p.get('q') ?? '';
    this.taskInput.value = this.q;
    this.renderStatuses();
    this.renderNodes();
  }

  /** The filters as the URL's parameters (absent when not set). */
  toParams(): Record<string, string | null> {
    return {
      statuses: this.statuses.size ? TASK_STATUSES.filter((s) => this.statuses.has(s)).join(',') : null,
      nodes: this.nodes.size ? [...this.nodes].sort((a, b) => compareNodes(nodeOf(a), nodeOf(b))).join(',') : null,
      q: this.q || null,
    };
  }

  get active(): boolean {
    return this.statuses.size > 0 || this.nodes.size > 0 || this.q !== '';
  }

  /** Whether a row passes every filter set. */
  readonly keep = (r: Row): boolean =>
    (!this.statuses.size || this.statuses.has(r.status)) &&
    (!this.nodes.size || this.nodes.has(nodeKey(r.node_id))) &&
    (!this.q || r.task_name.toLowerCase().includes(this.q.toLowerCase()));

  /** The run's nodes (for the node list), with what the orchestrator said of them. */
  setNodes(nodes: Array<string | null>, info = this.info): void {
    const sorted = [...nodes].sort(compareNodes);
    if (info === this.info && sorted.length === this.nodeList.length && sorted.every((n, i) => n === this.nodeList[i])) return;
    this.nodeList = sorted;
    this.info = info;
    this.renderNodes();
  }

  /** Rows per status (the whole run's), shown on the status buttons. */
  setCounts(byStatus: Record<string, number>): void {
    this.counts = byStatus;
    this.renderStatuses();
  }

  clear(): void {
    this.statuses.clear();
    this.nodes.clear();
    this.q = '';
    this.taskInput.value = '';
    this.renderNodes();
    this.changed();
  }

  /** What the filters say, in words: `status error, skipped · node 4 · name contains 'ceph'`. */
  describe(): string {
    const parts: string[] = [];
    if (this.statuses.size) parts.push(`status ${TASK_STATUSES.filter((s) => this.statuses.has(s)).join(', ')}`);
    if (this.nodes.size)
      parts.push(
        [...this.nodes]
          .map(nodeOf)
          .sort(compareNodes)
          .map((n) => nodeLabel(n))
          .join(', '),
      );
    if (this.q) parts.push(`name contains '${this.q}'`);
    return parts.join(' · ');
  }

  /** The active-filter summary: "Showing 12 of 6,000 tasks: status error · node 4 [Clear]". */
  showSummary(shown: number, total: number): void {
    if (!this.active) {
      this.summary.replaceChildren(`${fmt(total)} tasks${this.lanes ? ` on ${this.lanes} ${this.lanes === 1 ? 'row' : 'rows'}` : ''}`);
      return;
    }
    this.summary.replaceChildren(
      `Showing ${fmt(shown)} of ${fmt(total)} tasks: ${this.describe()} `,
      h('button', { type: 'button', class: 'clear-filters', onclick: () => this.clear() }, 'Clear'),
    );
  }

  private changed(): void {
    this.renderStatuses();
    this.onChange();
  }

  private renderStatuses(): void {
    const toggle = (s: TaskStatus) => {
      if (this.statuses.has(s)) this.statuses.delete(s);
      else this.statuses.add(s);
      this.changed();
    };
    const notReady = TASK_STATUSES.filter((s) => s !== 'ready');
    const isNotReady = this.statuses.size === notReady.length && notReady.every((s) => this.statuses.has(s));
    this.statusBox.replaceChildren(
      h('span', { class: 'filter-label' }, 'Status'),
      ...TASK_STATUSES.map((s) =>
        h(
          'button',
          {
            type: 'button',
            class: 'status-toggle',
            'data-status-filter': s,
            'aria-pressed': this.statuses.has(s) ? 'true' : 'false',
            onclick: () => toggle(s),
          },
          h('i', { class: 'dot', style: { background: COLORS[s] } }),
          `${s} ${fmt(this.counts[s] ?? 0)}`,
        ),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'status-toggle',
          'data-status-filter': 'not-ready',
          'aria-pressed': isNotReady ? 'true' : 'false',
          title: 'Everything but ready',
          onclick: () => {
            this.statuses = isNotReady ? new Set() : new Set(notReady);
            this.changed();
          },
        },
        'not ready',
      ),
    );
  }

  private renderNodes(): void {
    const present = new Set(this.nodeList.map(nodeKey));
    const listed = [...this.nodeList, ...[...this.nodes].filter((k) => !present.has(k)).map(nodeOf)];
    this.nodeSel.replaceChildren(
      ...listed.map((n) => {
        const i = this.info.get(n);
        const roles = i?.roles.filter((r) => r !== n) ?? [];
        const label = nodeLabel(n) + (roles.length ? ` · ${roles.join(', ')}` : '');
        return h('option', { value: nodeKey(n), selected: this.nodes.has(nodeKey(n)), title: i?.hostname ?? '' }, label);
      }),
    );
    this.nodeSel.size = Math.min(4, Math.max(2, listed.length));
  }
}
