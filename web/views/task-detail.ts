import { getJson, taskPath, type Row, type TaskDetail } from '../api';
import { fmtDuration, fmtTime, h } from '../dom';
import type { Timeline } from '../timeline/timeline';
import { badge } from './page';

/** The panel beside the timeline with one task's full record: its times, error, summary and definition. */
export async function showTaskDetail(detail: HTMLElement, run: number, row: Row, timeline: Timeline): Promise<void> {
  detail.hidden = false;
  timeline.select(row);
  detail.replaceChildren(h('h3', {}, row.task_name), h('p', { class: 'muted' }, 'Loading…'));
  try {
    const d = await getJson<TaskDetail>(taskPath(run, row.node_id, row.task_name));
    const dl = h('dl');
    const item = (k: string, v: Node | string) => dl.append(h('dt', {}, k), h('dd', {}, v));
    item('node', d.node_id ?? 'cluster (null)');
    item('status', badge(d.status));
    item('type', d.type ?? '—');
    item('start', fmtTime(d.time_start));
    item('end', fmtTime(d.time_end));
    item('duration', d.duration_s === null ? '—' : fmtDuration(d.duration_s * 1000));
    if (d.error_message) item('error', h('pre', { class: 'err' }, d.error_message));
    if (d.closed_reason) item('closed', d.closed_reason);
    detail.replaceChildren(
      h('button', { class: 'close', title: 'Close', onclick: () => ((detail.hidden = true), timeline.select(null)) }, '×'),
      h('h3', {}, d.task_name),
      dl,
      h('h4', {}, 'Summary'),
      h('pre', {}, d.summary ? JSON.stringify(d.summary, null, 2) : '—'),
      ...(Object.keys(d.custom ?? {}).length ? [h('h4', {}, 'Custom'), h('pre', {}, JSON.stringify(d.custom, null, 2))] : []),
      h('h4', {}, 'Graph definition'),
      h('pre', { class: 'definition' }, d.definition ? JSON.stringify(d.definition, null, 2) : 'not announced by the run'),
    );
  } catch (e) {
    detail.replaceChildren(h('p', { class: 'error-box' }, e instanceof Error ? e.message : String(e)));
  }
}
