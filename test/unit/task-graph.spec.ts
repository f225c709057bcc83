import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildTaskGraph, requiresOf, TaskDefinition, TaskGraph, TaskRef, TasksGraph } from '../../src/history/task-graph';
import { fuelEnvironmentGraph, fuelTasks } from '../support/fuel-data';

/** The map as plain data, for exact comparisons: "node/task" → ["node/task", ...] (cluster-level node shown as "null"). */
const label = (r: TaskRef): string => `${r.node ?? 'null'}/${r.task}`;
const asObject = (g: TaskGraph): Record<string, string[]> =>
  Object.fromEntries(
    g.tasks.filter((t) => requiresOf(g, t.node, t.task).length > 0).map((t) => [label(t), requiresOf(g, t.node, t.task).map(label)]),
  );

/** Node 1 the primary controller, 2 a controller, 3 a compute; the stages on the cluster-level node. */
const ROLES = new Map([
  ['1', ['primary-controller']],
  ['2', ['controller']],
  ['3', ['compute']],
]);

/** A small graph in fuel-library's form, covering each way a dependency can be written. */
const LIBRARY: TasksGraph = {
  null: [{ id: 'deploy_start' }, { id: 'deploy_end', requires: ['deploy_start'] }],
  '1': [
    // `cross_depends` naming only the task itself (`*`: every node having `db` is node 1) adds nothing and drops nothing.
    { id: 'db', requires: ['deploy_start'], required_for: ['deploy_end'], cross_depends: [{ name: 'db', role: '*' }] },
    // `self`: the same node, the same edge as `requires` (counted once).
    { id: 'keystone', requires: ['db'], cross_depends: [{ name: 'db', role: 'self' }] },
  ],
  '2': [
    {
      id: 'keystone',
      requires: ['deploy_start'],
      cross_depends: [{ name: 'keystone', role: 'primary-controller' }],
      cross_depended_by: [{ name: 'compute', role: 'compute' }],
    },
  ],
  '3': [
    // A plain-name `/re/` selector matches keystone on every node having it; `missing` is nowhere (dropped).
    { id: 'compute', requires: ['deploy_start', 'missing'], required_for: ['deploy_end'], cross_depends: ['/keys?tone/'] },
  ],
};

const EXPECTED = {
  'null/deploy_end': ['null/deploy_start', '1/db', '3/compute'],
  '1/db': ['null/deploy_start'],
  '1/keystone': ['1/db'],
  '2/keystone': ['null/deploy_start', '1/keystone'],
  '3/compute': ['null/deploy_start', '1/keystone', '2/keystone'],
};

/** The same graph as Astute receives it: resolved `{name, node_id}` lists (node ids as numbers or strings, null for the stages). */
const ASTUTE: TasksGraph = {
  null: [
    { id: 'deploy_start', requires: [], required_for: [] },
    {
      id: 'deploy_end',
      requires: [
        { name: 'deploy_start', node_id: null },
        { name: 'db', node_id: '1' },
        { name: 'compute', node_id: 3 },
      ],
    },
  ],
  '1': [
    { id: 'db', requires: [{ name: 'deploy_start', node_id: null }] },
    { id: 'keystone', requires: [{ name: 'db', node_id: '1' }] },
  ],
  '2': [
    {
      id: 'keystone',
      requires: [
        { name: 'deploy_start', node_id: null },
        { name: 'keystone', node_id: '1' },
      ],
      // Written from the other end: the same edges.
      required_for: [{ name: 'compute', node_id: '3' }],
    },
  ],
  '3': [
    {
      id: 'compute',
      requires: [
        { name: 'deploy_start', node_id: null },
        { name: 'keystone', node_id: 1 },
        { name: 'missing', node_id: 3 },
      ],
    },
  ],
};

