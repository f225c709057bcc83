import { Injectable, Logger, Optional } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ClusterInfo, ClusterRegistry, RegisteredCluster } from '../clusters/cluster-registry';
import { describeRelease, MIN_HISTORY_VERSION } from '../clusters/release';
import { RetryableWriteError } from '../common/database/retrying-transaction';
import { HistoryPartitions } from './persistence/partitions';
import { NewRunParts, PendingRow, RunChanges, RunCreation } from './persistence/run-changes';
import { RunsRepository } from './persistence/runs.repository';
import type { CommandOutcome, RunStart, StartWarning } from './store-commands';

interface Created {
  id: number;
  rows: number;
  recorded: boolean;
  warnings: StartWarning[];
}

/** The writer's starts: creates the runs announced in a batch, with their plans (RunChanges.create: two statements). */
@Injectable()
export class RunStarts {
  private readonly logger = new Logger('HistoryWriter');

  constructor(
    private readonly clusters: ClusterRegistry,
    private readonly runs: RunsRepository,
    private readonly changes: RunChanges,
    /** Told each new run's id, to keep the history's partitions ahead of them (none in tests that wire the store by hand). */
    @Optional() private readonly partitions?: HistoryPartitions,
  ) {}

  /** Applies the starts (their index in the batch, `i`), one outcome each in `out`; `held`: the clusters the batch locked. */
  async apply(m: EntityManager, starts: Array<{ i: number; start: RunStart }>, out: CommandOutcome[], held: ClusterInfo[]): Promise<void> {
    const existing = await this.runs.idsOf(
      m,
      starts.map((s) => s.start.uuid),
    );
    const fresh = new Map<string, RunStart>();
    for (const { start } of starts) if (!existing.has(start.uuid) && !fresh.has(start.uuid)) fresh.set(start.uuid, start);
    const created = fresh.size ? await this.create(m, [...fresh.values()], held) : new Map<string, Created>();
    const seen = new Set<string>();
    for (const { i, start } of starts) {
      const made = created.get(start.uuid);
      if (made && !seen.has(start.uuid)) {
        seen.add(start.uuid);
        out[i] = {
          outcome: 'started',
          transactionId: made.id,
          clusterId: start.cluster.id,
          historyRecorded: made.recorded,
          rows: made.rows,
          warnings: made.warnings,
        };
      } else {
        out[i] = { outcome: 'duplicate', transactionId: existing.get(start.uuid) ?? made!.id };
      }
    }
  }

  private async create(m: EntityManager, runs: RunStart[], held: ClusterInfo[]): Promise<Map<string, Created>> {
    // Register clusters first (one statement, in id order, so concurrent batches lock them in the same order).
    // A release the cluster does not take (older than its own: Fuel cannot downgrade) is not applied: the
    // run is recorded on the release its cluster runs, and what the start claimed is kept beside it.
    const registered = await this.clusters.registerAll(
      m,
      runs.map((r) => r.cluster),
      held,
    );
    const recorded = registered.map((c) => this.clusters.historySupported(c.release));
    const warnings = registered.map((c, k): StartWarning[] => {
      if (!c.warning) return [];
      const tasks = recorded[k] ? 'with its tasks' : `without its tasks (before ${MIN_HISTORY_VERSION})`;
      return [{ kind: c.warning.kind, message: `${c.warning.message}; the run is recorded on ${describeRelease(c.release)}, ${tasks}` }];
    });
    for (const [k, r] of runs.entries()) {
      if (recorded[k]) continue;
      this.logger.log(
        `transaction ${r.uuid}: cluster ${r.cluster.id} runs release '${registered[k].release}' (before ${MIN_HISTORY_VERSION}); ` +
          `the run is recorded, its ${r.tasks.length} tasks are not`,
      );
    }
    // The runs, then what they hold by their ids (RunChanges.create: two statements for the whole batch).
    const inserted = await this.changes.create(m, creationOf(runs, registered, recorded));
    if (inserted.length !== runs.length) throw new RetryableWriteError('a transaction was created concurrently');
    const index = new Map(runs.map((r, k) => [r.uuid, k]));
    const created = new Map<string, Created>();
    for (const r of inserted) {
      const k = index.get(r.uuid)!;
      created.set(r.uuid, { id: r.id, rows: r.rows, recorded: recorded[k], warnings: warnings[k] });
      this.partitions?.noteRun(r.id);
    }
    await this.linkParents(m, runs, created);
    return created;
  }

