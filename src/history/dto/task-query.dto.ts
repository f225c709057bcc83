import { IsNotEmpty, IsString } from 'class-validator';

/**
 * One task named in the query rather than in the path. A path segment `.` or `..` is resolved away by
 * browsers and Node's fetch, percent-encoded (`%2E%2E`) or not, as the WHATWG URL standard says (curl too,
 * unencoded): `.../deployment_history/1/..` reaches the run's list, never a task named `..`.
 */
export class TaskQueryDto {
  /** A node id, `master`, or `null` for a cluster-level task. */
  @IsString({ message: 'node_id must be given once: a node id, master, or null for a cluster-level task' })
  @IsNotEmpty({ message: 'node_id must be given once: a node id, master, or null for a cluster-level task' })
  node_id: string;

  /** The task's name, as the run's graph gives it. */
  @IsString({ message: "task_name must be given once: the task's name" })
  @IsNotEmpty({ message: "task_name must be given once: the task's name" })
  task_name: string;
}
