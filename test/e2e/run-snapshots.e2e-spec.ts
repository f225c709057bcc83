import { start } from '../support/casts';
import { postCasts, startApp, TestApp } from '../support/app';

/**
 * What a run was deployed with (issue #13, part 2): `transaction_start` (and `POST /transactions`) take
 * `deployment_info`, `settings` and `network_configuration`; they are served as Nailgun 10 served them,
 * at the paths fuel2 asks (`task deployment-info|settings|network-configuration download ID`), which it
 * writes to a YAML file as they come. fuel2 sends `GET /api/v1/transactions/ID/deployment_info` (no
 * trailing slash; fuelclient/objects/task.py) and prints the `message` of an error.
 */
describe('run snapshots: deployment info, settings, network configuration (fuel2 task ... download)', () => {
  let t: TestApp;
  const graph = { '1': [{ id: 'netconfig', type: 'puppet' }], '2': [{ id: 'netconfig', type: 'puppet' }] };
  // Small but shaped as Nailgun 10 kept them (nailgun/task/task.py: DeploymentTask.message).
  const node1 = {
    uid: '1',
    fqdn: 'node-1.test.domain.local',
    roles: ['primary-controller'],
    network_scheme: { endpoints: { 'br-mgmt': { IP: ['192.168.0.3/24'] } }, roles: { management: 'br-mgmt' } },
  };
  const node2 = { uid: '2', fqdn: 'node-2.test.domain.local', roles: ['compute'], nova: { state_path: '/var/lib/nova' } };
  const common = { openstack_version: 'mitaka-9.0', deployment_mode: 'ha_compact', management_vip: '192.168.0.2' };
  const settings = {
    editable: { common: { debug: { value: false, label: 'Debug logging' } }, storage: { volumes_ceph: { value: true } } },
  };
  const network = {
    networking_parameters: { segmentation_type: 'vlan', vlan_range: [1000, 1030], dns_nameservers: ['8.8.4.4', '8.8.8.8'] },
    networks: [{ id: 1, name: 'management', cidr: '192.168.0.0/24', vlan_start: 101, ip_ranges: [['192.168.0.1', '192.168.0.254']] }],
    management_vip: '192.168.0.2',
  };
  const ids: Record<string, number> = {};
  const get = (path: string) => t.http().get(`/api/v1/transactions/${path}`);

  beforeAll(async () => {
    t = await startApp();
    const started = await postCasts(t, [
      start('snap-all', { id: 1, name: 'east', release: 'mitaka-9.0' }, graph, {
        deployment_info: { '1': node1, '2': node2 },
        settings,
        network_configuration: network,
      }),
      start('snap-nailgun', { id: 1, name: 'east', release: 'mitaka-9.0' }, graph, {
        deployment_info: { common, nodes: { '2': node2, '1': node1 } },
      }),
      start('snap-none', { id: 1, name: 'east', release: 'mitaka-9.0' }, graph),
      start('snap-old', { id: 2, name: 'legacy', release: 'liberty-8.0' }, graph, { settings, deployment_info: { '1': node1 } }),
    ]);
    for (const r of started) ids[r.task_uuid] = r.transaction_id!;
    expect(started.map((r) => r.skipped)).toEqual([[], [], [], []]);
  });
  afterAll(() => t?.close());

  it("GET .../deployment_info (fuel2's exact request): Nailgun 10's shape {common, nodes by uid}", async () => {
    const res = await get(`${ids['snap-all']}/deployment_info`).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ common: {}, nodes: { '1': node1, '2': node2 } });
    // As stored: key order kept, nodes in node order.
    expect(Object.keys(res.body.nodes['1'])).toEqual(Object.keys(node1));
    const nailgun = await get(`${ids['snap-nailgun']}/deployment_info`).expect(200);
    expect(nailgun.body).toEqual({ common, nodes: { '1': node1, '2': node2 } });
    expect(Object.keys(nailgun.body.nodes)).toEqual(['1', '2']);
  });

  it('GET .../settings and .../network_configuration: the objects the start sent', async () => {
    expect((await get(`${ids['snap-all']}/settings`).expect(200)).body).toEqual(settings);
    expect((await get(`${ids['snap-all']}/network_configuration`).expect(200)).body).toEqual(network);
  });

  it('answers with a trailing slash and under /api/ as well (Nailgun: /?$)', async () => {
    expect((await t.http().get(`/api/v1/transactions/${ids['snap-all']}/settings/`).expect(200)).body).toEqual(settings);
    expect((await t.http().get(`/api/transactions/${ids['snap-all']}/network_configuration`).expect(200)).body).toEqual(network);
  });

  it('a run that did not record one: 404 saying so (fuel2 prints the message)', async () => {
    const id = ids['snap-none'];
    for (const [path, what] of [
      ['deployment_info', 'deployment info'],
      ['settings', 'settings'],
      ['network_configuration', 'network configuration'],
    ]) {
      const res = await get(`${id}/${path}`).expect(404);
      expect(res.body).toEqual({
        statusCode: 404,
        message: `Transaction ${id} did not record its ${what}: its start sent none (or one that was refused, as its answer and the log said)`,
      });
    }
    expect((await get(`${ids['snap-nailgun']}/settings`).expect(404)).body.message).toMatch(/did not record its settings/);
  });

  it('an unknown run: 404 "Transaction not found"; a bad id: 400', async () => {
    for (const path of ['deployment_info', 'settings', 'network_configuration']) {
      expect((await get(`424242/${path}`).expect(404)).body).toEqual({ statusCode: 404, message: 'Transaction not found' });
      expect((await get(`abc/${path}`).expect(400)).body.message).toMatch(/transaction id/);
    }
  });

  it('a query parameter is refused (these routes take none)', async () => {
    const res = await get(`${ids['snap-all']}/deployment_info?nodes=1`).expect(400);
    expect(res.body.details).toEqual({ parameters: ['nodes'], allowed: [] });
  });

  it("a pre-9.0 run's snapshots are recorded and served: they are the run's, not its task history", async () => {
    await get(`${ids['snap-old']}/deployment_history`).expect(409);
    expect((await get(`${ids['snap-old']}/settings`).expect(200)).body).toEqual(settings);
    expect((await get(`${ids['snap-old']}/deployment_info`).expect(200)).body).toEqual({ common: {}, nodes: { '1': node1 } });
  });

  it('POST /transactions takes them too (they are the start args); a second start changes nothing', async () => {
    const args = {
      task_uuid: 'snap-post',
      cluster: { id: 3, release: 'mitaka-9.0' },
      tasks_graph: graph,
      settings,
      network_configuration: network,
    };
    const created = await t.http().post('/api/v1/transactions').send(args).expect(201);
    expect(created.body).not.toHaveProperty('warnings');
    await t
      .http()
      .post('/api/v1/transactions')
      .send({ ...args, settings: { editable: {} }, deployment_info: { '1': node1 } })
      .expect(200);
    expect((await get(`${created.body.id}/settings`).expect(200)).body).toEqual(settings);
    expect((await get(`${created.body.id}/network_configuration`).expect(200)).body).toEqual(network);
    await get(`${created.body.id}/deployment_info`).expect(404);
  });

  it('a snapshot that cannot be stored is skipped with the reason; the run and its history are recorded', async () => {
    const big = { editable: { blob: 'x'.repeat(4 * 1024 * 1024) } };
    const res = await t
      .http()
      .post('/api/v1/casts')
      .send(
        start('snap-big', { id: 1, release: 'mitaka-9.0' }, graph, {
          settings: big,
          network_configuration: network,
          deployment_info: { '1': 'node-1' },
        }),
      )
      .expect(200);
    expect(res.body[0]).toMatchObject({ outcome: 'started', rows_created: 2 });
    expect(res.body[0].skipped).toEqual([
      { entry: 'deployment_info', reason: expect.stringMatching(/deployment_info\["1"\] must be an object/) },
      { entry: 'settings', reason: expect.stringMatching(/settings is too large: \d+ bytes of JSON, the limit is 4194304/) },
    ]);
    const id = res.body[0].transaction_id;
    await get(`${id}/settings`).expect(404);
    await get(`${id}/deployment_info`).expect(404);
    expect((await get(`${id}/network_configuration`).expect(200)).body).toEqual(network);
    // POST /transactions says it in its warnings.
    const posted = await t
      .http()
      .post('/api/v1/transactions')
      .send({ task_uuid: 'snap-big-post', cluster: { id: 1, release: 'mitaka-9.0' }, tasks_graph: graph, settings: 'debug' })
      .expect(201);
    expect(posted.body.warnings).toEqual([expect.stringMatching(/^settings skipped: transaction_start: args\.settings must be an object/)]);
  });

  it('deleting the run (retention, history deletion) removes its snapshots with it', async () => {
    const id = ids['snap-all'];
    expect((await t.sql.query('SELECT count(*)::int AS n FROM run_snapshots WHERE transaction_id = $1', [id])).rows[0].n).toBe(5);
    await t.sql.query('DELETE FROM transactions WHERE id = $1', [id]);
    expect((await t.sql.query('SELECT count(*)::int AS n FROM run_snapshots WHERE transaction_id = $1', [id])).rows[0].n).toBe(0);
    expect((await get(`${id}/deployment_info`).expect(404)).body.message).toBe('Transaction not found');
  });
});
