import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useBroker } from '../support/broker-lock';
import { AMQP_URL, DATABASE_URL, freePort } from '../support/services';

/**
 * The benchmark's smaller preset, run end to end (service on PostgreSQL, casts over RabbitMQ, reads
 * over HTTP, correctness check, retention) so its code cannot rot. No timing is asserted here.
 */
describe('benchmark smoke preset', () => {
  const out = mkdtempSync(join(tmpdir(), 'dh-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs --transactions 200 through the real path and finds every row correct', async () => {
    await useBroker();
    const port = await freePort();
    const args = [
      'ts-node',
      '--transpile-only',
      '--project',
      'bench/tsconfig.json',
      'bench/bench.ts',
      '--transactions',
      '200',
      '--big-nodes',
      '20',
      '--big-tasks',
      '15',
      '--read-samples',
      '5',
      // A window smaller than the casts, so that the publisher waits for it and samples the queue.
      '--window',
      '2000',
      // The HTTP path too, small; and an ARA server that is not there: said in the results, the run not failed.
      '--http-clients',
      '2',
      '--http-runs',
      '4',
      '--ara-url',
      `http://127.0.0.1:${await freePort()}`,
      '--out',
      out,
      '--port',
      String(port),
    ];
    const child = spawn('npx', args, {
      cwd: join(__dirname, '../..'),
      env: { ...process.env, DATABASE_URL, AMQP_URL },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
    const files = readdirSync(out).filter((f) => f.startsWith('bench-') && f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const result = JSON.parse(readFileSync(join(out, files[0]), 'utf8'));
    expect(result).toMatchObject({ transactions: 200, rows: 200 * 100 + 20 * 15 + 4 * 100, correct: true });
    // Every read found something: its latency is that of a real answer (the benchmark fails otherwise).
    const found = Object.fromEntries(
      Object.entries(result.reads as Record<string, { rows?: number; items?: number }>).map(([k, f]) => [k, f.rows ?? f.items]),
    );
    expect(Object.entries(found).filter(([, n]) => !(Number(n) > 0))).toEqual([]);
    expect(found.cluster_history_status_time_range).toBeGreaterThan(0);
    // Issue #17's figures: the ingest against the broker's relay rate, our side's CPU per cast, the HTTP path.
    // The broker's relay rate is measured before and after the ingest; the ratio is against their mean.
    const relays = [result.broker_relay_before.msgs_per_s, result.broker_relay.msgs_per_s];
    expect(relays.every((r) => r > 0)).toBe(true);
    expect(result.ratio_to_broker).toBeCloseTo(result.ingest_updates_per_s / ((relays[0] + relays[1]) / 2), 1);
    const each = relays.map((r) => result.ingest_updates_per_s / r).sort((a, b) => a - b);
    expect(result.ratio_to_broker_range[0]).toBeCloseTo(each[0], 1);
    expect(result.ratio_to_broker_range[1]).toBeCloseTo(each[1], 1);
    expect(result.service_pg_us_per_cast).toBe(result.cpu.service_us_per_cast + result.cpu.postgres_us_per_cast);
    // What the broker held for the service while the publisher waited for its window.
    expect(result.queue_ready.samples).toBeGreaterThan(0);
    expect(result.queue_ready.mean).toBeGreaterThanOrEqual(0);
    expect(result.queue_ready.max).toBeGreaterThanOrEqual(result.queue_ready.mean);
    expect(result.queue_ready.max).toBeLessThanOrEqual(result.casts);
    expect(result.http_path).toMatchObject({ clients: 2, runs: 4 });
    expect(result.http_path.casts).toBeGreaterThanOrEqual(4 * (1 + 200 + 1)); // a start, 2 reports per row (and duplicates), a finish
    expect(result.http_path.casts_per_s).toBeGreaterThan(0);
    expect(result.http_path.latency_p95_ms).toBeGreaterThanOrEqual(result.http_path.latency_p50_ms);
    expect(result.http_path.service_pg_us_per_cast).toBeGreaterThan(0);
    expect(result.ara).toMatchObject({ reachable: false });
    // What a PostgreSQL connection costs PostgreSQL here, by which ARA's figures are read (one per request).
    expect(result.machine.postgres_connection_us).toBeGreaterThan(0);
    expect(result.http_to_ara_ratio).toBeNull();
    expect(Object.keys(result.reads).sort()).toEqual(
      [
        'cluster_history_status_time_range',
        'cluster_state',
        'large_run_summary',
        'large_run_whole',
        'node_history_first_page',
        'run_filtered_by_status',
        'run_whole',
        'large_run_critical_path',
        'cluster_task_stats',
        'cluster_flaky_tasks',
        'cluster_flaky_tasks_all_runs',
        'run_regressions',
      ].sort(),
    );
    // What the workload puts there for issue #15's answers: the large run's chain goes back through each
    // task's `requires`, one step per task (15); cluster 3 runs 10 tasks; its last run has one slower task.
    expect({
      steps: result.reads.large_run_critical_path.items,
      tasks: result.reads.cluster_task_stats.items,
      regressions: result.reads.run_regressions.items,
      empty: result.read_checks.empty,
    }).toEqual({ steps: 15, tasks: 10, regressions: 1, empty: [] });
    expect(result.reads.cluster_flaky_tasks.items).toBeGreaterThan(0);
    expect(result.reads.cluster_flaky_tasks_all_runs.items).toBeGreaterThanOrEqual(result.reads.cluster_flaky_tasks.items);
    expect(result.reads.large_run_critical_path.first_ms).toBeGreaterThan(0);
    expect(result.retention).toHaveLength(2);
    expect(result.ingest_updates_per_s).toBeGreaterThan(0);
    expect(result.raw_upserts_per_s).toBeGreaterThan(0);
  }, 240000);
});
