import { ApiProperty } from '@nestjs/swagger';
import { RUN_STATUSES, TASK_STATUSES } from '../task-state';

/*
 * A status field of an answer, described in the OpenAPI document from the state machine's lists, in their
 * order. Left to the Swagger plugin, a status type became an enum in whatever order the compiler met its
 * literals ('error' first after an unrelated change), and the page's generated types changed with it.
 */

/** A task's status (TASK_STATUSES). */
export const ApiTaskStatus = (): PropertyDecorator => ApiProperty({ enum: TASK_STATUSES });

/** A run's status (RUN_STATUSES). */
export const ApiRunStatus = (): PropertyDecorator => ApiProperty({ enum: RUN_STATUSES });
