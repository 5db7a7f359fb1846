import type { MikroORM } from '@mikro-orm/postgresql';
import { forkForOperator, forkForTenant } from '../../db/request-scope.ts';
import { newId } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';
import { PeriodicJob } from '../../shared/periodic-job.ts';
import { AuditEvent } from '../audit/index.ts';
import { purgeTaskHistory, taskHistoryTenants } from './retention.store.ts';

export interface TaskHistoryDeps {
  orm: MikroORM;
  log: Logger;
}

export interface TaskHistoryOutcome {
  tenantId: string;
  deleted: number;
}

/** Finished tasks deleted per transaction (purge_task_history's limit): short transactions, whatever the history's length. */
export const TASK_PURGE_BATCH = 5_000;

/**
 * Deletes one tenant's finished tasks older than its `task_retention_days`, a batch per transaction
 * under the tenant's own setting, until a batch comes back short: `purge_task_history()`
 * (migrations/functions/retention.sql) decides what goes, in the tier that holds the tenant's rows, and never
 * touches a queued or running task. Each batch that deleted something records a `task.history.purge`
 * event in the tenant's audit log in the same transaction, so a run stopped halfway is audited as far
 * as it went.
 */
export async function applyTaskHistoryRetention(
  deps: TaskHistoryDeps,
  tenantId: string,
  batch: number = TASK_PURGE_BATCH,
): Promise<TaskHistoryOutcome> {
  let total = 0;
  for (;;) {
    const deleted = await purgeBatch(deps, tenantId, batch);
    total += deleted;
    if (deleted < batch) break;
  }
  if (total > 0) deps.log.info({ component: 'task-retention', tenantId, deleted: total }, 'finished tasks deleted after their retention');
  return { tenantId, deleted: total };
}

function purgeBatch(deps: TaskHistoryDeps, tenantId: string, batch: number): Promise<number> {
  return forkForTenant(deps.orm, tenantId).transactional(async (em) => {
    const { deleted, days } = await purgeTaskHistory(em, tenantId, batch);
    if (deleted > 0) {
      em.create(AuditEvent, {
        id: newId(),
        tenantId,
        actorType: 'SYSTEM',
        actorId: 'task-retention',
        action: 'task.history.purge',
        targetType: 'Tenant',
        targetId: tenantId,
        outcome: 'SUCCESS',
        requestId: null,
        detail: { deleted, retentionDays: days },
      });
      await em.flush();
    }
    return deleted;
  });
}

/**
 * The task history job: the tenants with something to delete come from `task_history_tenants()`
 * (owner-only, ids only, both tiers), then each in its own transaction; one tenant's failure is
 * logged and does not stop the others.
 */
export async function runTaskHistoryRetention(deps: TaskHistoryDeps): Promise<TaskHistoryOutcome[]> {
  const due = await forkForOperator(deps.orm).transactional((em) => taskHistoryTenants(em));
  const outcomes: TaskHistoryOutcome[] = [];
  for (const tenantId of due) {
    try {
      outcomes.push(await applyTaskHistoryRetention(deps, tenantId));
    } catch (error) {
      deps.log.error({ err: error, component: 'task-retention', tenantId }, 'task history retention failed');
    }
  }
  return outcomes;
}

/** The task history job at start and then periodically (see PeriodicJob). */
export function taskHistoryRetentionJob(orm: MikroORM, log: Logger): PeriodicJob {
  const deps = { orm, log: log.child({ component: 'task-retention' }) };
  return new PeriodicJob('task history retention', deps.log, async () => {
    await runTaskHistoryRetention(deps);
  });
}
