import { CanActivate, Controller, Delete, ExecutionContext, Get, Injectable, Post, Put, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request } from 'express';
import { NotFoundError, NotServedError } from '../common/errors/domain-errors';

/**
 * What fuel2's `env` and `graph` commands ask of Nailgun that this service does not do, and the answer
 * that says what it does instead (fuel2 prints an error body's `message`): a write it never makes is a
 * 405 with `Allow` (the methods it does serve there), a read of something it does not keep a 404.
 * Without these routes the answer was a bare 404 `Cannot DELETE ...`, which reads as "no such environment".
 */
interface Refusal {
  status: 404 | 405;
  /** For a 405: the methods served on that path (none where this service has no such resource). */
  allowed?: string[];
  /** The message, given the `:cluster_id` of the path as it may be shown (`<id>` when it is not a number). */
  message: (clusterId: string) => string;
}

const RUNS_NO_DEPLOYMENT: Refusal = {
  status: 405,
  allowed: [],
  message: (id) =>
    'This service does not run deployments: it records them. Deploy, redeploy, stop, provision and assign nodes on the ' +
    'Fuel master (or your orchestrator); the runs it reports are listed at ' +
    `GET /api/v1/transactions/?cluster_id=${id} (fuel2 task list -e ${id})`,
};

const HOLDS_NO_CONFIGURATION: Refusal = {
  status: 405,
  allowed: [],
  message: () =>
    'This service holds no environment configuration (settings, networks, deployment facts): it records the deployments an ' +
    'orchestrator runs. What a run was started with, when its start carried it, is kept with the run: GET ' +
    '/api/v1/transactions/<id>/settings, /network_configuration, /deployment_info (fuel2 task settings download <id>...)',
};

const GRAPHS_MESSAGE =
  'This service keeps no deployment graphs: it records the runs an orchestrator sends, each with the graph it ran. ' +
  'The graph each run ran is in its history, task by task: fuel2 task history show <id> -p ' +
  '(GET /api/v1/transactions/<id>/deployment_history/)';
const KEEPS_NO_GRAPHS_READ: Refusal = { status: 404, message: () => GRAPHS_MESSAGE };
const KEEPS_NO_GRAPHS_WRITE: Refusal = { status: 405, allowed: [], message: () => GRAPHS_MESSAGE };

/** The graphs of a cluster, a release or a plugin, as Nailgun 10 served them (fuel2 graph list, upload, delete). */
const GRAPH_MODELS = ['clusters/:cluster_id', 'releases/:release_id', 'plugins/:plugin_id'];
const GRAPH_LISTS = GRAPH_MODELS.map((m) => `${m}/deployment_graphs`);
const GRAPHS = GRAPH_MODELS.map((m) => `${m}/deployment_graphs/:graph_type`);
/** A cluster's graph tasks, merged or by origin (fuel2 graph download). */
const TASK_LISTS = ['', '/own', '/plugins', '/release'].map((p) => `clusters/:cluster_id/deployment_tasks${p}`);

const NOT_SERVED = 'deployment-history:not-served';
const NotServed = (refusal: Refusal) => SetMetadata(NOT_SERVED, refusal);

/**
 * Answers a route marked @NotServed() with its refusal. A guard, so that the refusal comes after
 * authentication (the global AuthGuard runs first: writes still need an admin token) and before anything
 * else: the query rule (fuel2 sends `?force=1`, `?nodes=1,2`...: the refusal is what the operator needs to
 * read, not a 400 on a parameter) and the body, which is never read.
 */
@Injectable()
export class NotServedGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const refusal = this.reflector.get<Refusal | undefined>(NOT_SERVED, context.getHandler());
    if (!refusal) return true;
    const raw = context.switchToHttp().getRequest<Request>().params.cluster_id;
    // Echoed only when it is a plain number: the path is the caller's text.
    const message = refusal.message(typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? raw : '<id>');
    throw refusal.status === 405 ? new NotServedError(message, refusal.allowed ?? []) : new NotFoundError(message);
  }
}

/**
 * Raised if a route below were ever reached without its guard: a 500 in the log rather than a silent 200.
 * Its own class: a bare Error without a code is taken for the database driver's (db-errors.ts), a 503.
 */
class UnguardedRouteError extends Error {}
const unguarded = () => new UnguardedRouteError('NotServedGuard answers the routes of NailgunNotServedController');

