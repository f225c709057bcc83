import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Brackets, Repository } from 'typeorm';
import { CSV_COLUMNS, HistoryRowDto } from './dto/history-row.dto';
import { HistoryQueryDto } from './dto/history-query.dto';
import { DeploymentHistory } from './entities/deployment-history.entity';
import { TransactionsService } from './transactions.service';

@Injectable()
export class HistoryQueryService {
  constructor(
    @InjectRepository(DeploymentHistory) private readonly history: Repository<DeploymentHistory>,
    private readonly transactions: TransactionsService,
  ) {}

  /**
   * One run's task rows, filtered, in a stable order: cluster-level rows, then `master`, then nodes
   * in numeric order; within a node by start time (pending last), then task name.
   */
  async list(transactionId: number, q: HistoryQueryDto): Promise<HistoryRowDto[]> {
    await this.transactions.find(transactionId);
    const qb = this.history
      .createQueryBuilder('h')
      .where('h.transaction_id = :tx', { tx: transactionId })
      .orderBy('h.node_id IS NULL', 'DESC')
      .addOrderBy(`h.node_id = 'master'`, 'DESC', 'NULLS LAST')
      .addOrderBy('length(h.node_id)', 'ASC')
      .addOrderBy('h.node_id', 'ASC')
      .addOrderBy('h.time_start', 'ASC', 'NULLS LAST')
      .addOrderBy('h.task_name', 'ASC');
    if (q.statuses) qb.andWhere('h.status IN (:...statuses)', { statuses: q.statuses });
    if (q.tasks_names) qb.andWhere('h.task_name IN (:...names)', { names: q.tasks_names });
    if (q.nodes) {
      const ids = q.nodes.filter((n) => n !== 'null');
      const withNull = ids.length !== q.nodes.length;
      qb.andWhere(
        new Brackets((b) => {
          if (ids.length) b.orWhere('h.node_id IN (:...nodes)', { nodes: ids });
          if (withNull) b.orWhere('h.node_id IS NULL');
        }),
      );
    }
    if (!q.include_summary) qb.select(selectWithout('h', ['summary']));
    const rows = await qb.getMany();
    return rows.map((r) => HistoryRowDto.from(r, q.include_summary === true));
  }

  /** Fuel's CSV: `task_name,node_id,status,type,time_start,time_end`. */
  toCsv(rows: HistoryRowDto[]): string {
    const lines = [CSV_COLUMNS.join(',')];
    for (const r of rows) lines.push(CSV_COLUMNS.map((c) => csvField(r[c])).join(','));
    return lines.join('\r\n') + '\r\n';
  }
}

function selectWithout(alias: string, skip: string[]): string[] {
  const all = ['id', 'transactionId', 'clusterId', 'nodeId', 'taskName', 'taskType', 'status', 'timeStart', 'timeEnd', 'errorMessage', 'closedReason', 'summary', 'custom'];
  return all.filter((c) => !skip.includes(c)).map((c) => `${alias}.${c}`);
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
