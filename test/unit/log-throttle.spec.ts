import { LogThrottle } from '../../src/common/logging/log-throttle';

describe('LogThrottle', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const sink = () => {
    const lines: string[] = [];
    return { lines, logger: { warn: (m: string) => lines.push(`warn ${m}`), error: (m: string) => lines.push(`error ${m}`) } };
  };

  it('logs the first occurrence at once and the repeats once per interval with a count', () => {
    const { lines, logger } = sink();
    const t = new LogThrottle(logger, 10_000);
    for (let i = 0; i < 1000; i++) t.error('dlq', 'could not dead-letter');
    expect(lines).toEqual(['error could not dead-letter']);
    jest.advanceTimersByTime(10_000);
    expect(lines).toEqual(['error could not dead-letter', 'error could not dead-letter (repeated 999 more times in the last 10 s)']);
    t.error('dlq', 'could not dead-letter');
    expect(lines).toHaveLength(3);
  });

  it('says nothing more when a message did not repeat, and keeps keys apart', () => {
    const { lines, logger } = sink();
    const t = new LogThrottle(logger, 1000);
    t.warn('a', 'A');
    t.warn('b', 'B');
    t.warn('b', 'B');
    jest.advanceTimersByTime(1000);
    expect(lines).toEqual(['warn A', 'warn B', 'warn B (repeated 1 more time in the last 1 s)']);
  });

  it('holds a bounded number of keys', () => {
    const { lines, logger } = sink();
    const t = new LogThrottle(logger, 60_000, 3);
    for (let i = 0; i < 10_000; i++) t.warn(`k${i}`, `m${i}`);
    expect(lines).toHaveLength(10_000);
    expect(jest.getTimerCount()).toBeLessThanOrEqual(3);
    t.flush();
    expect(jest.getTimerCount()).toBe(0);
  });
});
