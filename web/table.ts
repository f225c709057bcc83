import { compareNodes, nodeLabel } from '../src/common/node-order';
import type { Row } from './api';
import { durationMs, fmtDuration, fmtTime, h } from './dom';
import { COLORS } from './status';

const ROW_H = 28;
export type Col = 'node_id' | 'task_name' | 'status' | 'type' | 'time_start' | 'time_end' | 'duration' | 'error_message';
const COLS: Array<{ id: Col; label: string }> = [
  { id: 'node_id', label: 'Node' },
  { id: 'task_name', label: 'Task' },
  { id: 'status', label: 'Status' },
  { id: 'type', label: 'Type' },
  { id: 'time_start', label: 'Start' },
  { id: 'time_end', label: 'End' },
  { id: 'duration', label: 'Duration' },
  { id: 'error_message', label: 'Error or reason' },
];
export const isCol = (c: string): c is Col => COLS.some((x) => x.id === c);

/** Names as people sort them: custom-step-2 before custom-step-11. */
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** A node as a row names it: `node 4 · controller` (its host name in the title). */
export interface NodeIdentity {
  roles: string[];
  hostname: string | null;
}
export function nodeText(node: string | null, info: Map<string | null, NodeIdentity>): string {
  const roles = info.get(node)?.roles.filter((r) => r !== node) ?? [];
  return nodeLabel(node) + (roles.length ? ` · ${roles.join(', ')}` : '');
}

function compareBy(col: Col): (a: Row, b: Row) => number {
  switch (col) {
    case 'node_id':
      return (a, b) => compareNodes(a.node_id, b.node_id);
    case 'duration': {
      const d = (r: Row) => durationMs(r.time_start, r.time_end) ?? -1;
      return (a, b) => d(a) - d(b);
    }
    case 'time_start':
    case 'time_end':
      // ISO times in UTC sort as text; a missing one last.
      return (a, b) => {
        const x = a[col] ?? '\uffff';
        const y = b[col] ?? '\uffff';
        return x < y ? -1 : x > y ? 1 : 0;
      };
    case 'error_message':
      return (a, b) => collator.compare(a.error_message ?? a.closed_reason ?? '', b.error_message ?? b.closed_reason ?? '');
    default:
      return (a, b) => collator.compare(String(a[col] ?? ''), String(b[col] ?? ''));
  }
}

/** Rows sorted by a column (stable: equal rows keep the API's order, nodes then graph order). */
function sortRows(rows: Row[], col: Col, dir: 1 | -1): Row[] {
  const cmp = compareBy(col);
  return rows.sort((a, b) => dir * cmp(a, b));
}

/**
 * The run's rows as a table: one scrolling region (focusable, the header sticky inside it, so it
 * scrolls sideways with the body), sorting by any column, only the rows in view in the DOM (a
 * 30,000-row run stays light). Each row is a link to the task's URL: keyboard reachable, Enter opens
 * the detail (`onOpen`), a middle click opens it in a new tab. The filters are the page's (filters.ts).
 */
export class RowTable {
  readonly el: HTMLElement;
  sort: { col: Col; dir: 1 | -1 } | null = null;
  nodeInfo = new Map<string | null, NodeIdentity>();
  private rows: Row[] = [];
  private view: Row[] = [];
  private readonly viewport: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly body: HTMLElement;
  private readonly head: HTMLElement;
  private readonly empty: HTMLElement;
  private pending = 0;
  private keep: (r: Row) => boolean = () => true;

  constructor(
    private readonly link: (r: Row) => string,
    private readonly onOpen: (row: Row, from: HTMLElement) => void,
    private readonly onSort: () => void,
    private readonly emptyText: () => HTMLElement,
  ) {
    this.head = h('div', { class: 'trow thead' });
    this.spacer = h('div', { class: 'tspacer' });
    this.body = h('div', { class: 'tbody' }, this.spacer);
    this.empty = h('div', { class: 'table-empty', hidden: true });
    this.viewport = h(
      'div',
      { class: 'tviewport', tabindex: 0, role: 'region', 'aria-label': 'Tasks of the run', onscroll: () => this.renderWindow() },
      h('div', { class: 'tinner' }, this.head, this.body),
    );
    this.el = h('div', { class: 'rowtable' }, this.viewport, this.empty);
    this.renderHead();
    new ResizeObserver(() => this.fitHeight()).observe(document.documentElement);
  }

