import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Queryable, selectRows } from '../../common/database/sql';
import { nodeOrderSql } from '../../common/node-order';

/** A node of a run as its start described it (run_nodes). */
export interface RunNodeRow {
  transaction_id: number;
  node_id: string;
  roles: string[];
  hostname: string | null;
}

/** Who the runs' nodes were (run_nodes, written with the runs by run-changes.ts). */
@Injectable()
export class RunNodesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** The nodes of the runs `ids`, by run then in node order (src/common/node-order.ts). */
  ofRuns(ids: readonly number[], m: Queryable = this.db): Promise<RunNodeRow[]> {
    return selectRows(
      m,
      `SELECT transaction_id, node_id, roles, hostname FROM run_nodes
       WHERE transaction_id = ANY($1::int[]) ORDER BY transaction_id, ${nodeOrderSql('node_id')}`,
      [ids],
    );
  }

  /** One run's nodes' roles, keyed by node id: what task-graph.ts resolves role selectors against. */
  async rolesOf(transactionId: number, m: Queryable = this.db): Promise<Map<string, string[]>> {
    const rows = await this.ofRuns([transactionId], m);
    return new Map(rows.map((r) => [r.node_id, r.roles]));
  }
}
