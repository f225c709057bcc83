import type { Test } from 'supertest';
import { finish, resp, start, task } from '../support/casts';
import { startApp, TestApp } from '../support/app';
import { ADMIN, READ, TOKENS_ENV } from '../support/tokens';

/**
 * Issue 13, part 6: `fuel2 env list|show|delete` and `fuel2 graph list` against the service, pinned by
 * the exact requests python-fuelclient 10.0.0 sends (its headers, paths with their trailing slash,
 * query strings and bodies) and the keys it reads:
 *
 * - `env list`: GET /api/v1/clusters/, columns id, status, name, release_id;
 * - `env show C`: GET /api/v1/clusters/C/, columns id, status, fuel_version, name, release_id,
 *   is_customized, changes;
 * - `env delete C [-f]`: GET /api/v1/clusters/C/, reads `status` (an `operational` one is only deleted
 *   with -f), then DELETE /api/v1/clusters/C/;
 * - `graph list -e C`: GET /api/v1/clusters/C/ (reads `release_id`), GET
 *   /api/v1/releases/R/deployment_graphs/?fetch_related=0, ...; `graph list`: GET /api/v1/graphs/.
 *
 * Before: every Nailgun key but id and name was missing (fuel2 showed None), and `env delete`, `graph
 * list -e` died on KeyError 'status', 'release_id'.
 */
