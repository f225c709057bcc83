/** A node of a run, as the orchestrator described it when the run started (`args.nodes`, else its deployment info). */
export class RunNodeDto {
  /** The node's id (`master`, or a number as text). */
  node_id: string;
  /** Its roles in this run (`controller`, `compute`...); [] when not given. */
  roles: string[];
  /** Its host name (fqdn), or null when not given. */
  hostname: string | null;
}
