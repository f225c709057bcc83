import { Injectable, MessageEvent } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { interval, Observable, throttleTime } from 'rxjs';
import { DataSource } from 'typeorm';
import { HistoryRowDto } from './dto/history-row.dto';
import { TransactionDto } from './dto/transaction.dto';
import { HistoryEvents } from './history-events.service';
import { selectRows } from './history-rows';
import { isFinalRun } from './task-state';
import { TransactionsService } from './transactions.service';

const HEARTBEAT_MS = 15_000;
const AT_MOST_EVERY_MS = 200;

/**
 * The live view of a run (Server-Sent Events): first its rows, then only the rows that changed, each
 * time a commit touches the run, with the run's status when it changes; `end` once the run is over.
 * Each message's id is the highest row version sent, so a reconnecting client (Last-Event-ID) resumes.
 */
@Injectable()
export class LiveHistoryService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly transactions: TransactionsService,
    private readonly events: HistoryEvents,
  ) {}

  async stream(transactionId: number, since: string | undefined): Promise<Observable<MessageEvent>> {
    await this.transactions.find(transactionId);
    // Listen before the first read: a change committed between the two would otherwise go unheard.
    await this.events.listening();
    return new Observable<MessageEvent>((out) => {
      let seen = since ?? '0';
      let lastRun = '';
      let busy = false;
      let again = false;
      let done = false;
      const refresh = async (): Promise<void> => {
        if (busy) {
          again = true;
          return;
        }
        busy = true;
        try {
          do {
            again = false;
            const run = TransactionDto.from(await this.transactions.find(transactionId));
            const rows = await selectRows(this.db.manager, { transactionId }, {}, { order: 'run', includeSummary: true, aboveVersion: seen });
            if (rows.length) {
              seen = rows.reduce((max, r) => (BigInt(r.row_version) > BigInt(max) ? r.row_version : max), seen);
              out.next({ type: 'rows', id: seen, data: rows.map((r) => HistoryRowDto.from(r, true)) });
            }
            const runJson = JSON.stringify(run);
            if (runJson !== lastRun) {
              lastRun = runJson;
              out.next({ type: 'transaction', id: seen, data: run });
            }
            if (isFinalRun(run.status) && !again) {
              done = true;
              out.next({ type: 'end', id: seen, data: run });
              out.complete();
            }
          } while (again && !done);
        } catch (e) {
          out.error(e);
        } finally {
          busy = false;
        }
      };
      void refresh();
      const changes = this.events
        .runChanged(transactionId)
        .pipe(throttleTime(AT_MOST_EVERY_MS, undefined, { leading: true, trailing: true }))
        .subscribe(() => void refresh());
      const heartbeat = interval(HEARTBEAT_MS).subscribe(() => out.next({ type: 'heartbeat', data: {} }));
      return () => {
        done = true;
        changes.unsubscribe();
        heartbeat.unsubscribe();
      };
    });
  }
}
