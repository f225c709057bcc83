export interface ThrottledLogger {
  warn(message: string): void;
  error(message: string): void;
}

interface Entry {
  level: 'warn' | 'error';
  message: string;
  suppressed: number;
  timer: NodeJS.Timeout;
}

/**
 * Logs a repeated error once per interval with a count, instead of once per message: a message that
 * fails a thousand times a second must not write a thousand lines a second (the logs, not the
 * failure, would fill the disk). The first occurrence of a key is logged at once; repeats within the
 * interval are counted and reported in one line when the interval ends ("... (repeated N times in
 * the last 10 s)"). Keys are bounded: past `maxKeys`, the oldest key is flushed and forgotten.
 */
export class LogThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly logger: ThrottledLogger,
    private readonly intervalMs = 10_000,
    private readonly maxKeys = 200,
  ) {}

  warn(key: string, message: string): void {
    this.log('warn', key, message);
  }

  error(key: string, message: string): void {
    this.log('error', key, message);
  }

  /** Reports what is pending and forgets every key (shutdown). */
  flush(): void {
    for (const key of [...this.entries.keys()]) this.close(key);
  }

  private log(level: 'warn' | 'error', key: string, message: string): void {
    const entry = this.entries.get(key);
    if (entry) {
      entry.suppressed++;
      entry.message = message;
      return;
    }
    if (this.entries.size >= this.maxKeys) this.close(this.entries.keys().next().value as string);
    this.logger[level](message);
    const timer = setTimeout(() => this.close(key), this.intervalMs);
    timer.unref();
    this.entries.set(key, { level, message, suppressed: 0, timer });
  }

  private close(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.entries.delete(key);
    if (entry.suppressed > 0) {
      const secs = Math.round(this.intervalMs / 100) / 10;
      this.logger[entry.level](
        `${entry.message} (repeated ${entry.suppressed} more time${entry.suppressed > 1 ? 's' : ''} in the last ${secs} s)`,
      );
    }
  }
}
