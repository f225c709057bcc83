import { TASK_STATUSES } from '../../src/history/entities/deployment-history.entity';
import { RUN_STATUSES } from '../../src/history/entities/transaction.entity';
import { RUN_STATUS_NAMES, TASK_STATUS_NAMES } from '../../src/cli/statuses';

/** The CLI's help lists the statuses as the entities define them, in their order (see src/cli/statuses.ts). */
describe('dhist status names', () => {
  it('are the entities’ task statuses', () => expect(TASK_STATUS_NAMES).toEqual([...TASK_STATUSES]));
  it('are the entities’ run statuses', () => expect(RUN_STATUS_NAMES).toEqual([...RUN_STATUSES]));
});
