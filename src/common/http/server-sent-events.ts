import type { Response } from 'express';

/**
 * One Server-Sent Events message, encoded once: a Buffer, so that writing it to many responses shares
 * it (a string would be copied into each socket's buffer). `json` is the data as JSON text already;
 * it must hold no line break (JSON.stringify and PostgreSQL's json output escape them).
 */
export function sseFrame(type: string, json: string, id?: string): Buffer {
  return Buffer.from(`event: ${type}\n${id !== undefined ? `id: ${id}\n` : ''}data: ${json}\n\n`);
}

/** Starts a response as an event stream: the status and headers go at once, before any event. */
export function openEventStream(res: Response): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    // no-transform: no proxy (nor the service's own compression) may compress it, which holds events back.
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    // nginx and the like would otherwise buffer the stream.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
}
