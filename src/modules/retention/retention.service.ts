import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import type { RequestScope } from '../../request/scope.ts';
import { notFound } from '../../shared/errors.ts';
import { RETENTION_DAYS } from '../../shared/retention-days.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { Tenant } from '../tenants/index.ts';

export const TASK_RETENTION_DAYS = { ...RETENTION_DAYS.task, default: 90 } as const;

const between = `must be between ${TASK_RETENTION_DAYS.min} and ${TASK_RETENTION_DAYS.max} days`;
const taskRetentionInput = z.object({
  days: z.number().int(between).min(TASK_RETENTION_DAYS.min, between).max(TASK_RETENTION_DAYS.max, between),
});

/**
 * Owners choose how long finished tasks (and their results) are kept before the task history job
 * deletes them (1–3650 days, 90 by default). Queued and running tasks are never deleted.
 */
export async function setTaskRetention(scope: RequestScope, input: unknown): Promise<Tenant> {
  assertCan(scope.principal, 'task.retention');
  const { days } = parseInput(taskRetentionInput, input);
  const tenant = await scope.em.findOne(Tenant, {});
  if (!tenant) throw notFound('Tenant');
  const previous = tenant.taskRetentionDays;
  tenant.taskRetentionDays = days;
  recordAudit(scope, { action: 'task.retention.set', targetType: 'Tenant', targetId: tenant.id, detail: { days, previous } });
  await scope.em.flush();
  return tenant;
}