  setRows(rows: Row[]): void {
    this.rows = rows;
    this.refresh();
  }

  setFilter(keep: (r: Row) => boolean): void {
    this.keep = keep;
    this.refresh();
  }

  get shown(): number {
    return this.view.length;
  }

  /** Rows changed (live): the list holds the new objects already; filter and sort again, later. */
  changed(): void {
    if (!this.pending) this.pending = requestAnimationFrame(() => ((this.pending = 0), this.refresh()));
  }

  refresh(): void {
    this.view = this.rows.filter(this.keep);
    if (this.sort) this.view = sortRows(this.view, this.sort.col, this.sort.dir);
    this.el.dataset.rows = String(this.view.length);
    this.spacer.style.height = `${this.view.length * ROW_H}px`;
    const none = this.view.length === 0 && this.rows.length > 0;
    this.empty.hidden = !none;
    if (none) this.empty.replaceChildren(this.emptyText());
    this.fitHeight();
    this.renderWindow();
  }

  /** The region takes the screen's height below it (not a fixed 480 px), at least a few rows. */
  fitHeight(): void {
    if (!this.el.isConnected || this.el.offsetParent === null) return;
    const top = this.viewport.getBoundingClientRect().top + window.scrollY;
    const want = Math.max(200, Math.min(window.innerHeight - 24, window.innerHeight - Math.min(top, window.innerHeight / 2) - 24));
    this.viewport.style.height = `${Math.round(Math.min(want, (this.view.length + 1) * ROW_H + 20))}px`;
    this.renderWindow();
  }

  private renderHead(): void {
    this.head.replaceChildren(
      ...COLS.map((c) => {
        const on = this.sort?.col === c.id;
        const dir = on ? (this.sort!.dir === 1 ? 'ascending' : 'descending') : null;
        return h(
          'button',
          {
            type: 'button',
            class: `th col-${c.id}`,
            'data-col': c.id,
            'aria-label': `${c.label}${dir ? `, sorted ${dir}` : ''}: sort`,
            onclick: () => {
              this.sort = on ? { col: c.id, dir: this.sort!.dir === 1 ? -1 : 1 } : { col: c.id, dir: 1 };
              this.renderHead();
              this.refresh();
              this.onSort();
            },
          },
          c.label,
          h('span', { class: 'arrow', 'aria-hidden': 'true' }, on ? (this.sort!.dir === 1 ? '▲' : '▼') : ''),
        );
      }),
    );
  }

  setSort(sort: { col: Col; dir: 1 | -1 } | null): void {
    this.sort = sort;
    this.renderHead();
  }

  private renderWindow(): void {
    const top = Math.max(0, this.viewport.scrollTop - ROW_H);
    const first = Math.max(0, Math.floor(top / ROW_H) - 5);
    const last = Math.min(this.view.length, Math.ceil((top + (this.viewport.clientHeight || 480)) / ROW_H) + 5);
    const out: HTMLElement[] = [this.spacer];
    for (let i = first; i < last; i++) {
      const r = this.view[i];
      const host = this.nodeInfo.get(r.node_id)?.hostname;
      const why = r.error_message ?? r.closed_reason ?? '';
      out.push(
        h(
          'a',
          {
            class: 'trow',
            href: this.link(r),
            style: { top: `${i * ROW_H}px` },
            'data-status': r.status,
            onclick: (e: MouseEvent) => {
              if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
              e.preventDefault();
              this.onOpen(r, e.currentTarget as HTMLElement);
            },
          },
          h('span', { class: 'col-node_id', title: host ?? '' }, nodeText(r.node_id, this.nodeInfo)),
          h('span', { class: 'col-task_name', title: r.task_name }, r.task_name),
          h('span', { class: 'col-status' }, h('i', { class: 'dot', style: { background: COLORS[r.status] } }), r.status),
          h('span', { class: 'col-type' }, r.type ?? ''),
          h('span', { class: 'col-time_start' }, fmtTime(r.time_start)),
          h('span', { class: 'col-time_end' }, fmtTime(r.time_end)),
          h('span', { class: 'col-duration' }, fmtDuration(durationMs(r.time_start, r.time_end))),
          h('span', { class: 'col-error_message', title: why }, why),
        ),
      );
    }
    this.body.replaceChildren(...out);
  }
}
