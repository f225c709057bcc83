import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { RUN_STATUSES } from '../history/task-state';
import { MAX_PROGRESS, MAX_SNAPSHOT_BYTES, REPORT_METHODS, START_DEFAULTS, START_METHOD, WIRE_TASK_STATUSES } from './cast-format';
import { MAX_CASTS_PER_REQUEST } from './casts.service';

/**
 * OpenAPI description of the wire format (the validation itself is in cast.ts), built from the parser's
 * own methods, statuses, defaults and limits (cast-format.ts) so that the two cannot drift apart.
 */
const snapshotLimit = `up to ${MAX_SNAPSHOT_BYTES / 1_048_576} MB of JSON`;

const nodeEntry: SchemaObject = {
  type: 'object',
  properties: {
    uid: {
      oneOf: [{ type: 'string' }, { type: 'integer' }],
      nullable: true,
      description: 'node id, "master", or null for a cluster-level task',
      example: '1',
    },
    deployment_graph_task_name: { type: 'string', example: 'netconfig' },
    task_status: { type: 'string', enum: [...WIRE_TASK_STATUSES] },
    error_msg: { type: 'string' },
    summary: { type: 'object' },
    custom: { type: 'object' },
    time: { type: 'string', format: 'date-time', description: 'event time; receipt time when absent' },
  },
};

export const TRANSACTION_START_ARGS: SchemaObject = {
  type: 'object',
  required: ['task_uuid', 'cluster'],
  properties: {
    task_uuid: { type: 'string', example: '6a5c1c2e-6bd3-4f3e-9d4e-6f1f8a0b1c2d' },
    name: { type: 'string', default: START_DEFAULTS.name },
    graph_type: { type: 'string', default: START_DEFAULTS.graph_type },
    dry_run: { type: 'boolean', default: START_DEFAULTS.dry_run },
    parent_task_uuid: { type: 'string', nullable: true },
    time: { type: 'string', format: 'date-time' },
    cluster: {
      type: 'object',
      required: ['id', 'release'],
      properties: {
        id: { type: 'integer', example: 1 },
        name: { type: 'string', example: 'prod-east' },
        release: { type: 'string', example: 'mitaka-9.0' },
      },
    },
    tasks_graph: {
      type: 'object',
      description: 'node id ("master", "null" for cluster-level) → tasks of that node',
      additionalProperties: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string' }, type: { type: 'string' } },
          additionalProperties: true,
        },
      },
      example: {
        '1': [{ id: 'netconfig', type: 'puppet' }],
        master: [{ id: 'upload_configuration', type: 'upload_file' }],
        null: [{ id: 'post_deployment_start', type: 'stage' }],
      },
    },
    nodes: {
      type: 'object',
      description:
        "who each node is, by node uid: its roles (resolve the graph's cross_depends role selectors, group task statistics) " +
        'and its host name; a list of {uid, roles, hostname} is read too. Nodes not named here are taken from deployment_info ' +
        '(roles or role; fqdn or name). An unreadable entry is skipped (named in the answer)',
      additionalProperties: {
        type: 'object',
        properties: { roles: { type: 'array', items: { type: 'string' }, maxItems: 64 }, hostname: { type: 'string' } },
      },
      example: { '1': { roles: ['primary-controller'], hostname: 'node-1.domain.tld' }, '4': { roles: ['compute'] } },
    },
    deployment_info: {
      type: 'object',
      description:
        'what each node was deployed with, by node uid (or as Nailgun 10 kept it: {"common": {...}, "nodes": {uid: {...}}}); ' +
        `served at GET /transactions/{id}/deployment_info; ${snapshotLimit} per node, else skipped (named in the answer)`,
      additionalProperties: { type: 'object' },
      example: { '1': { uid: '1', fqdn: 'node-1.domain.tld', roles: ['primary-controller'] } },
    },
    settings: {
      type: 'object',
      description: `the cluster settings, e.g. {"editable": {...}}; served at GET /transactions/{id}/settings; ${snapshotLimit}`,
    },
    network_configuration: {
      type: 'object',
      description:
        'the network configuration, e.g. {"networks": [...], "networking_parameters": {...}}; ' +
        `served at GET /transactions/{id}/network_configuration; ${snapshotLimit}`,
    },
  },
};

const respArgs: SchemaObject = {
  type: 'object',
  required: ['task_uuid'],
  properties: {
    task_uuid: { type: 'string' },
    status: { type: 'string', enum: [...RUN_STATUSES] },
    progress: { type: 'number', minimum: 0, maximum: MAX_PROGRESS },
    error: { type: 'string' },
    time: { type: 'string', format: 'date-time' },
    nodes: { type: 'array', items: nodeEntry },
  },
};

const cast: SchemaObject = {
  oneOf: [
    {
      type: 'object',
      required: ['method', 'args'],
      properties: { method: { type: 'string', enum: [START_METHOD] }, args: TRANSACTION_START_ARGS },
    },
    {
      type: 'object',
      required: ['method', 'args'],
      properties: { method: { type: 'string', enum: [...REPORT_METHODS] }, args: respArgs },
    },
  ],
};

export const CASTS_BODY: SchemaObject = { oneOf: [cast, { type: 'array', items: cast, maxItems: MAX_CASTS_PER_REQUEST }] };
