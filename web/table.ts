import { compareNodes } from '../src/common/node-order';
import type { Row } from './api';
import { durationMs, fmtDuration, fmtTime, h } from './dom';
import { COLORS, TASK_STATUSES } from './status';

const ROW_H = 26;
type Col = 'node_id' | 'task_name' | 'status' | 'type' | 'time_start' | 'time_end' | 'duration' | 'error_message';
const COLS: Array<{ id: Col; label: string }> = [
  { id: 'node_id', label: 'Node' },
  { id: 'task_name', label: 'Task' },
  { id: 'status', label: 'Status' },
  { id: 'type', label: 'Type' },
  { id: 'time_start', label: 'Start' },
  { id: 'time_end', label: 'End' },
  { id: 'duration', label: 'Duration' },
  { id: 'error_message', label: 'Error' },
];

function sortValue(r: Row, col: Exclude<Col, 'node_id'>): string | number {
  switch (col) {
    case 'duration':
      return durationMs(r.time_start, r.time_end) ?? -1;
    case 'time_start':
    case 'time_end':
      return r[col] ?? '\uffff';
    default:
      return String(r[col] ?? '');
  }
}

/** Rows sorted by a column: nodes in the API's node order, the other columns by value. */
function sortRows(rows: Row[], col: Col, dir: 1 | -1): Row[] {
  if (col === 'node_id') return rows.sort((a, b) => dir * compareNodes(a.node_id, b.node_id));
  const keyed = rows.map((r) => [sortValue(r, col), r] as const);
  keyed.sort((a, b) => (a[0] < b[0] ? -dir : a[0] > b[0] ? dir : 0));
  return keyed.map((k) => k[1]);
}

/**
 * The run's rows as a table: filters (node, status, task name), sorting by any column, and only the
 * rows in view in the DOM (a 30,000-row run stays light).
 */
export class RowTable {
  readonly el: HTMLElement;
  private rows: Row[] = [];
  private view: Row[] = [];
  private sort: { col: Col; dir: 1 | -1 } | null = null;
  private readonly nodeSel: HTMLSelectElement;
  private readonly statusSel: HTMLSelectElement;
  private readonly taskInput: HTMLInputElement;
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private readonly countEl: HTMLElement;
  private readonly head: HTMLElement;
  private pending = 0;

  constructor(private readonly onSelect: (row: Row) => void) {
    this.nodeSel = h('select', { name: 'node', onchange: () => this.refresh() }, h('option', { value: '' }, 'all nodes'));
    this.statusSel = h(
      'select',
      { name: 'status', onchange: () => this.refresh() },
      h('option', { value: '' }, 'all statuses'),
      ...TASK_STATUSES.map((s) => h('option', { value: s }, s)),
    );
    this.taskInput = h('input', { name: 'task', type: 'search', placeholder: 'task name contains…', oninput: () => this.refresh() });
    this.countEl = h('span', { class: 'muted row-count' });
    this.head = h('div', { class: 'trow thead' });
    this.spacer = h('div', { class: 'tspacer' });
    this.body = h('div', { class: 'tbody' });
    this.viewport = h('div', { class: 'tviewport', onscroll: () => this.renderWindow() }, this.spacer, this.body);
    this.el = h(
      'div',
      { class: 'rowtable' },
      h('div', { class: 'filters' }, this.nodeSel, this.statusSel, this.taskInput, this.countEl),
      this.head,
      this.viewport,
    );
    this.renderHead();
  }

  setRows(rows: Row[]): void {
    this.rows = rows;
    const nodes = [...new Set(rows.map((r) => r.node_id))].sort(compareNodes);
    const current = this.nodeSel.value;
    this.nodeSel.replaceChildren(
      h('option', { value: '' }, 'all nodes'),
      ...nodes.map((n) => h('option', { value: n ?? 'null' }, n ?? 'cluster (null)')),
    );
    this.nodeSel.value = current;
    this.refresh();
  }

  /** Rows changed (live): the list holds the new objects already; filter and sort again, later. */
  changed(): void {
    if (!this.pending) this.pending = requestAnimationFrame(() => ((this.pending = 0), this.refresh()));
  }

  private refresh(): void {
    const node = this.nodeSel.value;
    const status = this.statusSel.value;
    const task = this.taskInput.value.trim().toLowerCase();
    this.view = this.rows.filter(
      (r) =>
        (!node || (r.node_id ?? 'null') === node) &&
        (!status || r.status === status) &&
        (!task || r.task_name.toLowerCase().includes(task)),
    );
    if (this.sort) this.view = sortRows(this.view, this.sort.col, this.sort.dir);
    this.countEl.textContent = `${this.view.length} of ${this.rows.length} rows`;
    this.el.dataset.rows = String(this.view.length);
    this.spacer.style.height = `${this.view.length * ROW_H}px`;
    this.renderWindow();
  }

  private renderHead(): void {
    this.head.replaceChildren(
      ...COLS.map((c) =>
        h(
          'button',
          {
            class: `th col-${c.id}`,
            'data-col': c.id,
            onclick: () => {
              this.sort = this.sort?.col === c.id ? { col: c.id, dir: this.sort.dir === 1 ? -1 : 1 } : { col: c.id, dir: 1 };
              this.renderHead();
              this.refresh();
            },
          },
          c.label,
          this.sort?.col === c.id ? (this.sort.dir === 1 ? ' ▲' : ' ▼') : '',
        ),
      ),
    );
  }

  private renderWindow(): void {
    const top = this.viewport.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_H) - 5);
    const last = Math.min(this.view.length, Math.ceil((top + (this.viewport.clientHeight || 480)) / ROW_H) + 5);
    const out: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const r = this.view[i];
      out.push(
        h(
          'div',
          { class: 'trow', style: { top: `${i * ROW_H}px` }, 'data-status': r.status, onclick: () => this.onSelect(r) },
          h('span', { class: 'col-node_id' }, r.node_id ?? 'cluster'),
          h('span', { class: 'col-task_name', title: r.task_name }, r.task_name),
          h('span', { class: 'col-status' }, h('i', { class: 'dot', style: { background: COLORS[r.status] } }), r.status),
          h('span', { class: 'col-type' }, r.type ?? ''),
          h('span', { class: 'col-time_start' }, fmtTime(r.time_start)),
          h('span', { class: 'col-time_end' }, fmtTime(r.time_end)),
          h('span', { class: 'col-duration' }, fmtDuration(durationMs(r.time_start, r.time_end))),
          h(
            'span',
            { class: 'col-error_message', title: r.error_message ?? r.closed_reason ?? '' },
            r.error_message ?? r.closed_reason ?? '',
          ),
        ),
      );
    }
    this.body.replaceChildren(...out);
  }
}
