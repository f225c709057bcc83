import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { RUN_STATUSES } from '../../src/history/task-state';
import { CAST_METHODS, checkMessageBytes, parseCast, ParsedCast } from '../../src/receiver/cast';
import {
  atTime,
  encodeCast,
  finishCast,
  reportCast,
  runStatusCast,
  startCast,
  taskEntry,
  TasksGraph,
} from '../../src/receiver/cast-builder';
import { MAX_PROGRESS, MAX_SNAPSHOT_BYTES, START_DEFAULTS } from '../../src/receiver/cast-format';
import { CASTS_BODY, TRANSACTION_START_ARGS } from '../../src/receiver/cast.schema';
import { MAX_CASTS_PER_REQUEST } from '../../src/receiver/casts.service';

/**
 * The cast builder writes what the parser reads, and the served schema says what the parser takes:
 * each is checked against the parser itself, not against a copy of its constants.
 */
const RECEIVED = new Date('2020-01-02T03:04:05.000Z');
const UUID = 'builder-run-1';
const GRAPH: TasksGraph = {
  '1': [
    { id: 'netconfig', type: 'puppet' },
    { id: 'hiera', type: 'puppet' },
  ],
  master: [{ id: 'upload_configuration', type: 'upload_file' }],
  null: [{ id: 'post_deployment_start', type: 'stage' }],
};

const startOf = (p: ParsedCast) => {
  if (p.command.kind !== 'start') throw new Error(`expected a start command, got ${p.command.kind}`);
  return p.command.start;
};
const reportOf = (p: ParsedCast) => {
  if (p.command.kind !== 'report') throw new Error(`expected a report command, got ${p.command.kind}`);
  return p.command;
};
const parse = (cast: unknown) => parseCast(cast, RECEIVED);

