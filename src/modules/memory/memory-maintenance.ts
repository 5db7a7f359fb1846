import type { MikroORM } from '@mikro-orm/postgresql';
import { forkForOperator, forkForTenant } from '../../db/request-scope.ts';
import type { Logger } from '../../shared/logger.ts';
import { PeriodicJob } from '../../shared/periodic-job.ts';
import { expireAndPurge, maintenanceTenants } from './memory.store.ts';

export interface MaintenanceResult {
  tenants: number;
  /** Tenants whose maintenance failed (logged, rolled back, tried again next run). */
  failedTenants: number;
  expiredEntries: number;
  purgedAgents: number;
  purgedEntries: number;
}

/**
 * Removes expired memory entries and purges the memory rows of deleted agents whose retention
 * window has passed. It finds due tenants through `memory_maintenance_tenants()` (owner-only,
 * returns tenant ids alone) and does the work under each tenant's RLS setting, one transaction per
 * tenant: one tenant's failure is logged and does not stop the others. `now` is a parameter so tests
 * can move the clock.
 */
export async function runMemoryMaintenance(orm: MikroORM, now: Date = new Date(), log?: Logger): Promise<MaintenanceResult> {
  const due = await forkForOperator(orm).transactional((tx) => maintenanceTenants(tx, now));
  const result: MaintenanceResult = { tenants: due.length, failedTenants: 0, expiredEntries: 0, purgedAgents: 0, purgedEntries: 0 };
  for (const tenantId of due) {
    try {
      const done = await forkForTenant(orm, tenantId).transactional((tx) => expireAndPurge(tx, now));
      result.expiredEntries += done.expiredEntries;
      result.purgedAgents += done.purgedAgents;
      result.purgedEntries += done.purgedEntries;
    } catch (error) {
      result.failedTenants++;
      log?.error({ err: error, tenantId }, 'memory maintenance failed for a tenant');
    }
  }
  return result;
}

/** The maintenance at start and then periodically (see PeriodicJob). */
export function memoryMaintenanceJob(orm: MikroORM, log: Logger): PeriodicJob {
  const jobLog = log.child({ component: 'memory-maintenance' });
  return new PeriodicJob('memory maintenance', jobLog, async () => {
    const result = await runMemoryMaintenance(orm, new Date(), jobLog);
    if (result.tenants > 0) jobLog.info(result, 'memory maintenance');
  });
}
