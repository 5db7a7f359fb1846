import { defineEntity, p } from '@mikro-orm/core';
import { tenantFilter } from '../../db/tenant-filter.ts';

export const TASK_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT'] as const;

const TaskSchema = defineEntity({
  name: 'Task',
  tableName: 'tasks',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    agentId: p.uuid(),
    input: p.text(),
    status: p.enum(TASK_STATUSES).default('QUEUED'),
    /** Set by the agent over its channel. */
    result: p.text().nullable(),
    /** The actor that queued it, `USER:<id>` or `API_KEY:<id>`. */
    createdBy: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    /** Not answered by then: TIMED_OUT (see task-timeouts.ts). */
    deadline: p.datetime().nullable(),
  },
});

export class Task extends TaskSchema.class {}
TaskSchema.setClass(Task);
