import type { AddressInfo } from 'node:net';
import { connect, Socket } from 'node:net';
import { startApp, TestApp } from '../support/app';
import { waitFor } from '../support/services';

/**
 * A request refused before its body is read (401 without a token) is answered at once. A client that
 * asked for `Connection: close` and is still sending its body must get that answer whole and be able to
 * go on sending until it has read it: were the server to close the socket right after answering, the
 * client's next write would meet a reset, and a reset drops what the client had received unread (seen
 * in CI as `write EPIPE` instead of a 401 under load).
 */
jest.setTimeout(60_000);

const ADMIN = 'admin-0123456789abcdef0123456789';
const MB = 2 ** 20;

describe('an answer given before the body was read reaches the client (lingering close)', () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startApp({ env: { AUTH_ADMIN_TOKENS: ADMIN } });
    const server = t.app.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await t?.close();
  });

  it('a 401 to a client still sending 8 MB with Connection: close: answer read whole, the client can go on sending', async () => {
    const socket: Socket = connect(port, '127.0.0.1');
    const errors: string[] = [];
    let received = '';
    let serverEnded = false;
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
    socket.on('end', () => (serverEnded = true));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));

    const total = 8 * MB;
    socket.write(
      `POST /api/v1/casts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${total}\r\nConnection: close\r\n\r\n`,
    );
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    socket.write(chunk);
    let sent = chunk.length;

    // The whole answer (headers and its JSON body), while most of the body is still to be sent.
    const answer = await waitFor(() => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return null;
      const length = Number(/content-length: (\d+)/i.exec(received.slice(0, end))?.[1] ?? NaN);
      return received.length >= end + 4 + length ? received : null;
    }, 'the answer');
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ statusCode: 401, message: expect.any(String) });

    // Then the client goes on sending (2 MB): the server still reads and throws it away.
    let closed = false;
    socket.on('close', () => (closed = true));
    const cut = () => closed || serverEnded || errors.length > 0;
    while (sent < 2 * MB && !cut()) {
      if (!socket.write(chunk)) await waitFor(() => socket.writableLength === 0 || cut(), 'the server to take what was sent', 10_000);
      sent += chunk.length;
    }
    let flushed = false;
    if (!closed && !errors.length) socket.write(Buffer.alloc(0), () => (flushed = true));
    await waitFor(
      () => flushed || closed || errors.length > 0 || serverEnded,
      'what was sent to be flushed, or the connection to be cut',
      10_000,
    );
    expect({ errors, serverEnded }).toEqual({ errors: [], serverEnded: false });
    socket.destroy();
  });
});
