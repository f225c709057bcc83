import type { GraphTask } from '../receiver/cast-builder';
/**
 * The simulator's deployment graph: task names, types, stages and typical durations shaped like an
 * OpenStack deployment driven by an Astute-style orchestrator (written for this project; the names are
 * the usual ones of such deployments, the durations are rough orders of magnitude).
 */
export type Role = 'controller' | 'compute';
export type Stage = 'pre_deployment' | 'deployment' | 'post_deployment';
export type TaskType = 'puppet' | 'shell' | 'upload_file' | 'sync' | 'copy_files' | 'stage';

export interface TaskTemplate {
  id: string;
  type: TaskType;
  stage: Stage;
  /** Which node roles run it; `master` tasks are listed apart. */
  roles: readonly Role[];
  /** Typical duration in seconds: [min, max]. */
  seconds: readonly [number, number];
  /** Guarded by a condition that is often false (e.g. an optional component): often reported `skipped`. */
  conditional?: boolean;
}

/** Cluster-level synchronisation points, reported with `uid: null`, in order. */
export const STAGES = {
  pre_deployment: ['pre_deployment_start', 'pre_deployment_end'],
  deployment: ['deploy_start', 'deploy_end'],
  post_deployment: ['post_deployment_start', 'post_deployment_end'],
} as const;

const ALL: readonly Role[] = ['controller', 'compute'];
const CTRL: readonly Role[] = ['controller'];
const COMP: readonly Role[] = ['compute'];

/** Tasks of the master node (`uid: "master"`), in order. */
export const MASTER_TASKS: readonly TaskTemplate[] = [
  { id: 'generate_keys', type: 'shell', stage: 'pre_deployment', roles: ALL, seconds: [2, 6] },
  { id: 'generate_haproxy_keys', type: 'shell', stage: 'pre_deployment', roles: ALL, seconds: [3, 10] },
  { id: 'prepare_symlinks', type: 'shell', stage: 'pre_deployment', roles: ALL, seconds: [1, 3] },
  { id: 'refresh_master_hosts', type: 'shell', stage: 'post_deployment', roles: ALL, seconds: [1, 4] },
];

