import { API, headers, HttpError } from './api';

export interface SseEvent {
  type: string;
  id?: string;
  data: string;
}

/**
 * Server-Sent Events over fetch() (EventSource cannot send the Authorization header): parses the
 * stream as the spec says (event/id/data fields, blank line ends an event, `:` comments), calls
 * `onEvent` for each event; resolves when the stream ends, rejects on an HTTP error.
 */
export async function openStream(path: string, onEvent: (e: SseEvent) => void, signal: AbortSignal, lastEventId?: string): Promise<void> {
  const h = headers({ Accept: 'text/event-stream' });
  if (lastEventId) h['Last-Event-ID'] = lastEventId;
  const res = await fetch(API + path, { headers: h, signal, cache: 'no-store' });
  if (!res.ok || !res.body) throw new HttpError(res.status, `stream: ${res.status} ${res.statusText}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let type = '';
  let id: string | undefined;
  let data: string[] = [];
  const line = (l: string) => {
    if (l === '') {
      if (data.length) onEvent({ type: type || 'message', id, data: data.join('\n') });
      type = '';
      data = [];
      return;
    }
    if (l.startsWith(':')) return;
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  };
  let scan = 0; // where to look for the next newline: a 6 MB first event arrives in many chunks
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let start = 0;
    let i: number;
    while ((i = buf.indexOf('\n', scan)) >= 0) {
      line(buf.slice(start, i > start && buf[i - 1] === '\r' ? i - 1 : i));
      start = scan = i + 1;
    }
    buf = buf.slice(start);
    scan = buf.length;
  }
  if (buf) line(buf);
  line('');
}
