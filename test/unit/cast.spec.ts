import fc from 'fast-check';
import { CastRejected, MAX_SNAPSHOT_BYTES, parseCast, ParsedCast } from '../../src/receiver/cast';
import type { NodeTaskReport, RunStart } from '../../src/history/store-commands';
import type { RunReport } from '../../src/history/run-state';

const RECEIVED = new Date('2020-01-02T03:04:05.000Z');
const UUID = '6a5c2e7e-0c9b-4d5e-9a1f-0d1b2c3d4e5f';

const startArgs = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  task_uuid: UUID,
  name: 'deployment',
  graph_type: 'default',
  dry_run: false,
  cluster: { id: 1, name: 'prod-east', release: 'mitaka-9.0' },
  tasks_graph: {
    '1': [
      { id: 'netconfig', type: 'puppet' },
      { id: 'hiera', type: 'puppet' },
    ],
    master: [{ id: 'upload_configuration', type: 'upload_file' }],
    null: [{ id: 'post_deployment_start', type: 'stage' }],
  },
  ...over,
});

const startOf = (p: ParsedCast): RunStart => {
  if (p.command.kind !== 'start') throw new Error(`expected a start command, got ${p.command.kind}`);
  return p.command.start;
};
const reportOf = (p: ParsedCast): { run: RunReport | null; tasks: NodeTaskReport[] } => {
  if (p.command.kind !== 'report') throw new Error(`expected a report command, got ${p.command.kind}`);
  return { run: p.command.run, tasks: p.command.tasks };
};
const resp = (args: Record<string, unknown>, method = 'transaction_resp') =>
  parseCast({ method, args: { task_uuid: UUID, ...args } }, RECEIVED);
const nodes = (...entries: unknown[]) => reportOf(resp({ nodes: entries }));

/** Asserts that parsing throws CastRejected whose message matches every pattern. */
function expectRejected(raw: unknown, ...patterns: RegExp[]): void {
  let error: unknown;
  try {
    parseCast(raw, RECEIVED);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CastRejected);
  for (const p of patterns) expect((error as Error).message).toMatch(p);
}

describe('parseCast: transaction_start', () => {
  it('parses a valid start with node "1", "master" and the cluster-level "null" key', () => {
    const p = parseCast({ method: 'transaction_start', args: startArgs({ time: '2016-03-25T17:22:10.687Z' }) }, RECEIVED);
    expect(p.method).toBe('transaction_start');
    expect(p.uuid).toBe(UUID);
    expect(p.skipped).toEqual([]);
    const s = startOf(p);
    expect(s).toMatchObject({
      uuid: UUID,
      name: 'deployment',
      graphType: 'default',
      dryRun: false,
      cluster: { id: 1, name: 'prod-east', release: 'mitaka-9.0' },
      parentUuid: null,
    });
    expect(s.time.toISOString()).toBe('2016-03-25T17:22:10.687Z');
    expect(s.tasks).toEqual(
      expect.arrayContaining([
        { nodeId: '1', taskName: 'netconfig', type: 'puppet' },
        { nodeId: '1', taskName: 'hiera', type: 'puppet' },
        { nodeId: 'master', taskName: 'upload_configuration', type: 'upload_file' },
        { nodeId: null, taskName: 'post_deployment_start', type: 'stage' },
      ]),
    );
    expect(s.tasks).toHaveLength(4);
    expect(Object.keys(s.snapshot).sort()).toEqual(['hiera', 'netconfig', 'post_deployment_start', 'upload_configuration']);
    expect(s.snapshot.netconfig).toEqual({ id: 'netconfig', type: 'puppet' });
  });

  it('fills defaults: name, graph type, cluster name, dry_run, no tasks, receipt time', () => {
    const s = startOf(
      parseCast({ method: 'transaction_start', args: { task_uuid: UUID, cluster: { id: '7', release: 'mitaka-9.0' } } }, RECEIVED),
    );
    expect(s.name).toBe('deployment');
    expect(s.graphType).toBe('default');
    expect(s.dryRun).toBe(false);
    expect(s.cluster).toEqual({ id: 7, name: 'cluster-7', release: 'mitaka-9.0' });
    expect(s.tasks).toEqual([]);
    expect(s.time).toEqual(RECEIVED);
  });

  it('keeps dry_run true and a parent uuid', () => {
    const s = startOf(
      parseCast({ method: 'transaction_start', args: startArgs({ dry_run: true, parent_task_uuid: 'parent-1' }) }, RECEIVED),
    );
    expect(s.dryRun).toBe(true);
    expect(s.parentUuid).toBe('parent-1');
  });

  it.each([
    [{ id: -1, release: 'mitaka-9.0' }, /args\.cluster\.id/],
    [{ id: 'abc', release: 'mitaka-9.0' }, /args\.cluster\.id.*"abc"/],
    [{ id: 1.5, release: 'mitaka-9.0' }, /args\.cluster\.id/],
    [{ id: 2 ** 31, release: 'mitaka-9.0' }, /args\.cluster\.id/],
    [{ release: 'mitaka-9.0' }, /args\.cluster\.id.*nothing/],
    [{ id: 1 }, /args\.cluster\.release/],
  ])('rejects a bad cluster %j', (cluster, pattern) => {
    expectRejected({ method: 'transaction_start', args: startArgs({ cluster }) }, /^transaction_start: /, pattern);
  });

  it('rejects a missing cluster object', () => {
    expectRejected({ method: 'transaction_start', args: startArgs({ cluster: 'prod' }) }, /args\.cluster must be an object/);
  });

  it.each(['yes', 1, 'false'])('rejects dry_run %j', (dry) => {
    expectRejected({ method: 'transaction_start', args: startArgs({ dry_run: dry }) }, /args\.dry_run/, new RegExp(JSON.stringify(dry)));
  });

  it('rejects a tasks_graph that is not an object, or whose entries are not lists of tasks with ids', () => {
    expectRejected({ method: 'transaction_start', args: startArgs({ tasks_graph: [] }) }, /args\.tasks_graph must be an object/);
    expectRejected(
      { method: 'transaction_start', args: startArgs({ tasks_graph: { '1': 'netconfig' } }) },
      /tasks_graph\["1"\] must be a list/,
    );
    expectRejected(
      { method: 'transaction_start', args: startArgs({ tasks_graph: { '1': [{ type: 'puppet' }] } }) },
      /tasks_graph\["1"\]\[0\]\.id/,
    );
  });
});