/** Tasks of the deployed nodes, in the order a node runs them (each requires the one before it). */
export const NODE_TASKS: readonly TaskTemplate[] = [
  { id: 'upload_configuration', type: 'upload_file', stage: 'pre_deployment', roles: ALL, seconds: [1, 3] },
  { id: 'copy_keys', type: 'copy_files', stage: 'pre_deployment', roles: ALL, seconds: [1, 4] },
  { id: 'rsync_core_puppet', type: 'sync', stage: 'pre_deployment', roles: ALL, seconds: [4, 20] },
  { id: 'sync_time', type: 'shell', stage: 'pre_deployment', roles: ALL, seconds: [2, 8] },
  { id: 'setup_repositories', type: 'puppet', stage: 'pre_deployment', roles: ALL, seconds: [10, 40] },
  { id: 'hiera', type: 'puppet', stage: 'pre_deployment', roles: ALL, seconds: [8, 25] },
  { id: 'globals', type: 'puppet', stage: 'pre_deployment', roles: ALL, seconds: [10, 30] },
  { id: 'netconfig', type: 'puppet', stage: 'deployment', roles: ALL, seconds: [20, 90] },
  { id: 'hosts', type: 'puppet', stage: 'deployment', roles: ALL, seconds: [5, 15] },
  { id: 'firewall', type: 'puppet', stage: 'deployment', roles: ALL, seconds: [10, 40] },
  { id: 'tools', type: 'puppet', stage: 'deployment', roles: ALL, seconds: [15, 60] },
  { id: 'logging', type: 'puppet', stage: 'deployment', roles: ALL, seconds: [10, 30] },
  { id: 'cluster', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [30, 120] },
  { id: 'virtual_ips', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [15, 45] },
  { id: 'openstack-haproxy-mysqld', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [8, 25] },
  { id: 'openstack-haproxy-keystone', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [8, 25] },
  { id: 'database', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [60, 240] },
  { id: 'rabbitmq', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [40, 150] },
  { id: 'memcached', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [5, 20] },
  { id: 'keystone', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [60, 200] },
  { id: 'openstack-controller', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [120, 400] },
  { id: 'openstack-network-server-config', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [30, 120] },
  { id: 'glance', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [40, 150] },
  { id: 'openstack-cinder', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [40, 160] },
  { id: 'heat', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [40, 150] },
  { id: 'horizon', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [30, 100] },
  { id: 'ceilometer-controller', type: 'puppet', stage: 'deployment', roles: CTRL, seconds: [30, 90], conditional: true },
  { id: 'top-role-compute', type: 'puppet', stage: 'deployment', roles: COMP, seconds: [60, 240] },
  { id: 'openstack-network-compute-nova', type: 'puppet', stage: 'deployment', roles: COMP, seconds: [20, 80] },
  { id: 'ceilometer-compute', type: 'puppet', stage: 'deployment', roles: COMP, seconds: [15, 60], conditional: true },
  { id: 'upload_nodes_info', type: 'upload_file', stage: 'post_deployment', roles: ALL, seconds: [1, 3] },
  { id: 'update_hosts', type: 'puppet', stage: 'post_deployment', roles: ALL, seconds: [5, 20] },
  { id: 'ntp-client', type: 'puppet', stage: 'post_deployment', roles: ALL, seconds: [5, 20] },
  { id: 'dns-client', type: 'puppet', stage: 'post_deployment', roles: ALL, seconds: [3, 10] },
  { id: 'enable_quorum', type: 'shell', stage: 'post_deployment', roles: CTRL, seconds: [2, 6] },
  { id: 'public_vip_ping', type: 'puppet', stage: 'post_deployment', roles: CTRL, seconds: [3, 10] },
  { id: 'configure_default_route', type: 'puppet', stage: 'post_deployment', roles: COMP, seconds: [3, 10], conditional: true },
];

/** The tasks a node runs first when it runs only a few (`--tasks` below the whole chain), by priority. */
export const CORE_TASKS: readonly string[] = [
  'upload_configuration',
  'hiera',
  'globals',
  'netconfig',
  'openstack-haproxy-mysqld',
  'top-role-compute',
  'openstack-controller',
  'openstack-network-compute-nova',
  'database',
  'keystone',
  'firewall',
  'ntp-client',
  'update_hosts',
];

/** Why a task fails, in the orchestrator's words. */
export const FAILURE_REASONS: readonly string[] = [
  'Puppet run failed: 3 resources failed (exit code 6)',
  'Task timed out after 3600 seconds',
  'Command exited with code 1: package installation failed',
  'Node did not answer over MCollective within 300 seconds',
  'Service did not start: pacemaker reported the resource as stopped',
];

export const CLUSTER_NAMES: readonly string[] = ['prod-east', 'prod-west', 'staging', 'lab', 'edge-north', 'edge-south'];

/** The task as announced in `transaction_start`'s `tasks_graph`: type, roles, what it requires, its parameters. */
export function definition(t: TaskTemplate, requires: string[], roles: readonly string[] = t.roles): GraphTask {
  const parameters: Record<string, unknown> = (() => {
    switch (t.type) {
      case 'puppet':
        return {
          puppet_manifest: `/etc/puppet/modules/osnailyfacter/modular/${t.id}.pp`,
          puppet_modules: '/etc/puppet/modules',
          timeout: 3600,
        };
      case 'shell':
        return { cmd: `/usr/local/bin/${t.id.replace(/_/g, '-')}`, timeout: 180 };
      case 'upload_file':
        return { path: t.id === 'upload_configuration' ? '/etc/fuel/cluster/astute.yaml' : '/etc/hiera/nodes.yaml', timeout: 180 };
      case 'sync':
        return { src: 'rsync://10.20.0.2:/puppet/modules/', dst: '/etc/puppet/modules', timeout: 180 };
      case 'copy_files':
        return {
          files: [{ src: '/var/lib/fuel/keys/{CLUSTER_ID}/nova/nova.pub', dst: '/var/lib/astute/nova/nova.pub' }],
          permissions: '0600',
        };
      case 'stage':
        return {};
    }
  })();
  const condition = t.conditional ? { condition: { yaql_exp: 'changed($.ceilometer)' } } : {};
  return { id: t.id, type: t.type, version: '2.1.0', roles: [...roles], requires, parameters, ...condition };
}

