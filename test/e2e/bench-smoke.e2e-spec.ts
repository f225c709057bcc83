import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AMQP_URL, DATABASE_URL, freePort } from '../support/services';

/**
 * The benchmark's smaller preset, run end to end (service on PostgreSQL, casts over RabbitMQ, reads
 * over HTTP, correctness check, retention) so its code cannot rot. No timing is asserted here.
 */
describe('benchmark smoke preset', () => {
  const out = mkdtempSync(join(tmpdir(), 'dh-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs --transactions 200 through the real path and finds every row correct', async () => {
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
    expect(result).toMatchObject({ transactions: 200, rows: 200 * 100 + 20 * 15, correct: true });
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
