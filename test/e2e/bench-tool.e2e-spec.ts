import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helpText, OPTIONS, optionsTable, parseArgs, UsageError } from '../../bench/options';
import { timeRange } from '../../bench/reads';
import { emptyReads } from '../../bench/verify';

/**
 * The benchmark as a tool (issue #17): its command line, and the checks that make it fail. The
 * benchmark itself runs in bench-smoke; here it is spawned only for what must end before it starts.
 */
describe('benchmark command line', () => {
  const root = join(__dirname, '../..');
  /** The benchmark as `npm run bench` starts it (bench/launch.js, which builds only past the command line), with a scratch results directory. */
  const bench = (...args: string[]) => {
    const out = mkdtempSync(join(tmpdir(), 'dh-bench-tool-'));
    try {
      const r = spawnSync('node', ['bench/launch.js', ...args, '--out', out], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
        // Nothing is listening there: a benchmark that went past its command line would fail to connect, not run.
        env: { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', AMQP_URL: 'amqp://127.0.0.1:1' },
      });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, written: readdirSync(out) };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  };

  it('--help and -h print every option with its default and exit 0, having written nothing', () => {
    for (const flag of ['--help', '-h']) {
      const r = bench('--transactions', '10000', flag);
      expect({ code: r.code, stderr: r.stderr, written: r.written }).toEqual({ code: 0, stderr: '', written: [] });
      expect(r.stdout).toBe(helpText());
      for (const o of OPTIONS) expect(r.stdout).toContain(`--${o.name}`);
      expect(r.stdout).toContain('[default: 10000]');
      expect(r.stdout).not.toContain('[bench]'); // nothing of a run was logged
    }
  }, 120_000);

  it('an unknown option exits 2 naming it, before anything runs', () => {
    const r = bench('--transactons', '1000');
    expect({ code: r.code, written: r.written, stdout: r.stdout }).toEqual({ code: 2, written: [], stdout: '' });
    expect(r.stderr).toContain('unknown option --transactons');
  }, 60_000);

  it('parses values, both forms, and refuses what would measure nothing', () => {
    const o = parseArgs(['--transactions=1000', '--http-clients', '8', '--no-latest'], {});
    expect(o).toMatchObject({ transactions: 1000, httpClients: 8, httpRuns: 100, latest: false, araUrl: undefined, clusters: 20 });
    expect(parseArgs([], {})).toMatchObject({ transactions: 10000, latest: true, httpClients: 0 });
    // ARA is compared with our HTTP path measured its way: 8 clients unless told.
    expect(parseArgs(['--ara-url', 'http://127.0.0.1:8000'], {})).toMatchObject({ araUrl: 'http://127.0.0.1:8000', httpClients: 8 });
    for (const [argv, message] of [
      [['--transactions'], '--transactions needs a value'],
      [['--transactions', 'many'], '--transactions must be a whole number'],
      [['--duplicates', '2'], '--duplicates is a share'],
      [['--no-latest=1'], '--no-latest takes no value'],
      [['stray'], 'unknown option stray'],
      // Fewer runs than cluster 3 needs for a regression against 3 earlier runs: that read would be empty.
      [['--transactions', '62'], '--transactions at least'],
      [['--ara-url', 'http://x', '--http-clients', '0'], '--http-clients must not be 0'],
    ] as const) {
      expect(() => parseArgs([...argv], {})).toThrow(UsageError);
      expect(() => parseArgs([...argv], {})).toThrow(message);
    }
  });

  it("bench/README.md's options table is the one --help prints", () => {
    expect(readFileSync(join(root, 'bench/README.md'), 'utf8')).toContain(optionsTable());
  });
});

describe('benchmark checks', () => {
  it('a read that found no rows or no items is empty (the benchmark fails on it)', () => {
    expect(
      emptyReads({
        listed: { rows: 3 },
        none_listed: { rows: 0 },
        answered: { items: 2 },
        answered_nothing: { items: 0 },
      }),
    ).toEqual(['none_listed', 'answered_nothing']);
  });

  it("the cluster history's time range lies within the workload at every scale", () => {
    // Run i starts i minutes after 2026-01-01; the range must fall between the first and the last run.
    const range = (n: number) => Object.fromEntries(new URLSearchParams(timeRange({ transactions: n })));
    expect(range(10000)).toEqual({ since: '2026-01-02T00:00:00.000Z', until: '2026-01-05T00:00:00.000Z' }); // as before: comparable
    expect(range(1000)).toEqual({ since: '2026-01-01T02:24:00.000Z', until: '2026-01-01T09:36:00.000Z' }); // was past the last run
    expect(range(200)).toEqual({ since: '2026-01-01T00:28:00.000Z', until: '2026-01-01T01:55:00.000Z' });
  });
});