describe('parseCast: transaction_start nodes (roles and host names)', () => {
  const parsed = (over: Record<string, unknown>) => parseCast({ method: 'transaction_start', args: startArgs(over) }, RECEIVED);

  it('reads args.nodes keyed by uid or as a list, and the deployment info for the nodes it does not name', () => {
    const p = parsed({
      nodes: { '1': { roles: ['primary-controller', 'primary-controller'], hostname: 'node-1' }, master: {} },
      deployment_info: { '1': { roles: ['compute'], fqdn: 'ignored' }, '2': { role: 'compute', fqdn: 'node-2.tld', name: 'node-2' } },
    });
    expect(startOf(p).nodes).toEqual([
      { uid: '1', roles: ['primary-controller'], hostname: 'node-1' },
      { uid: '2', roles: ['compute'], hostname: 'node-2.tld' },
      { uid: 'master', roles: [], hostname: null },
    ]);
    expect(p.skipped).toEqual([]);
    const list = parsed({ nodes: [{ uid: 3, roles: ['cinder'], fqdn: 'node-3' }] });
    expect(startOf(list).nodes).toEqual([{ uid: '3', roles: ['cinder'], hostname: 'node-3' }]);
    // Nailgun 10's form of the deployment info.
    const nailgun = parsed({ deployment_info: { common: { roles: ['x'] }, nodes: { '4': { roles: ['ceph-osd'], name: 'node-4' } } } });
    expect(startOf(nailgun).nodes).toEqual([{ uid: '4', roles: ['ceph-osd'], hostname: 'node-4' }]);
  });

  it('skips an unreadable node entry with its reason and keeps the run and the other nodes', () => {
    const p = parsed({
      nodes: {
        '1': { roles: 'controller' },
        '2': { roles: ['compute', 7] },
        '3': { roles: Array(65).fill('r') },
        '4': ['x'],
        '5': { roles: ['ok'] },
      },
    });
    expect(startOf(p).nodes).toEqual([{ uid: '5', roles: ['ok'], hostname: null }]);
    expect(p.skipped.map((s) => s.entry)).toEqual(['nodes["1"]', 'nodes["2"]', 'nodes["3"]', 'nodes["4"]']);
    expect(p.skipped[0].reason).toMatch(/roles must be a list of role names/);
    expect(p.skipped[1].reason).toMatch(/roles\[1\] must be a non-empty string/);
    expect(p.skipped[2].reason).toMatch(/65 roles, the limit is 64/);
    const bad = parsed({ nodes: 'all', deployment_info: { '1': 'not an object', '2': { roles: [{}] } } });
    expect(startOf(bad).nodes).toEqual([{ uid: '2', roles: [], hostname: null }]);
    expect(bad.skipped.map((s) => s.entry)).toEqual(['deployment_info', 'nodes']);
    expect(parsed({ nodes: [{ roles: ['x'] }] }).skipped[0].reason).toMatch(/must name its node/);
  });
});