describe('cast builder: what it writes, the parser reads', () => {
  it('startCast: the run, its cluster and graph, with the defaults written out as the parser would assume them', () => {
    const cast = startCast(UUID, { id: 7, name: 'prod-east', release: 'mitaka-9.0' }, GRAPH);
    expect(cast.method).toBe('transaction_start');
    expect(cast.args).toMatchObject({ task_uuid: UUID, name: 'deployment', graph_type: 'default', dry_run: false });
    const p = parse(cast);
    expect(p.skipped).toEqual([]);
    const s = startOf(p);
    expect(s).toMatchObject({ uuid: UUID, name: 'deployment', graphType: 'default', dryRun: false, time: RECEIVED });
    expect(s.cluster).toEqual({ id: 7, name: 'prod-east', release: 'mitaka-9.0' });
    expect(s.tasks).toEqual([
      { nodeId: '1', taskName: 'netconfig', type: 'puppet' },
      { nodeId: '1', taskName: 'hiera', type: 'puppet' },
      { nodeId: 'master', taskName: 'upload_configuration', type: 'upload_file' },
      { nodeId: null, taskName: 'post_deployment_start', type: 'stage' },
    ]);
    // What the builder leaves to its defaults parses the same as a start that leaves them out.
    const bare = { method: 'transaction_start', args: { task_uuid: UUID, cluster: { id: 7, release: 'mitaka-9.0' }, tasks_graph: GRAPH } };
    expect(startOf(parse(bare))).toMatchObject({
      name: START_DEFAULTS.name,
      graphType: START_DEFAULTS.graph_type,
      dryRun: START_DEFAULTS.dry_run,
    });
  });

  it('startCast: extras (parent, time, dry run, snapshots) override and reach the parser', () => {
    const cast = startCast(UUID, { id: 7, release: 'mitaka-9.0' }, GRAPH, {
      parent_task_uuid: 'builder-run-0',
      dry_run: true,
      time: '2026-01-01T00:00:00Z',
      settings: { editable: { a: 1 } },
    });
    const p = parse(cast);
    expect(startOf(p)).toMatchObject({
      parentUuid: 'builder-run-0',
      dryRun: true,
      time: new Date('2026-01-01T00:00:00Z'),
      cluster: { id: 7, name: 'cluster-7', release: 'mitaka-9.0' },
      snapshots: { settings: '{"editable":{"a":1}}' },
    });
  });

  it("taskEntry: progress 0 while running and 100 once done unless told otherwise; Astute's raw statuses map", () => {
    expect(taskEntry('1', 'netconfig', 'running')).toEqual({
      uid: '1',
      deployment_graph_task_name: 'netconfig',
      task_status: 'running',
      progress: 0,
    });
    expect(taskEntry(null, 'deploy_start', 'ready').progress).toBe(100);
    expect(taskEntry(3, 'hiera', 'failed', { progress: 40, error_msg: 'boom' })).toMatchObject({ uid: 3, progress: 40, error_msg: 'boom' });
    const cast = reportCast(UUID, [
      taskEntry('1', 'netconfig', 'successful', { time: '2026-01-01T00:00:01Z', summary: { resources: { changed: 2 } } }),
      taskEntry(3, 'hiera', 'failed', { error_msg: 'boom', custom: { attempt: 2 } }),
      taskEntry(null, 'deploy_start', 'skipped'),
    ]);
    expect(cast.method).toBe('transaction_resp');
    const r = reportOf(parse(cast));
    expect(r.uuid).toBe(UUID);
    expect(r.run).toBeNull();
    expect(r.tasks).toEqual([
      {
        nodeId: '1',
        taskName: 'netconfig',
        status: 'ready',
        time: new Date('2026-01-01T00:00:01Z'),
        errorMessage: null,
        summary: { resources: { changed: 2 } },
        custom: null,
      },
      { nodeId: '3', taskName: 'hiera', status: 'error', time: RECEIVED, errorMessage: 'boom', summary: null, custom: { attempt: 2 } },
      { nodeId: null, taskName: 'deploy_start', status: 'skipped', time: RECEIVED, errorMessage: null, summary: null, custom: null },
    ]);
  });

  it("reportCast, runStatusCast: either report method, and the run's own status, progress and error", () => {
    const fuel9 = reportCast(UUID, [taskEntry('1', 'netconfig', 'running')], { progress: 30 }, 'deploy_resp');
    expect(parse(fuel9)).toMatchObject({ method: 'deploy_resp', uuid: UUID, command: { run: { progress: 30, time: RECEIVED } } });
    const running = runStatusCast(UUID, 'running', { progress: 0 }, 'deploy_resp');
    expect(running).toEqual({ method: 'deploy_resp', args: { task_uuid: UUID, status: 'running', progress: 0 } });
    expect(reportOf(parse(running))).toEqual({
      kind: 'report',
      uuid: UUID,
      run: { status: 'running', progress: 0, time: RECEIVED },
      tasks: [],
    });
  });

  it("finishCast: a final status with progress 100, and its error as the run's message", () => {
    const cast = finishCast(UUID, 'error', { error: 'Deployment failed', time: '2026-01-01T01:00:00Z' });
    expect(cast).toEqual({
      method: 'transaction_resp',
      args: { task_uuid: UUID, status: 'error', progress: 100, error: 'Deployment failed', time: '2026-01-01T01:00:00Z' },
    });
    expect(reportOf(parse(cast)).run).toEqual({
      status: 'error',
      progress: 100,
      message: 'Deployment failed',
      time: new Date('2026-01-01T01:00:00Z'),
    });
  });

  it('atTime: stamps the cast and each task report without a time of its own; a node-level entry gets none', () => {
    const t = '2026-02-03T04:05:06.000Z';
    const own = '2026-02-03T04:00:00.000Z';
    const cast = reportCast(UUID, [
      taskEntry('1', 'netconfig', 'ready'),
      taskEntry('2', 'netconfig', 'ready', { time: own }),
      { uid: '1', status: 'ready', progress: 100 },
    ]);
    const stamped = atTime(cast, t);
    expect(stamped.args.time).toBe(t);
    expect(stamped.args.nodes).toEqual([
      { ...taskEntry('1', 'netconfig', 'ready'), time: t },
      taskEntry('2', 'netconfig', 'ready', { time: own }),
      { uid: '1', status: 'ready', progress: 100 },
    ]);
    expect(cast.args.time).toBeUndefined(); // the original is left as it was
    expect(reportOf(parse(stamped)).tasks.map((x) => x.time.toISOString())).toEqual([t, own]);
    const start = atTime(startCast(UUID, { id: 1, release: 'mitaka-9.0' }, {}), t);
    expect(startOf(parse(start)).time).toEqual(new Date(t));
  });

  it('encodeCast: the message body as the bus carries it, which the consumer takes and parses back', () => {
    const cast = finishCast(UUID, 'ready');
    const body = encodeCast(cast);
    expect(body.toString('utf8')).toBe(JSON.stringify(cast));
    expect(() => checkMessageBytes(body)).not.toThrow();
    expect(parse(JSON.parse(body.toString('utf8')))).toMatchObject({ method: 'transaction_resp', uuid: UUID });
  });
});

