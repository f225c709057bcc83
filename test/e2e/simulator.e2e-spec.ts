import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startApp, TestApp } from '../support/app';
import { useAppWithBus } from '../support/app-hooks';
import { Bus } from '../support/bus';
import { AMQP_URL, freePort, uniqueName, waitFor } from '../support/services';

/**
 * The built simulator (`npm run simulate`, dist/ built by `pretest`) plays deployments against the real
 * service, over HTTP and over RabbitMQ; every run must end as the simulator said it would: its status
 * and its rows per status, despite the duplicates and the late deliveries it sends on purpose.
 */
const SIM = join(__dirname, '../../dist/src/simulator/main.js');
const CLI = join(__dirname, '../../dist/src/cli/main.js');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.DHIST_URL;
    const child = spawn(process.execPath, [file, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface Expected {
  casts: number;
  duplicates: number;
  out_of_order: number;
  runs: Array<{
    uuid: string;
    cluster: number;
    status: string;
    counts: Record<string, number>;
    total: number;
    failure: { node: string; task: string } | null;
    failures: Array<{ node: string; task: string }>;
  }>;
}

/** What the service holds for each simulated run: its status, its rows per status, its total. */
async function holdings(t: TestApp, uuids: string[]) {
  const list: Array<{ id: number; uuid: string; status: string }> = (await t.http().get('/api/v1/transactions').expect(200)).body;
  const out: Record<string, { status: string; counts: Record<string, number>; total: number }> = {};
  for (const uuid of uuids) {
    const tx = list.find((x) => x.uuid === uuid);
    if (!tx) continue;
    const summary = (await t.http().get(`/api/v1/transactions/${tx.id}/deployment_history/summary`).expect(200)).body;
    out[uuid] = { status: tx.status, counts: summary.statuses, total: summary.total };
  }
  return out;
}

const announced = (e: Expected) => Object.fromEntries(e.runs.map((r) => [r.uuid, { status: r.status, counts: r.counts, total: r.total }]));

const WORKLOAD = [
  '--clusters',
  '2',
  '--nodes',
  '3',
  '--tasks',
  '8',
  '--runs',
  '5',
  '--speed',
  '0',
  '--failure-rate',
  '0.5',
  '--duplicates',
  '0.2',
  '--out-of-order',
  '0.2',
  '--json',
];

describe('the simulator', () => {
  describe('over HTTP', () => {
    let t: TestApp;
    let url: string;
    beforeAll(async () => {
      t = await startApp();
      await t.app.listen(0);
      url = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    });
    afterAll(async () => t?.close());

    it('plays runs on several clusters that end with the statuses and counts it announced', async () => {
      const r = await run(SIM, ['--url', url, '--seed', 'http-1', ...WORKLOAD]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const expected: Expected = JSON.parse(r.stdout);
      expect(expected.runs).toHaveLength(5);
      expect(new Set(expected.runs.map((x) => x.cluster))).toEqual(new Set([1, 2]));
      // The seed was chosen so that the workload has it all: failed and successful runs, duplicates, late reports.
      expect(expected.runs.map((x) => x.status)).toEqual(expect.arrayContaining(['ready', 'error']));
      expect(expected.duplicates).toBeGreaterThan(0);
      expect(expected.out_of_order).toBeGreaterThan(0);
      for (const x of expected.runs) {
        // 6 stage tasks, 4 master tasks, 8 tasks on each of 3 nodes; nothing left open once a run ended.
        expect(x.total).toBe(6 + 4 + 3 * 8);
        expect(x.counts.pending + x.counts.running).toBe(0);
        if (x.status === 'error') expect(x.counts.error).toBeGreaterThan(0);
      }
      expect(
        await holdings(
          t,
          expected.runs.map((x) => x.uuid),
        ),
      ).toEqual(announced(expected));

      // What the runs look like: stages at cluster level, master tasks, a node's chain in order.
      const [first] = (await t.http().get('/api/v1/transactions').expect(200)).body;
      const rows: Array<{ node_id: string | null; task_name: string; type: string }> = (
        await t.http().get(`/api/v1/transactions/${first.id}/deployment_history`).expect(200)
      ).body;
      expect(rows.filter((x) => x.node_id === null).map((x) => x.task_name)).toEqual(
        expect.arrayContaining(['pre_deployment_start', 'deploy_start', 'post_deployment_end']),
      );
      expect(rows.filter((x) => x.node_id === 'master').map((x) => x.task_name)).toContain('generate_keys');
      expect(rows.find((x) => x.task_name === 'upload_configuration')).toMatchObject({ type: 'upload_file' });
      // Each row carries its task's definition (fuel2 task history show -p).
      expect(rows.find((x) => x.task_name === 'netconfig' && x.node_id === '1')).toMatchObject({
        version: '2.1.0',
        roles: ['controller', 'compute'],
        requires: ['globals', 'deploy_start'],
        parameters: { puppet_manifest: '/etc/puppet/modules/osnailyfacter/modular/netconfig.pp', timeout: 3600 },
      });
      expect(rows.find((x) => x.task_name === 'generate_keys')).toMatchObject({ roles: ['master'], parameters: { timeout: 180 } });
      // What each run was deployed with (fuel2 task deployment-info|settings|network-configuration download).
      const info = (await t.http().get(`/api/v1/transactions/${first.id}/deployment_info`).expect(200)).body;
      expect(Object.keys(info.nodes)).toEqual(['1', '2', '3']);
      expect(info.nodes['1']).toMatchObject({
        uid: '1',
        roles: ['primary-controller'],
        network_scheme: { roles: { management: 'br-mgmt' } },
      });
      expect((await t.http().get(`/api/v1/transactions/${first.id}/settings`).expect(200)).body.editable.common.debug).toMatchObject({
        value: false,
      });
      const network = (await t.http().get(`/api/v1/transactions/${first.id}/network_configuration`).expect(200)).body;
      expect(network.networks.map((n: { name: string }) => n.name)).toEqual(['public', 'management', 'storage', 'fuelweb_admin']);
    });

    it('plays the same deployments for the same seed, and others for another seed', async () => {
      const strip = (out: string) => (JSON.parse(out) as Expected).runs.map(({ uuid: _u, ...rest }) => rest);
      const args = ['--url', url, '--clusters', '1', '--nodes', '2', '--tasks', '5', '--runs', '3', '--first-cluster', '7', '--json'];
      const [a, b, c] = await Promise.all([
        run(SIM, [...args, '--seed', 'same', '--prefix', 'same-a']),
        run(SIM, [...args, '--seed', 'same', '--prefix', 'same-b']),
        run(SIM, [...args, '--seed', 'other', '--prefix', 'other']),
      ]);
      expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
      expect(strip(a.stdout)).toEqual(strip(b.stdout));
      expect(strip(a.stdout)).not.toEqual(strip(c.stdout));
      expect((JSON.parse(a.stdout) as Expected).runs.map((x) => x.uuid)).toEqual(['same-a-c7-r1', 'same-a-c7-r2', 'same-a-c7-r3']);
    });

    it('is reachable as `dhist simulate`, with the global --url', async () => {
      const r = await run(CLI, [
        '--url',
        url,
        'simulate',
        '--seed',
        'cli',
        '--nodes',
        '2',
        '--tasks',
        '3',
        '--first-cluster',
        '9',
        '--prefix',
        'via-cli',
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/The service should now hold:/);
      expect(r.stdout).toMatch(/via-cli-c9-r1/);
      expect(r.stderr).toMatch(/via-cli-c9-r1: started on cluster 9/);
      expect((await holdings(t, ['via-cli-c9-r1']))['via-cli-c9-r1'].total).toBe(6 + 4 + 2 * 3);
    });

    it('--slow makes a task slower on every node, --flaky makes it fail now and then; the runs end as announced', async () => {
      const args = ['--url', url, '--clusters', '1', '--nodes', '3', '--tasks', '8', '--failure-rate', '0', '--seed', 'injected', '--json'];
      const [plain, slow, flaky] = await Promise.all([
        run(SIM, [...args, '--first-cluster', '20', '--prefix', 'plain']),
        run(SIM, [...args, '--first-cluster', '21', '--prefix', 'slow', '--slow', 'netconfig=5']),
        run(SIM, [...args, '--first-cluster', '22', '--prefix', 'flaky', '--runs', '6', '--flaky', 'hiera=0.5']),
      ]);
      expect([plain.code, slow.code, flaky.code]).toEqual([0, 0, 0]);
      const netconfig = async (uuid: string) => {
        const list: Array<{ id: number; uuid: string }> = (await t.http().get('/api/v1/transactions').expect(200)).body;
        const id = list.find((x) => x.uuid === uuid)!.id;
        const rows: Array<{ node_id: string; task_name: string; time_start: string; time_end: string }> = (
          await t.http().get(`/api/v1/transactions/${id}/deployment_history`).query({ tasks_names: 'netconfig' }).expect(200)
        ).body;
        return rows.map((r) => (Date.parse(r.time_end) - Date.parse(r.time_start)) / 1000);
      };
      const [base, slowed] = [await netconfig('plain-c20-r1'), await netconfig('slow-c21-r1')];
      expect(base).toHaveLength(3);
      slowed.forEach((d, i) => expect(Math.abs(d - 5 * base[i])).toBeLessThan(0.01));

      const expected: Expected = JSON.parse(flaky.stdout);
      expect(
        await holdings(
          t,
          expected.runs.map((x) => x.uuid),
        ),
      ).toEqual(announced(expected));
      const failures = expected.runs.flatMap((x) => x.failures);
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.every((f) => f.task === 'hiera')).toBe(true);
      for (const x of expected.runs) expect([x.status, x.counts.error]).toEqual([x.failures.length ? 'error' : 'ready', x.failures.length]);

      const bad = await run(SIM, ['--url', url, '--slow', 'nosuch=2', '--flaky', 'hiera=0.5']);
      expect(bad).toMatchObject({ code: 2, stdout: '' });
      expect(bad.stderr).toMatch(
        /^error: --slow: no task 'nosuch' in this simulation \(--nodes 3 --tasks 12\); its tasks: upload_configuration, /,
      );
      const rate = await run(CLI, ['--url', url, 'simulate', '--flaky', 'hiera=2']);
      expect(rate).toEqual({
        code: 2,
        stdout: '',
        stderr: expect.stringContaining('--flaky hiera=2: the number must be a rate from 0 to 1.'),
      });
    });

    it('fails with one line when the service is not there', async () => {
      const port = await freePort();
      const r = await run(SIM, ['--url', `http://127.0.0.1:${port}`, '--json']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: cannot reach http://127.0.0.1:${port}: connection refused\n`);
    });
  });

  describe('over RabbitMQ', () => {
    let t: TestApp;
    let bus: Bus;
    useAppWithBus((started) => ({ t, bus } = started));

    it("publishes Astute's casts to the exchange; the runs end as announced", async () => {
      const r = await run(SIM, [
        '--amqp',
        AMQP_URL,
        '--exchange',
        t.config.amqpExchange,
        '--routing-key',
        t.config.amqpRoutingKey,
        '--seed',
        'bus-2',
        ...WORKLOAD,
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const expected: Expected = JSON.parse(r.stdout);
      expect(expected.runs.map((x) => x.status)).toEqual(expect.arrayContaining(['ready', 'error']));
      const want = announced(expected);
      const uuids = Object.keys(want);
      // The consumer applies the casts in batches after the publisher is done: wait until it caught up.
      await waitFor(
        async () => JSON.stringify(await holdings(t, uuids)) === JSON.stringify(want),
        'the simulated runs to be applied',
        20000,
      ).catch(async (e) => {
        expect(await holdings(t, uuids)).toEqual(want); // shows the difference
        throw e;
      });
      expect((await bus.queueDepth(`${t.config.amqpQueue}.dead-letter`)).messages).toBe(0);
    });

    it('says so when no queue takes its casts', async () => {
      const exchange = uniqueName('dh_nobody');
      try {
        const r = await run(SIM, ['--amqp', AMQP_URL, '--exchange', exchange, '--nodes', '1', '--tasks', '1', '-q']);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(
          new RegExp(
            `^error: \\d+ cast\\(s\\) reached no queue: is the service consuming exchange '${exchange}' with routing key 'nailgun'`,
          ),
        );
      } finally {
        await bus.channel.deleteExchange(exchange).catch(() => undefined);
      }
    });
  });
});
