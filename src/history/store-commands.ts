import type { ClusterInfo, ReleaseWarningKind } from '../clusters/cluster-registry';
import type { RunStatus, TaskReport } from './task-state';
import type { RunReport } from './run-state';

/**
 * What the store is asked to do, and what it answers: the commands the receiver builds from the wire
 * format (src/receiver/cast.ts) and the history writer applies. The store knows nothing of the wire format.
 */

/** A run announced by its orchestrator, with the (node, task) pairs it will execute. */
export interface RunStart {
  uuid: string;
  name: string;
  graphType: string;
  dryRun: boolean;
  cluster: ClusterInfo;
  parentUuid: string | null;
  time: Date;
  tasks: Array<{ nodeId: string | null; taskName: string; type: string | null }>;
  /** Graph definition per task name: the one most of the task's nodes share. */
  snapshot: Record<string, Record<string, unknown>>;
  /** The definitions (JSON texts) of nodes whose own differs from `snapshot`'s (node null: cluster-level). */
  nodeDefinitions: Array<{ nodeId: string | null; taskName: string; json: string }>;
  /** What the run was deployed with, when its start said. */
  snapshots: RunSnapshots;
  /** Who the run's nodes are, where its start said. */
  nodes: RunNode[];
}

/** A node of a run: its roles (resolving a graph's role selectors, grouping statistics) and its host name. */
export interface RunNode {
  uid: string;
  roles: string[];
  hostname: string | null;
}

/** What a run was deployed with, each as JSON text (checked and size-limited where it came in), kept as given. */
export interface RunSnapshots {
  /** What every node shares (`{}` when nothing was given apart), and each node's own, by node uid. */
  deploymentInfo?: { common: string; nodes: Array<{ uid: string; json: string }> };
  settings?: string;
  networkConfiguration?: string;
}

export interface NodeTaskReport extends TaskReport {
  nodeId: string | null;
  taskName: string;
}

/** What the store is asked to do; it knows nothing of the wire format these came in. */
export type StoreCommand =
  { kind: 'start'; start: RunStart } | { kind: 'report'; uuid: string; run: RunReport | null; tasks: NodeTaskReport[] };

/** Something about a start that was applied anyway but deserves the operator's eye; `kind` is bounded (metrics). */
export interface StartWarning {
  kind: ReleaseWarningKind | 'unknown_parent';
  message: string;
}

export type CommandOutcome =
  | { outcome: 'started'; transactionId: number; clusterId: number; historyRecorded: boolean; rows: number; warnings: StartWarning[] }
  | { outcome: 'duplicate'; transactionId: number }
  | { outcome: 'applied'; transactionId: number; historyRecorded: boolean; tasks: number; runStatus: RunStatus }
  | { outcome: 'unknown_transaction'; reason: string };