describe('buildTaskGraph: a hand-made graph', () => {
  it("resolves fuel-library's form: same-node names, the stages, role selectors, patterns, both directions", () => {
    const g = buildTaskGraph(LIBRARY, ROLES);
    expect(asObject(g)).toEqual(EXPECTED);
    expect(g.edges).toBe(10);
    expect(g.dropped).toBe(1);
    expect(g.hasDependencies).toBe(true);
    expect(g.tasks.map(label)).toEqual(['null/deploy_start', 'null/deploy_end', '1/db', '1/keystone', '2/keystone', '3/compute']);
  });

  it("reads Astute's form of the same graph into the same map", () => {
    const g = buildTaskGraph(ASTUTE);
    expect(asObject(g)).toEqual(EXPECTED);
    expect(g.edges).toBe(10);
    expect(g.dropped).toBe(1);
  });

  it('role selectors: a list of roles, a /re/ role, the master node, no role, and a role no node has', () => {
    const graph: TasksGraph = {
      master: [{ id: 'keys' }],
      '1': [{ id: 'a' }],
      '2': [{ id: 'a' }],
      '3': [
        { id: 'a' },
        {
          id: 'b',
          cross_depends: [
            { name: 'a', role: ['primary-controller', 'compute'] },
            { name: 'a', role: '/^contr/' },
            { name: 'keys', role: 'master' },
            { name: 'a', role: 'cinder' },
          ],
        },
        { id: 'c', cross_depends: ['a'] },
      ],
    };
    const g = buildTaskGraph(graph, ROLES);
    expect(asObject(g)).toEqual({
      '3/b': ['master/keys', '1/a', '2/a', '3/a'],
      '3/c': ['1/a', '2/a', '3/a'],
    });
    expect(g.dropped).toBe(1);
  });

  it('a task named by `name` instead of `id`; `policy: any` is read as every node of the role', () => {
    const g = buildTaskGraph(
      {
        '1': [{ name: 'a' }],
        '2': [{ name: 'a' }],
        '3': [{ name: 'b', cross_depends: [{ name: 'a', role: ['primary-controller', 'controller'], policy: 'any' }] }],
      },
      ROLES,
    );
    expect(asObject(g)).toEqual({ '3/b': ['1/a', '2/a'] });
  });

  it('a task never depends on itself, in either form', () => {
    const g = buildTaskGraph({
      '1': [{ id: 'a', requires: ['a', { name: 'a', node_id: '1' }], required_for: ['a'], cross_depends: ['a'] }],
    });
    expect(g.edges).toBe(0);
    expect(g.dropped).toBe(0);
    expect(g.hasDependencies).toBe(false);
  });

  it('says when there is no dependency information: none declared, or every one pointing outside the graph', () => {
    const none = buildTaskGraph({ '1': [{ id: 'a' }, { id: 'b', requires: [] }], null: [{ id: 'deploy_start' }] });
    expect(none).toMatchObject({ edges: 0, dropped: 0, hasDependencies: false });
    // A pattern JavaScript cannot compile (`/(/`) matches nothing, like a name no node has.
    const dangling = buildTaskGraph({
      '1': [{ id: 'a', requires: ['gone', { name: 'b', node_id: '9' }], cross_depends: [{ name: 'b', role: '*' }, '/(/'] }],
    });
    expect(dangling).toMatchObject({ edges: 0, dropped: 4, hasDependencies: false });
    expect(buildTaskGraph({})).toMatchObject({ tasks: [], edges: 0, hasDependencies: false });
  });

  it('skips entries that are not task definitions and keeps the first of a task listed twice on a node', () => {
    const graph = { '1': [null, 5, { type: 'puppet' }, { id: 'a' }, { id: 'b', requires: ['a', 7, null] }, { id: 'b', requires: [] }] };
    const g = buildTaskGraph(graph as unknown as TasksGraph);
    expect(g.tasks.map(label)).toEqual(['1/a', '1/b']);
    expect(asObject(g)).toEqual({ '1/b': ['1/a'] });
    expect(g.dropped).toBe(2);
  });

  it('property: the Astute form written from any map reads back to that map (requires on one end, or required_for on the other)', () => {
    const arbGraph = fc
      .record({
        nodes: fc.integer({ min: 1, max: 4 }),
        tasks: fc.integer({ min: 1, max: 6 }),
        seed: fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
      })
      .map(({ nodes, tasks, seed }) => {
        const keys = ['null', 'master', ...Array.from({ length: nodes }, (_, i) => String(i + 1))];
        const graph: Record<string, TaskDefinition[]> = {};
        keys.forEach((k, ki) => {
          graph[k] = Array.from({ length: tasks }, (_, ti) => ({
            id: `t${ti}`,
            requires: seed
              .filter((s, si) => (s + si + ki + ti) % 5 === 0)
              .map((s) => ({ name: `t${s % tasks}`, node_id: keys[s % keys.length] === 'null' ? null : keys[s % keys.length] })),
          }));
        });
        return graph;
      });
    fc.assert(
      fc.property(arbGraph, fc.boolean(), (graph, reversed) => {
        const g = buildTaskGraph(graph);
        const rewritten: Record<string, TaskDefinition[]> = {};
        for (const t of g.tasks) (rewritten[t.node ?? 'null'] ??= []).push({ id: t.task });
        const find = (r: TaskRef) => rewritten[r.node ?? 'null'].find((d) => d.id === r.task)!;
        for (const t of g.tasks) {
          for (const dep of requiresOf(g, t.node, t.task)) {
            if (reversed) ((find(dep).required_for ??= []) as unknown[]).push({ name: t.task, node_id: t.node });
            else ((find(t).requires ??= []) as unknown[]).push({ name: dep.task, node_id: dep.node });
          }
        }
        const back = buildTaskGraph(rewritten);
        expect(asObject(back)).toEqual(asObject(g));
        expect(back.dropped).toBe(0);
      }),
    );
  });
});

