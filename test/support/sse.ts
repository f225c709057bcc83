import { request as httpRequest, IncomingMessage } from 'node:http';

/** One Server-Sent Event as the live view sends it (`data` is JSON). */
export interface SseEvent {
  type: string;
  id?: string;
  data: any;
}

/** Parses a response body as Server-Sent Events into `events`, as they come. */
export function parseEvents(res: IncomingMessage, events: SseEvent[]): void {
  let buf = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const e: SseEvent = { type: 'message', data: undefined };
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        const k = line.slice(0, colon);
        const value = line.slice(colon + 1).replace(/^ /, '');
        if (k === 'event') e.type = value;
        if (k === 'id') e.id = value;
        if (k === 'data') e.data = JSON.parse(value);
      }
      events.push(e);
    }
  });
}

/** Opens a run's event stream and collects its events as they come. */
export function openStream(port: number, path: string, headers: Record<string, string> = {}) {
  const events: SseEvent[] = [];
  let ended = false;
  let res: IncomingMessage | undefined;
  const req = httpRequest({ host: '127.0.0.1', port, path, headers: { Accept: 'text/event-stream', ...headers } }, (r) => {
    res = r;
    parseEvents(r, events);
    r.on('end', () => (ended = true));
  });
  req.on('error', () => (ended = true));
  req.end();
  return { events, ended: () => ended, status: () => res?.statusCode, close: () => req.destroy() };
}