describe('parseCast: envelope', () => {
  it.each([
    [null, /JSON object/],
    ['transaction_resp', /JSON object/],
    [[1, 2], /JSON object/],
  ])('rejects a non-object cast %j', (raw, pattern) => {
    expectRejected(raw, pattern);
  });

  it('shares one empty, frozen list of skipped entries between casts that skipped nothing (held by the thousand on the bus)', () => {
    const a = resp({ nodes: [{ uid: '1', deployment_graph_task_name: 'a', task_status: 'ready' }] });
    const b = parseCast({ method: 'transaction_start', args: startArgs({}) }, RECEIVED);
    expect(a.skipped).toEqual([]);
    expect(a.skipped).toBe(b.skipped);
    expect(Object.isFrozen(a.skipped)).toBe(true);
    // One that skipped something has its own list.
    const c = resp({ progress: 'x' });
    expect(c.skipped).toHaveLength(1);
    expect(c.skipped).not.toBe(a.skipped);
  });

  it('rejects an unknown method, naming it and the expected ones', () => {
    expectRejected({ method: 'task_deploy', args: {} }, /unknown method "task_deploy"/, /transaction_start, transaction_resp, deploy_resp/);
    expectRejected({ args: { task_uuid: UUID } }, /unknown method/);
  });

  it('rejects args that are not an object', () => {
    expectRejected({ method: 'deploy_resp', args: [] }, /deploy_resp: "args" must be an object/);
  });

  it.each([undefined, '', '   ', 42])('rejects task_uuid %j', (uuid) => {
    expectRejected(
      { method: 'transaction_resp', args: { task_uuid: uuid } },
      /transaction_resp: args\.task_uuid must be a non-empty string/,
    );
  });

  it('rejects a task_uuid longer than 255 characters', () => {
    expectRejected({ method: 'transaction_resp', args: { task_uuid: 'u'.repeat(256) } }, /args\.task_uuid must be at most 255/);
  });
});

