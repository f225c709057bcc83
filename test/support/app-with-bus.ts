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
