import type { NextFunction, Request, Response } from 'express';

/**
 * A request refused before its body was read (401/403 without a token, 413, 404...) is answered at
 * once; its body is then read and thrown away as it comes (Node's dump), so the answer reaches the
 * client. But when the client asked for `Connection: close`, Node closes the socket as soon as the
 * answer is written, while the client is still sending its body: its next write meets a reset, and a
 * reset makes the client's TCP stack drop what it had received unread, the answer included (curl then
 * says "connection reset" instead of 401). So, for an answer written before the request's body was all
 * received, the connection is kept open for reading (as nginx's lingering close does): the client reads
 * the answer and closes. Node's request timeout still bounds a client that sends forever.
 */
export function lingeringClose(req: Request, res: Response, next: NextFunction): void {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody) {
    const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => Response;
    res.writeHead = function (this: Response, ...args: unknown[]) {
      if (!req.complete) this.shouldKeepAlive = true;
      return writeHead(...args);
    } as Response['writeHead'];
  }
  next();
}
