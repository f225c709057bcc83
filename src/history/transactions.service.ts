import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { ClusterLocator } from '../clusters/history-available.guard';
import { NotFoundError } from '../common/errors/domain-errors';
import { parseId } from '../common/http/id.pipe';
import { ListTransactionsQueryDto } from './dto/list-transactions-query.dto';
import { TransactionDto } from './dto/transaction.dto';
import { Transaction } from './entities/transaction.entity';

@Injectable()
export class TransactionsService implements ClusterLocator {
  constructor(@InjectRepository(Transaction) private readonly transactions: Repository<Transaction>) {}

  async list(q: ListTransactionsQueryDto): Promise<TransactionDto[]> {
    const qb = this.transactions.createQueryBuilder('t').orderBy('t.id', 'ASC');
    if (q.cluster_id !== undefined) qb.andWhere('t.cluster_id = :cluster', { cluster: q.cluster_id });
    if (q.statuses) qb.andWhere('t.status IN (:...statuses)', { statuses: q.statuses });
    if (q.transaction_types) qb.andWhere('t.name IN (:...names)', { names: q.transaction_types });
    return (await qb.getMany()).map(TransactionDto.from);
  }

  async get(id: number): Promise<TransactionDto> {
    return TransactionDto.from(await this.find(id));
  }

  async getByUuid(uuid: string): Promise<TransactionDto> {
    const t = await this.transactions.findOneBy({ uuid });
    if (!t) throw new NotFoundError('Transaction not found');
    return TransactionDto.from(t);
  }

  /** The run, or NotFoundError with Fuel's message. */
  async find(id: number): Promise<Transaction> {
    const t = await this.transactions.findOneBy({ id });
    if (!t) throw new NotFoundError('Transaction not found');
    return t;
  }

  /** ClusterLocator: the cluster of `:transaction_id`, or `:cluster_id`. */
  async locate(params: Record<string, string>) {
    if (params.cluster_id !== undefined) {
      const clusterId = parseId(params.cluster_id);
      return clusterId === null ? null : { clusterId };
    }
    const id = parseId(params.transaction_id);
    if (id === null) return null;
    const t = await this.transactions.findOne({ where: { id }, select: { id: true, clusterId: true, historyRecorded: true, release: true } });
    return t ? { clusterId: t.clusterId, run: { id: t.id, historyRecorded: t.historyRecorded, release: t.release } } : null;
  }

  /** ClusterLocator: whether any run of the cluster had its tasks recorded. */
  async hasRecordedHistory(clusterId: number): Promise<boolean> {
    return this.transactions.exists({ where: { clusterId, historyRecorded: true } });
  }
}