  /** Links each new run to its parent; a parent that is unknown is a warning, the run is recorded without one. */
  private async linkParents(m: EntityManager, runs: RunStart[], created: Map<string, Created>): Promise<void> {
    const withParent = runs.filter((r) => r.parentUuid);
    if (!withParent.length) return;
    const found = new Set(
      await this.runs.linkParents(
        m,
        withParent.map((r) => ({ uuid: r.uuid, parent: r.parentUuid! })),
      ),
    );
    for (const r of withParent) {
      if (!found.has(r.uuid)) {
        const message = `parent transaction '${r.parentUuid}' is unknown; recorded without a parent`;
        created.get(r.uuid)!.warnings.push({ kind: 'unknown_parent', message });
      }
    }
  }
}

/** What the runs' creation writes: the runs, and the plans of those recorded (their tasks, pending until reported), their definitions, snapshots and nodes. */
function creationOf(runs: RunStart[], registered: RegisteredCluster[], recorded: boolean[]): RunCreation {
  const parts = runs.map((r, k): NewRunParts => {
    const snapshots: string[] = [];
    const snapshot = (kind: string, nodeUid: string | null, json: string) =>
      snapshots.push(`{"k":"${kind}","n":${JSON.stringify(nodeUid)},"d":${json}}`);
    // Snapshots are the run's own, kept whatever its release (unlike its tasks).
    const s = r.snapshots;
    if (s.deploymentInfo) {
      snapshot('deployment_info', null, s.deploymentInfo.common);
      for (const n of s.deploymentInfo.nodes) snapshot('deployment_info', n.uid, n.json);
    }
    if (s.settings !== undefined) snapshot('settings', null, s.settings);
    if (s.networkConfiguration !== undefined) snapshot('network_configuration', null, s.networkConfiguration);
    const nodes = r.nodes.map((n) => JSON.stringify({ n: n.uid, r: n.roles, h: n.hostname }));
    if (!recorded[k]) return { pending: [], nodeDefinitions: [], snapshots, nodes };
    return {
      pending: pendingRows(r.tasks),
      nodeDefinitions: r.nodeDefinitions.map((d) => `{"n":${JSON.stringify(d.nodeId)},"t":${JSON.stringify(d.taskName)},"d":${d.json}}`),
      snapshots,
      nodes,
    };
  });
  return {
    runs: runs.map((r, k) => ({
      uuid: r.uuid,
      cluster_id: r.cluster.id,
      name: r.name,
      graph_type: r.graphType,
      dry_run: r.dryRun,
      history_recorded: recorded[k],
      tasks_snapshot: JSON.stringify(r.snapshot),
      time: r.time,
      release: registered[k].release,
      announced_release: registered[k].announced,
    })),
    parts,
  };
}

/**
 * A run's plan: its tasks in graph order, each (node, task) once (the rows' unique key): a task listed twice
 * on a node (Astute's "null" and "" both name the cluster level) keeps its first listing, as its definition
 * does (cast.ts).
 */
function pendingRows(tasks: RunStart['tasks']): PendingRow[] {
  const seen = new Map<string | null, Set<string>>();
  const rows: PendingRow[] = [];
  for (const t of tasks) {
    let names = seen.get(t.nodeId);
    if (!names) seen.set(t.nodeId, (names = new Set()));
    if (names.has(t.taskName)) continue;
    names.add(t.taskName);
    rows.push({ node_id: t.nodeId, task_name: t.taskName, task_type: t.type });
  }
  return rows;
}