/**
 * What a run is deployed with, sent in `transaction_start` (served at GET /transactions/:id/deployment_info,
 * /settings, /network_configuration): small, shaped like a Fuel 9/10 environment's astute.yaml, cluster
 * attributes and network configuration. Addresses follow the cluster's index, so clusters differ.
 */
export function deploymentSnapshots(
  cluster: { index: number; name: string; release: string },
  nodes: ReadonlyArray<{ uid: string; role: Role }>,
): Record<'deployment_info' | 'settings' | 'network_configuration', Record<string, unknown>> {
  const net = (third: number) => `10.${(cluster.index % 200) + 20}.${third}`;
  const vip = { management: `${net(2)}.2`, public: `${net(1)}.2` };
  const deploymentInfo = Object.fromEntries(
    nodes.map((n, i) => [
      n.uid,
      {
        uid: n.uid,
        fqdn: `node-${n.uid}.${cluster.name}.local`,
        roles: [i === 0 ? 'primary-controller' : n.role],
        deployment_mode: 'ha_compact',
        openstack_version: cluster.release,
        management_vip: vip.management,
        public_vip: vip.public,
        network_scheme: {
          version: '1.1',
          endpoints: { 'br-mgmt': { IP: [`${net(2)}.${i + 3}/24`] }, 'br-storage': { IP: [`${net(4)}.${i + 3}/24`] } },
          roles: { management: 'br-mgmt', storage: 'br-storage', 'neutron/private': 'br-prv' },
        },
        ...(n.role === 'compute'
          ? { nova: { state_path: '/var/lib/nova', cpu_mode: 'host-model' } }
          : { mysql: { wsrep_provider: 'galera' } }),
      },
    ]),
  );
  const settings = {
    editable: {
      common: {
        debug: { value: false, type: 'checkbox', label: 'Debug logging' },
        puppet_debug: { value: true, type: 'checkbox', label: 'Puppet debug logging' },
        auto_assign_floating_ip: { value: false, type: 'checkbox', label: 'Auto assign floating IP' },
      },
      storage: { volumes_lvm: { value: true }, volumes_ceph: { value: false }, images_ceph: { value: false } },
      provision: { method: { value: 'image' } },
      public_ssl: { horizon: { value: true }, services: { value: true }, hostname: { value: `public.${cluster.name}.local` } },
    },
  };
  const network = (id: number, name: string, third: number, vlan: number | null) => ({
    id,
    name,
    cidr: `${net(third)}.0/24`,
    gateway: name === 'public' ? `${net(third)}.1` : null,
    vlan_start: vlan,
    ip_ranges: [[`${net(third)}.${name === 'public' ? 2 : 1}`, `${net(third)}.${name === 'public' ? 126 : 254}`]],
    meta: { notation: 'ip_ranges', render_type: null, map_priority: id },
  });
  const networkConfiguration = {
    networking_parameters: {
      net_l23_provider: 'ovs',
      segmentation_type: 'vlan',
      vlan_range: [1000, 1030],
      floating_ranges: [[`${net(1)}.130`, `${net(1)}.254`]],
      dns_nameservers: ['8.8.4.4', '8.8.8.8'],
      base_mac: 'fa:16:3e:00:00:00',
    },
    networks: [
      network(1, 'public', 1, null),
      network(2, 'management', 2, 101),
      network(3, 'storage', 4, 102),
      network(4, 'fuelweb_admin', 0, null),
    ],
    management_vip: vip.management,
    public_vip: vip.public,
  };
  return { deployment_info: deploymentInfo, settings, network_configuration: networkConfiguration };
}