describe('parseCast: times', () => {
  it('a time with a zone is read in that zone', () => {
    expect(reportOf(resp({ time: '2016-03-25T17:22:10+03:00', status: 'running' })).run?.time.toISOString()).toBe(
      '2016-03-25T14:22:10.000Z',
    );
    expect(reportOf(resp({ time: '2016-03-25T17:22:10.687Z', status: 'running' })).run?.time.toISOString()).toBe(
      '2016-03-25T17:22:10.687Z',
    );
  });

  it('a time without a zone is UTC (Fuel style, microseconds, space separator)', () => {
    expect(reportOf(resp({ time: '2016-03-25T17:22:10.687135', status: 'running' })).run?.time.toISOString()).toBe(
      '2016-03-25T17:22:10.687Z',
    );
    expect(reportOf(resp({ time: '2016-03-25 17:22:10', status: 'running' })).run?.time.toISOString()).toBe('2016-03-25T17:22:10.000Z');
  });

  it('the receipt time is used when no time is given', () => {
    const { run, tasks } = reportOf(
      resp({ status: 'running', nodes: [{ uid: '1', deployment_graph_task_name: 'a', task_status: 'running' }] }),
    );
    expect(run?.time).toEqual(RECEIVED);
    expect(tasks[0].time).toEqual(RECEIVED);
  });

  it('a node entry time overrides the cast time, which overrides the receipt time', () => {
    const { run, tasks } = reportOf(
      resp({
        time: '2016-03-25T17:00:00Z',
        status: 'running',
        nodes: [
          { uid: '1', deployment_graph_task_name: 'a', task_status: 'running', time: '2016-03-25T17:05:00Z' },
          { uid: '1', deployment_graph_task_name: 'b', task_status: 'running' },
        ],
      }),
    );
    expect(run?.time.toISOString()).toBe('2016-03-25T17:00:00.000Z');
    expect(tasks.map((t) => t.time.toISOString())).toEqual(['2016-03-25T17:05:00.000Z', '2016-03-25T17:00:00.000Z']);
  });

  it.each(['yesterday', '2016-03-25', '25/03/2016 17:22', 1458926530, '2016-13-25T17:22:10Z', '2016-03-25T25:22:10Z'])(
    'a bad cast time %j rejects the cast, naming args.time',
    (time) => {
      expectRejected({ method: 'transaction_resp', args: { task_uuid: UUID, time } }, /transaction_resp: args\.time/);
    },
  );

  it('a bad node entry time skips only that entry', () => {
    const p = resp({
      nodes: [
        { uid: '1', deployment_graph_task_name: 'a', task_status: 'ready', time: 'soon' },
        { uid: '1', deployment_graph_task_name: 'b', task_status: 'ready' },
      ],
    });
    expect(reportOf(p).tasks.map((t) => t.taskName)).toEqual(['b']);
    expect(p.skipped).toEqual([{ entry: 'nodes[0]', reason: expect.stringMatching(/task "a": time/) }]);
  });

  /**
   * Any time written field by field in the forms senders use (seconds, a fraction of 0 to 10 digits, `Z`, `z`
   * or no zone, `T`, `t` or a space), fields in and out of range: read as its fields say, in UTC, or the cast
   * refused. The expectation is worked out from the fields (the calendar from Date.UTC's day 0 of the next
   * month), not by the parser's own reading.
   */
  it('any time in the usual forms of senders reads as its fields say, or refuses the cast', () => {
    const two = (n: number) => String(n).padStart(2, '0');
    fc.assert(
      fc.property(
        fc.record({
          year: fc.integer({ min: 0, max: 9999 }),
          month: fc.integer({ min: 0, max: 13 }),
          day: fc.integer({ min: 0, max: 32 }),
          h: fc.integer({ min: 0, max: 25 }),
          mi: fc.integer({ min: 0, max: 61 }),
          sec: fc.integer({ min: 0, max: 61 }),
          fraction: fc.stringMatching(/^[0-9]{0,10}$/),
          zone: fc.constantFrom('', 'Z', 'z'),
          sep: fc.constantFrom('T', 't', ' '),
        }),
        ({ year, month, day, h, mi, sec, fraction, zone, sep }) => {
          const time = `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}${sep}${two(h)}:${two(mi)}:${two(sec)}${fraction ? `.${fraction}` : ''}${zone}`;
          const inMonth = month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(2000 + (year % 400), month, 0)).getUTCDate();
          const valid = year >= 100 && inMonth && h <= 23 && mi <= 59 && sec <= 59 && fraction.length <= 9;
          const raw = { method: 'transaction_resp', args: { task_uuid: UUID, time, status: 'running' } };
          if (!valid) {
            expect(() => parseCast(raw, RECEIVED)).toThrow(CastRejected);
            return;
          }
          const ms = Number(fraction.padEnd(3, '0').slice(0, 3));
          const expected = new Date(0);
          expected.setUTCFullYear(year, month - 1, day);
          expected.setUTCHours(h, mi, sec, ms);
          expect(reportOf(parseCast(raw, RECEIVED)).run?.time.getTime()).toBe(expected.getTime());
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('rejects an impossible calendar date (Feb 30) instead of rolling it over', () => {
    expectRejected(
      { method: 'transaction_resp', args: { task_uuid: UUID, time: '2016-02-30T10:00:00Z', status: 'running' } },
      /args\.time/,
    );
  });
});

describe('parseCast: task reports (transaction_resp / deploy_resp)', () => {
  it('maps an entry to a task report, with an integer uid as a string and "null"/null uids as cluster level', () => {
    const { tasks } = nodes(
      { uid: 1, deployment_graph_task_name: 'netconfig', task_status: 'running' },
      { uid: 'master', deployment_graph_task_name: 'upload', task_status: 'ready' },
      { uid: null, deployment_graph_task_name: 'sync', task_status: 'ready' },
      { uid: 'null', deployment_graph_task_name: 'sync2', task_status: 'ready' },
    );
    expect(tasks.map((t) => [t.nodeId, t.taskName, t.status])).toEqual([
      ['1', 'netconfig', 'running'],
      ['master', 'upload', 'ready'],
      [null, 'sync', 'ready'],
      [null, 'sync2', 'ready'],
    ]);
  });

  it('accepts Astute raw names: successful → ready, failed → error', () => {
    const { tasks } = nodes(
      { uid: '1', deployment_graph_task_name: 'a', task_status: 'successful' },
      { uid: '1', deployment_graph_task_name: 'b', task_status: 'failed', error_msg: 'Task b failed on node-1' },
      { uid: '1', deployment_graph_task_name: 'c', task_status: 'skipped' },
      { uid: '1', deployment_graph_task_name: 'd', task_status: 'error' },
    );
    expect(tasks.map((t) => t.status)).toEqual(['ready', 'error', 'skipped', 'error']);
    expect(tasks[1].errorMessage).toBe('Task b failed on node-1');
  });

  it('carries error_msg, summary and custom; nulls when absent', () => {
    const { tasks } = nodes(
      {
        uid: '1',
        status: 'error',
        deployment_graph_task_name: 'netconfig',
        task_status: 'error',
        error_type: 'deploy',
        error_msg: 'Task netconfig failed on node node-1',
        progress: 100,
        summary: { resources: { failed: 1 } },
        custom: { attempt: 2 },
      },
      { uid: '2', deployment_graph_task_name: 'netconfig', task_status: 'running' },
    );
    expect(tasks[0]).toEqual({
      nodeId: '1',
      taskName: 'netconfig',
      status: 'error',
      time: RECEIVED,
      errorMessage: 'Task netconfig failed on node node-1',
      summary: { resources: { failed: 1 } },
      custom: { attempt: 2 },
    });
    expect(tasks[1]).toMatchObject({ errorMessage: null, summary: null, custom: null });
  });

  it('ignores node-level entries that carry no task fields, without reporting them as skipped', () => {
    const p = resp({
      nodes: [
        { uid: '1', status: 'ready', progress: 100 },
        { uid: '2', deployment_graph_task_name: 'hiera', task_status: 'ready' },
        { uid: '3', status: 'error', error_type: 'deploy' },
      ],
    });
    expect(reportOf(p).tasks.map((t) => [t.nodeId, t.taskName])).toEqual([['2', 'hiera']]);
    expect(p.skipped).toEqual([]);
  });

  it('skips bad entries (unknown status, missing name, bad uid, bad payload) and keeps the good ones', () => {
    const p = resp({
      nodes: [
        { uid: '1', deployment_graph_task_name: 'a', task_status: 'done' },
        { uid: '1', deployment_graph_task_name: 'good1', task_status: 'ready' },
        { uid: '1', task_status: 'ready' },
        { uid: '1', deployment_graph_task_name: 'b' },
        { deployment_graph_task_name: 'c', task_status: 'ready' },
        { uid: '', deployment_graph_task_name: 'd', task_status: 'ready' },
        { uid: '1', deployment_graph_task_name: 'e', task_status: 'ready', error_msg: 5 },
        { uid: '1', deployment_graph_task_name: 'f', task_status: 'ready', summary: [1] },
        'not an entry',
        { uid: 2, deployment_graph_task_name: 'good2', task_status: 'failed' },
      ],
    });
    expect(reportOf(p).tasks.map((t) => t.taskName)).toEqual(['good1', 'good2']);
    // The list is sized to the entries and cut to the tasks kept: no hole, nothing past them.
    expect(Object.keys(reportOf(p).tasks)).toEqual(['0', '1']);
    expect(p.skipped.map((s) => s.entry)).toEqual([
      'nodes[0]',
      'nodes[2]',
      'nodes[3]',
      'nodes[4]',
      'nodes[5]',
      'nodes[6]',
      'nodes[7]',
      'nodes[8]',
    ]);
    const reason = (entry: string) => p.skipped.find((s) => s.entry === entry)?.reason;
    expect(reason('nodes[0]')).toMatch(/task "a": unknown task_status "done"/);
    expect(reason('nodes[2]')).toMatch(/missing deployment_graph_task_name/);
    expect(reason('nodes[3]')).toMatch(/task "b": missing task_status/);
    expect(reason('nodes[4]')).toMatch(/task "c": missing uid/);
    expect(reason('nodes[5]')).toMatch(/task "d": uid/);
    expect(reason('nodes[6]')).toMatch(/task "e": error_msg must be a string/);
    expect(reason('nodes[7]')).toMatch(/task "f": summary must be an object/);
    expect(reason('nodes[8]')).toMatch(/node entry must be an object/);
  });

  it('rejects nodes that is not a list', () => {
    expectRejected({ method: 'transaction_resp', args: { task_uuid: UUID, nodes: { uid: '1' } } }, /args\.nodes must be a list/);
  });

  it('deploy_resp is parsed like transaction_resp', () => {
    const p = resp({ nodes: [{ uid: '1', deployment_graph_task_name: 'a', task_status: 'ready' }] }, 'deploy_resp');
    expect(p.method).toBe('deploy_resp');
    expect(reportOf(p).tasks).toHaveLength(1);
  });

  // The alias table is a plain object, so inherited names ("constructor", "toString", "__proto__")
  // are found in it and accepted as a status.
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'skips task_status %j (an Object.prototype name) as unknown',
    (status) => {
      const p = resp({ nodes: [{ uid: '1', deployment_graph_task_name: 'a', task_status: status }] });
      expect(reportOf(p).tasks).toEqual([]);
      expect(p.skipped).toEqual([{ entry: 'nodes[0]', reason: expect.stringMatching(/unknown task_status/) }]);
    },
  );
});

describe('parseCast: run report (top-level status / progress / error)', () => {
  it('builds a run report from status, progress and error', () => {
    const p = resp({ status: 'error', progress: 100, error: 'Deployment failed' });
    expect(reportOf(p).run).toEqual({ status: 'error', progress: 100, message: 'Deployment failed', time: RECEIVED });
    expect(reportOf(p).tasks).toEqual([]);
    expect(p.skipped).toEqual([]);
  });

  it('accepts stopped and rounds progress', () => {
    expect(reportOf(resp({ status: 'stopped' })).run?.status).toBe('stopped');
    expect(reportOf(resp({ progress: 42.6 })).run).toEqual({ progress: 43, time: RECEIVED });
  });

  it('no run report when the cast only carries nodes', () => {
    expect(reportOf(resp({ nodes: [{ uid: '1', deployment_graph_task_name: 'a', task_status: 'ready' }] })).run).toBeNull();
  });

  it('a bad top-level status is skipped, the nodes are still applied', () => {
    const p = resp({ status: 'finished', progress: 50, nodes: [{ uid: '1', deployment_graph_task_name: 'a', task_status: 'ready' }] });
    const { run, tasks } = reportOf(p);
    expect(run).toEqual({ progress: 50, time: RECEIVED });
    expect(tasks.map((t) => t.taskName)).toEqual(['a']);
    expect(p.skipped).toEqual([{ entry: 'status', reason: expect.stringMatching(/unknown transaction status "finished"/) }]);
  });

  it('bad progress and error are skipped with their own entries', () => {
    const p = resp({ status: 'running', progress: 101, error: { text: 'x' } });
    expect(reportOf(p).run).toEqual({ status: 'running', time: RECEIVED });
    expect(p.skipped.map((s) => s.entry)).toEqual(['progress', 'error']);
    expect(p.skipped[0].reason).toMatch(/progress must be a number from 0 to 100, got 101/);
    expect(p.skipped[1].reason).toMatch(/error must be a string/);
  });

  it('only bad top-level fields: run is null and all are listed as skipped', () => {
    const p = resp({ status: 7, progress: '50' });
    expect(reportOf(p).run).toBeNull();
    expect(p.skipped.map((s) => s.entry)).toEqual(['status', 'progress']);
  });
});

describe('parseCast: what a run was deployed with (deployment_info, settings, network_configuration)', () => {
  const parseStartWith = (over: Record<string, unknown>) => parseCast({ method: 'transaction_start', args: startArgs(over) }, RECEIVED);
  const node1 = {
    uid: '1',
    fqdn: 'node-1.domain.tld',
    roles: ['controller'],
    network_scheme: { endpoints: { 'br-mgmt': { IP: ['192.168.0.3/24'] } } },
  };
  const node2 = { uid: '2', fqdn: 'node-2.domain.tld', roles: ['compute'] };

  it('takes none: no snapshot, nothing skipped', () => {
    const p = parseStartWith({});
    expect(startOf(p).snapshots).toEqual({});
    expect(p.skipped).toEqual([]);
  });

  it('takes deployment_info keyed by node uid (no common part), settings and network_configuration, each as JSON text', () => {
    const settings = { editable: { common: { debug: { value: false } } } };
    const network = { networks: [{ name: 'management', cidr: '192.168.0.0/24' }], networking_parameters: { segmentation_type: 'vlan' } };
    const p = parseStartWith({ deployment_info: { '1': node1, '2': node2 }, settings, network_configuration: network });
    expect(p.skipped).toEqual([]);
    const s = startOf(p).snapshots;
    expect(s.deploymentInfo).toEqual({
      common: '{}',
      nodes: [
        { uid: '1', json: JSON.stringify(node1) },
        { uid: '2', json: JSON.stringify(node2) },
      ],
    });
    expect(JSON.parse(s.settings!)).toEqual(settings);
    expect(JSON.parse(s.networkConfiguration!)).toEqual(network);
  });

  it("takes Nailgun 10's own form {common, nodes} as it is", () => {
    const common = { openstack_version: 'mitaka-9.0', deployment_mode: 'ha_compact' };
    const s = startOf(parseStartWith({ deployment_info: { common, nodes: { '1': node1 } } })).snapshots;
    expect(s.deploymentInfo).toEqual({ common: JSON.stringify(common), nodes: [{ uid: '1', json: JSON.stringify(node1) }] });
    expect(startOf(parseStartWith({ deployment_info: { common } })).snapshots.deploymentInfo).toEqual({
      common: JSON.stringify(common),
      nodes: [],
    });
  });

  it('an empty deployment_info is recorded as such (the run said it had none per node)', () => {
    expect(startOf(parseStartWith({ deployment_info: {} })).snapshots.deploymentInfo).toEqual({ common: '{}', nodes: [] });
  });

  it('null is the same as absent', () => {
    const p = parseStartWith({ deployment_info: null, settings: null, network_configuration: null });
    expect(startOf(p).snapshots).toEqual({});
    expect(p.skipped).toEqual([]);
  });

  it.each([
    ['deployment_info', [node1], /deployment_info must be an object keyed by node id/],
    ['deployment_info', { '1': 'node-1' }, /deployment_info\["1"\] must be an object, got "node-1"/],
    ['deployment_info', { common: [], nodes: {} }, /deployment_info\.common must be an object/],
    ['settings', 'debug=1', /settings must be an object, got "debug=1"/],
    ['network_configuration', [1, 2], /network_configuration must be an object/],
    ['settings', { editable: { motd: 'bad\u0000byte' } }, /settings contains a NUL character/],
  ])('skips a %s that cannot be stored (%j), with the reason; the run itself is still started', (key, value, reason) => {
    const p = parseStartWith({ [key]: value, settings: key === 'settings' ? value : { editable: {} } });
    expect(p.skipped).toEqual([{ entry: key, reason: expect.stringMatching(reason) }]);
    const s = startOf(p);
    expect(s.tasks).toHaveLength(4);
    expect(s.snapshots).not.toHaveProperty(
      key === 'deployment_info' ? 'deploymentInfo' : key === 'settings' ? 'settings' : 'networkConfiguration',
    );
  });

  it(`skips a snapshot over ${MAX_SNAPSHOT_BYTES} bytes of JSON (per node for deployment_info), naming its size and the limit`, () => {
    const big = { blob: 'x'.repeat(MAX_SNAPSHOT_BYTES) };
    for (const [key, value, entry] of [
      ['settings', big, 'settings'],
      ['network_configuration', big, 'network_configuration'],
      ['deployment_info', { '1': node1, '2': big }, 'deployment_info'],
      ['deployment_info', { common: big, nodes: { '1': node1 } }, 'deployment_info'],
    ] as const) {
      const p = parseStartWith({ [key]: value });
      const reason = new RegExp(`is too large: ${MAX_SNAPSHOT_BYTES + 11} bytes of JSON, the limit is ${MAX_SNAPSHOT_BYTES}`);
      expect(p.skipped).toEqual([{ entry, reason: expect.stringMatching(reason) }]);
      expect(startOf(p).snapshots).toEqual({});
    }
    // Just under the limit is taken: 200 nodes of ~300 KB each (a large environment's astute.yaml) fit too.
    const fits = { blob: 'x'.repeat(MAX_SNAPSHOT_BYTES - 11) };
    expect(parseStartWith({ settings: fits }).skipped).toEqual([]);
  });

  it('a node id must be a name (1 to 255 characters)', () => {
    const p = parseStartWith({ deployment_info: { ['n'.repeat(256)]: node1 } });
    expect(p.skipped).toEqual([{ entry: 'deployment_info', reason: expect.stringMatching(/node id .* is too long/) }]);
  });
});

describe('parseCast: task definitions per node', () => {
  const puppet = (id: string, requires: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    type: 'puppet',
    parameters: { puppet_manifest: `/etc/puppet/modules/osnailyfacter/modular/${id}.pp`, timeout: 3600 },
    requires,
    ...extra,
  });

  it('keeps one definition per task where every node has the same, and no per-node definition', () => {
    const s = startOf(parseCast({ method: 'transaction_start', args: startArgs() }, RECEIVED));
    expect(s.nodeDefinitions).toEqual([]);
  });

  it("keeps, per task, the definition most of its nodes share, and each other node's own", () => {
    const graph = {
      '1': [puppet('netconfig', ['hiera'], { roles: ['primary-controller'] })],
      '2': [puppet('netconfig', ['hiera'], { roles: ['compute'] })],
      '3': [puppet('netconfig', ['hiera'], { roles: ['compute'] })],
      '4': [puppet('netconfig', ['hiera'], { roles: ['compute'] })],
      master: [{ id: 'upload_configuration', type: 'upload_file' }],
      null: [{ id: 'netconfig', type: 'stage' }],
    };
    const s = startOf(parseCast({ method: 'transaction_start', args: startArgs({ tasks_graph: graph }) }, RECEIVED));
    expect(s.snapshot.netconfig).toEqual(graph['2'][0]);
    expect(s.nodeDefinitions).toEqual([
      { nodeId: '1', taskName: 'netconfig', json: JSON.stringify(graph['1'][0]) },
      { nodeId: null, taskName: 'netconfig', json: JSON.stringify(graph.null[0]) },
    ]);
  });

  it("keeps Astute's per-node relations (requires naming nodes), which differ on every node", () => {
    const graph = {
      '1': [puppet('hiera', []), puppet('netconfig', [{ name: 'hiera', node_id: '1' }])],
      '2': [puppet('hiera', []), puppet('netconfig', [{ name: 'hiera', node_id: '2' }])],
    };
    const s = startOf(parseCast({ method: 'transaction_start', args: startArgs({ tasks_graph: graph }) }, RECEIVED));
    expect(s.snapshot.netconfig).toEqual(graph['1'][1]);
    expect(s.nodeDefinitions).toEqual([{ nodeId: '2', taskName: 'netconfig', json: JSON.stringify(graph['2'][1]) }]);
  });

  it('the same definition with its keys in another order is the same (it is stored as jsonb, which keeps no order)', () => {
    const graph = {
      '1': [{ id: 'netconfig', type: 'puppet', parameters: { a: 1, b: [1, { c: 2 }] } }],
      '2': [{ parameters: { b: [1, { c: 2 }], a: 1 }, type: 'puppet', id: 'netconfig' }],
    };
    const s = startOf(parseCast({ method: 'transaction_start', args: startArgs({ tasks_graph: graph }) }, RECEIVED));
    expect(s.nodeDefinitions).toEqual([]);
    const other = {
      '1': graph['1'],
      '2': [{ id: 'netconfig', type: 'puppet', parameters: { a: 1, b: [{ c: 2 }, 1] } }],
      '3': [{ id: 'netconfig', type: 'puppet', parameters: { a: 1 } }],
    };
    expect(
      startOf(parseCast({ method: 'transaction_start', args: startArgs({ tasks_graph: other }) }, RECEIVED)).nodeDefinitions.map(
        (d) => d.nodeId,
      ),
    ).toEqual(['2', '3']);
  });

  it('a task listed twice on a node keeps its first definition, as its row does', () => {
    const graph = {
      '1': [puppet('netconfig', ['a']), puppet('netconfig', ['b'])],
      '2': [puppet('netconfig', ['b'])],
      '3': [puppet('netconfig', ['b'])],
    };
    const s = startOf(parseCast({ method: 'transaction_start', args: startArgs({ tasks_graph: graph }) }, RECEIVED));
    expect(s.snapshot.netconfig).toEqual(puppet('netconfig', ['b']));
    expect(s.nodeDefinitions).toEqual([{ nodeId: '1', taskName: 'netconfig', json: JSON.stringify(puppet('netconfig', ['a'])) }]);
  });
});