/**
 * The routes of Nailgun that fuel2's `env` and `graph` commands call and this service does not serve.
 * Each handler only carries its route: NotServedGuard answers it from the route's @NotServed().
 * Kept out of the API document (they are not this service's API); the README lists them under "Using fuel2".
 */
@ApiExcludeController()
@UseGuards(NotServedGuard)
@Controller()
export class NailgunNotServedController {
  /** fuel2 env create. */
  @Post('clusters')
  @NotServed({
    status: 405,
    allowed: ['GET'],
    message: () =>
      'This service does not create environments: it records the deployments an orchestrator runs. A cluster is registered ' +
      'by the first run that names it (transaction_start), or with PUT /api/v1/clusters/<id> {"name", "release"}',
  })
  createEnvironment(): never {
    throw unguarded();
  }

  /** fuel2 env delete (after reading the status: an `operational` environment needs -f). */
  @Delete('clusters/:cluster_id')
  @NotServed({
    status: 405,
    allowed: ['GET', 'PUT'],
    message: (id) =>
      'This service does not delete environments: it keeps their deployment history. To remove history: ' +
      `DELETE /api/v1/clusters/${id}/deployment_history?before=<ISO time> (whole finished runs), or POST /api/v1/retention`,
  })
  deleteEnvironment(): never {
    throw unguarded();
  }

  /** fuel2 env reset [-f]: Nailgun's reset undeployed the environment; ours starts a new epoch of its history. */
  @Put('clusters/:cluster_id/reset')
  @NotServed({
    status: 405,
    allowed: ['POST'],
    message: (id) =>
      'This service resets no environment (it runs no deployment). ' +
      `POST /api/v1/clusters/${id}/reset starts a new epoch of the cluster's history: its current state empties, ` +
      `its history is kept (dhist env reset ${id})`,
  })
  resetEnvironment(): never {
    throw unguarded();
  }

  /** fuel2 env deploy, redeploy, stop-deployment, nodes deploy|provision, spawn-vms. */
  @Put(['changes', 'changes/redeploy', 'stop_deployment', 'deploy', 'provision', 'spawn_vms'].map((p) => `clusters/:cluster_id/${p}`))
  @NotServed(RUNS_NO_DEPLOYMENT)
  deploy(): never {
    throw unguarded();
  }

  /** fuel2 env add|remove nodes. */
  @Post(['clusters/:cluster_id/assignment', 'clusters/:cluster_id/unassignment'])
  @NotServed(RUNS_NO_DEPLOYMENT)
  assignNodes(): never {
    throw unguarded();
  }

  /** fuel2 env settings|network upload, network verify, deployment-facts|provisioning-facts upload. */
  @Put([
    'clusters/:cluster_id/attributes',
    'clusters/:cluster_id/network_configuration/neutron',
    'clusters/:cluster_id/network_configuration/neutron/verify',
    'clusters/:cluster_id/orchestrator/:fact_type',
  ])
  @NotServed(HOLDS_NO_CONFIGURATION)
  uploadConfiguration(): never {
    throw unguarded();
  }

  /** fuel2 env deployment-facts|provisioning-facts delete. */
  @Delete('clusters/:cluster_id/orchestrator/:fact_type')
  @NotServed(HOLDS_NO_CONFIGURATION)
  deleteFacts(): never {
    throw unguarded();
  }

  /** fuel2 graph list (-e: after reading the cluster's release_id), graph download. */
  @Get(['graphs', ...GRAPH_LISTS, ...GRAPHS, ...TASK_LISTS])
  @NotServed(KEEPS_NO_GRAPHS_READ)
  listGraphs(): never {
    throw unguarded();
  }

  /** fuel2 graph upload (a GET, then a POST for a new graph), graph execute. */
  @Post([...GRAPHS, 'graphs/execute'])
  @NotServed(KEEPS_NO_GRAPHS_WRITE)
  createGraph(): never {
    throw unguarded();
  }

  /** fuel2 graph upload of a graph that exists. */
  @Put(GRAPHS)
  @NotServed(KEEPS_NO_GRAPHS_WRITE)
  updateGraph(): never {
    throw unguarded();
  }

  /** fuel2 graph delete. */
  @Delete(GRAPHS)
  @NotServed(KEEPS_NO_GRAPHS_WRITE)
  deleteGraph(): never {
    throw unguarded();
  }
}