/** The example environment's graph in fuel-library's full form (fuelEnvironmentGraph() keeps `requires` only). */
function fuelLibraryGraph(): TasksGraph {
  const full = fuelTasks() as unknown as Map<string, TaskDefinition>;
  return Object.fromEntries(
    Object.entries(fuelEnvironmentGraph()).map(([node, list]) => [node, list.map((t) => ({ ...full.get(t.id)!, id: t.id }))]),
  );
}

function fuelRoles(): Map<string, string[]> {
  const env = JSON.parse(readFileSync(join(__dirname, '../../../shared/data/fuel-9.0/example-environment.json'), 'utf8')) as {
    nodes: Record<string, { roles: string[] }>;
  };
  return new Map(Object.entries(env.nodes).map(([node, { roles }]) => [node, roles]));
}

describe('buildTaskGraph: the real Fuel 9.0 graph of the example environment', () => {
  const g = buildTaskGraph(fuelLibraryGraph(), fuelRoles());

  it('has the edges nailgun would resolve', () => {
    // 470 tasks over 6 nodes, master and the stages; the counts were cross-checked by a separate Python
    // script following nailgun 9.0's resolve_relation. Dropped: mostly same-node names of tasks of another
    // role (keystone requires primary-keystone, which only the primary controller runs).
    expect(g.tasks).toHaveLength(470);
    expect(g.edges).toBe(1764);
    expect(g.dropped).toBe(257);
    expect(g.hasDependencies).toBe(true);
  });

  it('resolves known edges, checked by hand against the task definitions', () => {
    // aodh (controllers): requires openstack-haproxy (same node); cross_depends aodh-db, aodh-keystone (primary controller only).
    expect(requiresOf(g, '2', 'aodh').map(label)).toEqual(['1/aodh-db', '1/aodh-keystone', '2/openstack-haproxy']);
    // keystone on node 2: its requires found on node 2 (primary-* are not there: dropped), /(primary-)?rabbitmq/ on
    // every controller, keystone-db and primary-keystone on node 1, and apache, memcached, openrc-delete by their required_for.
    expect(requiresOf(g, '2', 'keystone').map(label)).toEqual([
      '1/keystone-db',
      '1/primary-keystone',
      '1/primary-rabbitmq',
      '2/apache',
      '2/database',
      '2/memcached',
      '2/openrc-delete',
      '2/openstack-haproxy',
      '2/rabbitmq',
      '3/rabbitmq',
    ]);
    // A plain name is exact: top-role-compute's cross_depends `keystone` is not primary-keystone.
    const compute = requiresOf(g, '4', 'top-role-compute').map(label);
    expect(compute).toEqual(
      expect.arrayContaining(['2/keystone', '3/keystone', '1/primary-openstack-controller', '4/hosts', '4/firewall']),
    );
    expect(compute).not.toContain('1/primary-keystone');
    // The stages chain on the cluster-level node, and a node's task requiring a stage finds it there.
    expect(requiresOf(g, null, 'deploy_start').map(label)).toEqual(['null/pre_deployment_end']);
    expect(requiresOf(g, '1', 'primary-cluster').map(label)).toEqual(expect.arrayContaining(['null/deploy_start']));
  });

  it("Astute's form written from the map reads back to the same map", () => {
    const astute: Record<string, TaskDefinition[]> = {};
    for (const t of g.tasks) {
      (astute[t.node ?? 'null'] ??= []).push({
        id: t.task,
        requires: requiresOf(g, t.node, t.task).map((r) => ({ name: r.task, node_id: r.node })),
      });
    }
    const back = buildTaskGraph(astute);
    expect(asObject(back)).toEqual(asObject(g));
    expect(back.edges).toBe(1764);
  });
});