/** The schema's parts, found by path in the served body schema. */
const castSchemas = (CASTS_BODY.oneOf![0] as SchemaObject).oneOf as SchemaObject[];
const methodEnum = (s: SchemaObject) => ((s.properties!.method as SchemaObject).enum ?? []) as string[];
const startSchema = castSchemas.find((s) => methodEnum(s).includes('transaction_start'))!;
const respSchema = castSchemas.find((s) => methodEnum(s).includes('transaction_resp'))!;
const respArgs = respSchema.properties!.args as SchemaObject;
const prop = (s: SchemaObject, name: string) => s.properties![name] as SchemaObject;
const nodeEntry = prop(respArgs, 'nodes').items as SchemaObject;

describe('cast schema: says what the parser takes', () => {
  it("its methods are exactly the parser's, each parsed", () => {
    const methods = castSchemas.flatMap(methodEnum);
    expect([...methods].sort()).toEqual([...CAST_METHODS].sort());
    expect(startSchema.properties!.args).toBe(TRANSACTION_START_ARGS);
    for (const m of methodEnum(respSchema)) expect(parse({ method: m, args: { task_uuid: UUID } }).method).toBe(m);
  });

  it('every task_status it lists gives a task report; one it does not list is skipped', () => {
    const statuses = prop(nodeEntry, 'task_status').enum as string[];
    expect(statuses.length).toBeGreaterThan(0);
    for (const s of statuses) {
      const p = parse(reportCast(UUID, [taskEntry('1', 'netconfig', s)]));
      expect({ s, skipped: p.skipped, tasks: reportOf(p).tasks.length }).toEqual({ s, skipped: [], tasks: 1 });
    }
    expect(parse(reportCast(UUID, [taskEntry('1', 'netconfig', 'exploded')])).skipped).toHaveLength(1);
  });

  it('every run status it lists is taken, one it does not list is skipped; progress is taken from its minimum to its maximum only', () => {
    const statuses = prop(respArgs, 'status').enum as string[];
    expect(statuses).toEqual([...RUN_STATUSES]);
    for (const s of statuses)
      expect(reportOf(parse({ method: 'transaction_resp', args: { task_uuid: UUID, status: s } })).run?.status).toBe(s);
    expect(parse({ method: 'transaction_resp', args: { task_uuid: UUID, status: 'banana' } }).skipped).toHaveLength(1);
    const { minimum, maximum } = prop(respArgs, 'progress');
    expect([minimum, maximum]).toEqual([0, MAX_PROGRESS]);
    const progress = (v: number) => parse(runStatusCast(UUID, 'running', { progress: v }));
    expect(reportOf(progress(minimum!)).run?.progress).toBe(minimum);
    expect(reportOf(progress(maximum!)).run?.progress).toBe(maximum);
    expect(progress(minimum! - 1).skipped.map((s) => s.entry)).toEqual(['progress']);
    expect(progress(maximum! + 1).skipped.map((s) => s.entry)).toEqual(['progress']);
  });

  it("its start defaults are what the parser assumes, and its limits are the parser's", () => {
    const bare = startOf(parse({ method: 'transaction_start', args: { task_uuid: UUID, cluster: { id: 1, release: 'mitaka-9.0' } } }));
    expect(prop(TRANSACTION_START_ARGS, 'name').default).toBe(bare.name);
    expect(prop(TRANSACTION_START_ARGS, 'graph_type').default).toBe(bare.graphType);
    expect(prop(TRANSACTION_START_ARGS, 'dry_run').default).toBe(bare.dryRun);
    expect((CASTS_BODY.oneOf![1] as SchemaObject).maxItems).toBe(MAX_CASTS_PER_REQUEST);
    for (const k of ['deployment_info', 'settings', 'network_configuration'])
      expect(prop(TRANSACTION_START_ARGS, k).description).toContain(`up to ${MAX_SNAPSHOT_BYTES / 2 ** 20} MB of JSON`);
  });
});
