import type { MessageEvent } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Observable } from 'rxjs';

/** Writes an observable of events to the response as Server-Sent Events, until it ends or the client goes. */
export function sendEvents(req: Request, res: Response, events: Observable<MessageEvent>): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
  const subscription = events.subscribe({
    next: (e) => {
      let frame = '';
      if (e.type) frame += `event: ${e.type}\n`;
      if (e.id !== undefined) frame += `id: ${e.id}\n`;
      frame += `data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`;
      res.write(frame);
    },
    error: (err: unknown) => {
      res.write(`event: error\ndata: ${JSON.stringify({ message: err instanceof Error ? err.message : String(err) })}\n\n`);
      res.end();
    },
    complete: () => res.end(),
  });
  req.on('close', () => subscription.unsubscribe());
}
