/** A tiny DOM builder: text is always set as text, never parsed as HTML. */
type Child = Node | string | number | null | undefined | false;
/** An attribute's text: attributes are given as strings, numbers or booleans (anything else as JSON, never `[object Object]`). */
const attrText = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, unknown> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v as EventListener);
    else if (k === 'class') e.className = attrText(v);
    else if (k === 'style' && typeof v === 'object') Object.assign(e.style, v);
    else if (k in e && typeof v !== 'string') (e as unknown as Record<string, unknown>)[k] = v;
    else e.setAttribute(k, v === true ? '' : attrText(v));
  }
  append(e, ...children);
  return e;
}

/**
 * A list table (class `list`): one header row of `headers`, then `rows`. Each cell is labelled with its
 * column's header (`data-label`), which the narrow layout (CSS: under 700 px the rows become stacked
 * cards) shows before the value, so a table fits a phone with no horizontal scroll.
 */
export function listTable(id: string, headers: string[], rows: HTMLTableRowElement[], caption?: string): HTMLTableElement {
  for (const tr of rows)
    Array.from(tr.cells).forEach((td, i) => {
      if (headers[i] && !td.dataset.label) td.dataset.label = headers[i];
    });
  return h(
    'table',
    { class: 'list cards', id },
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, ...rows),
  );
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
}

export function clear(e: Node): void {
  while (e.firstChild) e.removeChild(e.firstChild);
}

export function fmtTime(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, 'Z') : '—';
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function durationMs(start: string | null, end: string | null, now = Date.now()): number | null {
  if (!start) return null;
  return (end ? Date.parse(end) : now) - Date.parse(start);
}