describe('fuel2 env list|show|delete, graph list', () => {
  let t: TestApp;
  const graph = { '1': [{ id: 'netconfig', type: 'puppet' }] };
  const at = (hms: string) => `2025-08-01T${hms}Z`;
  /** Nailgun's default ui_settings (the column's server default). */
  const UI_SETTINGS = { view_mode: 'standard', filter: {}, sort: [{ roles: 'asc' }], filter_by_labels: {}, sort_by_labels: [], search: '' };

  async function cast(...casts: unknown[]): Promise<void> {
    const res = await t.http().post('/api/v1/casts').send(casts);
    if (res.status !== 200) throw new Error(`POST /casts answered ${res.status}: ${JSON.stringify(res.body)}`);
  }
  /** A request as fuel2 sends it: JSON in and out, and an empty X-Auth-Token when the service needs none. */
  const fuel2 = (method: 'get' | 'post' | 'put' | 'delete', path: string, body?: unknown): Test => {
    const req = t.http()[method](path).set('Content-Type', 'application/json').set('Accept', 'application/json').set('X-Auth-Token', '');
    return body === undefined ? req : req.send(JSON.stringify(body));
  };
  const byId = async (): Promise<Map<number, Record<string, any>>> => {
    const res = await fuel2('get', '/api/v1/clusters/').expect(200);
    return new Map((res.body as Array<Record<string, any>>).map((c) => [c.id, c]));
  };

  beforeAll(async () => {
    t = await startApp();
    const c = (id: number, release: string) => ({ id, name: `env-${id}`, release });
    await cast(
      // 1: its last run ended ready → operational
      start('e1-a', c(1, 'mitaka-9.0'), graph, { time: at('10:00:00') }),
      resp('e1-a', [task('1', 'netconfig', 'error')]),
      finish('e1-a', 'error', { time: at('10:01:00') }),
      start('e1-b', c(1, 'mitaka-9.0'), graph, { time: at('10:02:00') }),
      resp('e1-b', [task('1', 'netconfig', 'ready')]),
      finish('e1-b', 'ready', { time: at('10:03:00') }),
      // 2: a run in progress → deployment (locked)
      start('e2-a', c(2, 'newton-10.0'), graph, { time: at('10:00:00') }),
      resp('e2-a', [task('1', 'netconfig', 'running')]),
      // 3: its last run ended error → error
      start('e3-a', c(3, 'mitaka-9.0'), graph, { time: at('10:00:00') }),
      finish('e3-a', 'error', { time: at('10:01:00') }),
      // 5: stopped
      start('e5-a', c(5, 'mitaka-9.0'), graph, { time: at('10:00:00') }),
      finish('e5-a', 'stopped', { time: at('10:01:00') }),
      // 6: deployed, then a dry run in progress: a dry run changes nothing on the nodes → still operational
      start('e6-a', c(6, 'mitaka-9.0'), graph, { time: at('10:00:00') }),
      finish('e6-a', 'ready', { time: at('10:01:00') }),
      start('e6-b', c(6, 'mitaka-9.0'), graph, { time: at('10:02:00'), dry_run: true }),
      // 7: deployed, then reset (a new epoch): nothing deployed since → new
      start('e7-a', c(7, 'mitaka-9.0'), graph, { time: at('10:00:00') }),
      finish('e7-a', 'ready', { time: at('10:01:00') }),
      // 8: a release whose version cannot be read
      start('e8-a', c(8, 'totally-unknown'), graph, { time: at('10:00:00') }),
      finish('e8-a', 'ready', { time: at('10:01:00') }),
    );
    await t.http().post('/api/v1/clusters/7/reset').expect(200);
    // 4: registered, never deployed → new
    await t.http().put('/api/v1/clusters/4').send({ name: 'env-4', release: 'liberty-8.0' }).expect(201);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('GET /api/v1/clusters/ and /clusters/C/ (env list, env show)', () => {
    it("carry every key of Nailgun 10's cluster serializer, with fuel2's types, and keep ours", async () => {
      const list = (await fuel2('get', '/api/v1/clusters/').expect(200)).body as Array<Record<string, unknown>>;
      expect(list.map((c) => c.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const nailgun = ['id', 'name', 'mode', 'changes', 'status', 'ui_settings', 'is_customized', 'net_provider', 'release_id'];
      nailgun.push('fuel_version', 'is_locked', 'components');
      const ours = ['release', 'version', 'history_enabled', 'epoch', 'transactions', 'running_transactions', 'history_rows'];
      ours.push('last_transaction_id', 'last_transaction_status');
      for (const c of list) {
        expect(Object.keys(c).sort()).toEqual([...nailgun, ...ours].sort());
        expect(c).toMatchObject({
          mode: 'ha_compact',
          changes: [],
          is_customized: false,
          net_provider: 'neutron',
          components: [],
          ui_settings: UI_SETTINGS,
        });
        expect(typeof c.release_id).toBe('number');
        expect(typeof c.status).toBe('string');
        expect(typeof c.is_locked).toBe('boolean');
      }
    });

    it('status from the runs of the current epoch (dry runs aside); is_locked only while deploying', async () => {
      const c = await byId();
      const seen = Object.fromEntries([...c.values()].map((x) => [x.id, [x.status, x.is_locked]]));
      expect(seen).toEqual({
        1: ['operational', false],
        2: ['deployment', true],
        3: ['error', false],
        4: ['new', false],
        5: ['stopped', false],
        6: ['operational', false],
        7: ['new', false],
        8: ['operational', false],
      });
    });

    it('fuel_version is read from the release string; null when it has none', async () => {
      const c = await byId();
      expect([1, 2, 4, 8].map((id) => [c.get(id)!.release, c.get(id)!.fuel_version])).toEqual([
        ['mitaka-9.0', '9.0'],
        ['newton-10.0', '10.0'],
        ['liberty-8.0', '8.0'],
        ['totally-unknown', null],
      ]);
    });

    it('release_id: one per release string, stable when other releases come and go, served at /releases/', async () => {
      const c = await byId();
      const mitaka = c.get(1)!.release_id;
      expect([3, 5, 6, 7].map((id) => c.get(id)!.release_id)).toEqual([mitaka, mitaka, mitaka, mitaka]);
      expect(new Set([mitaka, c.get(2)!.release_id, c.get(4)!.release_id, c.get(8)!.release_id]).size).toBe(4);

      // An older release appearing, and a release no cluster runs any more, change no id.
      await t.http().put('/api/v1/clusters/9').send({ name: 'env-9', release: 'kilo-7.0' }).expect(201);
      await t.http().put('/api/v1/clusters/8').send({ release: 'newton-10.0' }).expect(200);
      const after = await byId();
      for (const id of [1, 2, 3, 4, 5, 6, 7]) expect(after.get(id)!.release_id).toBe(c.get(id)!.release_id);
      expect(after.get(8)!.release_id).toBe(c.get(2)!.release_id);

      const releases = (await fuel2('get', '/api/v1/releases/').expect(200)).body as Array<Record<string, unknown>>;
      expect(releases.map((r) => r.version).sort()).toEqual(['kilo-7.0', 'liberty-8.0', 'mitaka-9.0', 'newton-10.0', 'totally-unknown']);
      const one = (await fuel2('get', `/api/v1/releases/${mitaka}/`).expect(200)).body;
      // fuel2 release list: id, name, state, operating_system, version
      expect(one).toEqual({
        id: mitaka,
        name: 'mitaka-9.0',
        version: 'mitaka-9.0',
        state: 'available',
        operating_system: null,
        description: null,
        is_deployable: true,
        fuel_version: '9.0',
        history_enabled: true,
        clusters: [1, 3, 5, 6, 7],
      });
      const unknown = await fuel2('get', '/api/v1/releases/424242/').expect(404);
      expect(unknown.body).toEqual({ statusCode: 404, message: 'Release 424242 not found' });
    });

    it('env show C: every column it reads, not None', async () => {
      const res = await fuel2('get', '/api/v1/clusters/1/').expect(200);
      for (const column of ['id', 'status', 'fuel_version', 'name', 'release_id', 'is_customized', 'changes']) {
        expect(res.body[column] ?? null).not.toBeNull();
      }
      expect(res.body).toMatchObject({ id: 1, status: 'operational', fuel_version: '9.0', name: 'env-1', is_customized: false });
      expect(res.body.changes).toEqual([]);
      expect(res.body).toMatchObject({ release: 'mitaka-9.0', version: '9.0', history_enabled: true, epoch: 1, transactions: 2 });
      expect((await fuel2('get', '/api/v1/clusters/999/').expect(404)).body.message).toBe('Cluster 999 not found');
    });
  });

  describe('writes fuel2 sends that this service does not serve: 405 naming what it does instead', () => {
    const refused = async (req: Test, allow: string, message: RegExp): Promise<void> => {
      const res = await req.expect(405).expect('Content-Type', /application\/json/);
      expect(res.headers.allow).toBe(allow);
      expect(Object.keys(res.body).sort()).toEqual(['message', 'statusCode']);
      expect(res.body.statusCode).toBe(405);
      expect(res.body.message).toMatch(message);
    };

    it('env delete C: DELETE /clusters/C/ (after reading status: an operational env needs -f), and nothing is deleted', async () => {
      expect((await fuel2('get', '/api/v1/clusters/3/').expect(200)).body.status).toBe('error');
      await refused(
        fuel2('delete', '/api/v1/clusters/3/'),
        'GET, PUT',
        /This service does not delete environments: it keeps their deployment history\..*DELETE \/api\/v1\/clusters\/3\/deployment_history/,
      );
      await fuel2('get', '/api/v1/clusters/3/').expect(200);
      expect((await t.sql.query('SELECT count(*)::int AS n FROM transactions WHERE cluster_id = 3')).rows[0].n).toBe(1);
    });

    it('env create: POST /clusters/ with its body', async () => {
      const body = { nodes: [], tasks: [], name: 'new-env', release_id: 1, net_segment_type: 'vlan' };
      const instead = /does not create environments.*transaction_start.*PUT \/api\/v1\/clusters\/<id>/;
      await refused(fuel2('post', '/api/v1/clusters/', body), 'GET', instead);
      expect((await t.sql.query(`SELECT count(*)::int AS n FROM clusters WHERE name = 'new-env'`)).rows[0].n).toBe(0);
    });

    it('env reset C [-f]: PUT /clusters/C/reset/?force=0|1 (this service resets with POST, as a new epoch)', async () => {
      for (const force of ['0', '1']) {
        const instead = /POST \/api\/v1\/clusters\/1\/reset.*new epoch/;
        await refused(fuel2('put', `/api/v1/clusters/1/reset/?force=${force}`, {}), 'POST', instead);
      }
      expect((await fuel2('get', '/api/v1/clusters/1/').expect(200)).body.epoch).toBe(1);
    });

    it('env deploy, redeploy, stop-deployment, nodes, settings: the orchestrator does that, not this service', async () => {
      const runs = /does not run deployments: it records them/;
      await refused(fuel2('put', '/api/v1/clusters/1/changes?dry_run=0&noop_run=0', {}), '', runs);
      await refused(fuel2('put', '/api/v1/clusters/1/changes/redeploy?dry_run=1&noop_run=0', {}), '', runs);
      await refused(fuel2('put', '/api/v1/clusters/1/stop_deployment/', {}), '', runs);
      await refused(fuel2('put', '/api/v1/clusters/1/deploy/?nodes=1,2&force=1&noop_run=1', {}), '', runs);
      await refused(fuel2('put', '/api/v1/clusters/1/provision/?nodes=1', {}), '', runs);
      await refused(fuel2('post', '/api/v1/clusters/1/assignment/', [{ id: 1, roles: ['controller'] }]), '', runs);
      await refused(fuel2('post', '/api/v1/clusters/1/unassignment/', [{ id: 1 }]), '', runs);
      const config = /holds no environment configuration/;
      await refused(fuel2('put', '/api/v1/clusters/1/attributes?force=1', { editable: {} }), '', config);
      await refused(fuel2('put', '/api/v1/clusters/1/network_configuration/neutron', {}), '', config);
    });

    it('graph upload, execute, delete', async () => {
      const graphs = /keeps no deployment graphs/;
      await refused(fuel2('post', '/api/v1/clusters/1/deployment_graphs/custom', { tasks: [] }), '', graphs);
      await refused(fuel2('put', '/api/v1/releases/1/deployment_graphs/custom', { tasks: [] }), '', graphs);
      await refused(fuel2('delete', '/api/v1/plugins/1/deployment_graphs/custom'), '', graphs);
      await refused(fuel2('post', '/api/v1/graphs/execute/', { cluster: 1, graphs: [{ type: 'default' }] }), '', graphs);
    });

    it('the refusal comes before the body is read: a body over the 1 MB limit is refused 405, not 413', async () => {
      const big = { nodes: [], name: 'x'.repeat(2 * 1024 * 1024) };
      await refused(fuel2('post', '/api/v1/clusters/', big), 'GET', /does not create environments/);
    });

    it('our own writes on the same paths are untouched: PUT /clusters/C and POST /clusters/C/reset', async () => {
      await t.http().put('/api/v1/clusters/5/').send({ name: 'env-5b', release: 'mitaka-9.0' }).expect(200);
      await t.http().post('/api/v1/clusters/5/reset/').expect(200);
      await t.http().delete('/api/v1/clusters/5/deployment_history/?before=2000-01-01T00:00:00Z').expect(200);
      expect((await fuel2('get', '/api/v1/clusters/5/').expect(200)).body).toMatchObject({ name: 'env-5b', epoch: 2, status: 'new' });
    });
  });

  describe('graph list [-e C]: it reads release_id, then asks for graphs this service does not keep', () => {
    it('404 naming what it keeps instead, on each request graph list sends', async () => {
      const releaseId = (await fuel2('get', '/api/v1/clusters/1/').expect(200)).body.release_id;
      expect(typeof releaseId).toBe('number');
      for (const path of [
        `/api/v1/releases/${releaseId}/deployment_graphs/?fetch_related=0`,
        '/api/v1/clusters/1/deployment_graphs/?fetch_related=1',
        '/api/v1/clusters/1/deployment_graphs/default',
        '/api/v1/graphs/',
        '/api/v1/clusters/1/deployment_tasks/?graph_type=default',
        '/api/v1/clusters/1/deployment_tasks/own/',
        '/api/v1/clusters/1/deployment_tasks/release/',
        '/api/v1/clusters/1/deployment_tasks/plugins/',
      ]) {
        const res = await fuel2('get', path).expect(404);
        expect(res.body).toEqual({
          statusCode: 404,
          message: expect.stringMatching(/^This service keeps no deployment graphs.*graph each run ran.*fuel2 task history show <id> -p/),
        });
      }
    });
  });
});

describe('fuel2 env: with tokens configured', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ env: TOKENS_ENV });
    await t.http().put('/api/v1/clusters/1').set('X-Auth-Token', ADMIN).send({ name: 'env-1', release: 'mitaka-9.0' }).expect(201);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a refused write is decided after authentication: 401 without a token, 403 for a read token, 405 for an admin token', async () => {
    await t.http().delete('/api/v1/clusters/1/').expect(401);
    await t.http().delete('/api/v1/clusters/1/').set('X-Auth-Token', READ).expect(403);
    await t.http().delete('/api/v1/clusters/1/').set('X-Auth-Token', ADMIN).expect(405);
    await t.http().get('/api/v1/graphs/').expect(401);
    await t.http().get('/api/v1/graphs/').set('X-Auth-Token', READ).expect(404);
    const shown = await t.http().get('/api/v1/clusters/1/').set('X-Auth-Token', READ).expect(200);
    expect(shown.body).toMatchObject({ status: 'new', fuel_version: '9.0' });
  });
});
