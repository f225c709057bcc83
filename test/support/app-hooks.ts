import { startApp, TestApp } from './app';
import { Bus } from './bus';

/**
 * Registers the hooks of a suite that needs the real app consuming from its own exchange and queue, and a
 * bus client to publish to them: started before the suite's tests, removed and closed after them. `use`
 * receives both once started (a suite keeps them in its own variables).
 */
export function useAppWithBus(use: (started: { t: TestApp; bus: Bus }) => void, opts: Parameters<typeof startApp>[0] = {}): void {
  let t: TestApp | undefined;
  let bus: Bus | undefined;
  beforeAll(async () => {
    t = await startApp({ amqp: true, ...opts });
    bus = await Bus.connect();
    use({ t, bus });
  });
  afterAll(async () => {
    if (t) await bus?.removeDeclared(t.config);
    await bus?.close();
    await t?.close();
  });
}

/** Registers the hooks of a suite that needs the real app listening on a port of the loopback (for clients other than supertest). */
export function useListeningApp(use: (started: { t: TestApp; port: number }) => void, opts: Parameters<typeof startApp>[0] = {}): void {
  let t: TestApp | undefined;
  beforeAll(async () => {
    t = await startApp(opts);
    use({ t, port: await listen(t) });
  });
  afterAll(() => t?.close());
}

/** Makes the app listen on a free port of the loopback; the port. */
export async function listen(t: TestApp): Promise<number> {
  await t.app.listen(0, '127.0.0.1');
  return (t.app.getHttpServer().address() as { port: number }).port;
}
