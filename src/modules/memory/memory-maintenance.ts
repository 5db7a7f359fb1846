import type { MikroORM } from '@mikro-orm/postgresql';
import { forkForOperator, forkForTenant } from '../../db/request-scope.ts';
import type { Logger } from '../../shared/logger.ts';

export interface MaintenanceResult {
  tenants: number;
  expiredEntries: number;
  purgedAgents: number;
  purgedEntries: number;
}

/**
 * Removes expired memory entries and purges the memory rows of deleted agents whose retention
 * window has passed. It finds due tenants through `memory_maintenance_tenants()` (owner-only,
 * returns tenant ids alone) and does the work under each tenant's RLS setting. `now` is a
 * parameter so tests can move the clock.
 */
export async function runMemoryMaintenance(orm: MikroORM, now: Date = new Date()): Promise<MaintenanceResult> {
  const due = await forkForOperator(orm).transactional((tx) =>
    tx.execute<{ tenant_id: string }[]>('select tenant_id from memory_maintenance_tenants(?)', [now]),
  );
  const result: MaintenanceResult = { tenants: due.length, expiredEntries: 0, purgedAgents: 0, purgedEntries: 0 };
  for (const { tenant_id: tenantId } of due) {
    await forkForTenant(orm, tenantId).transactional(async (tx) => {
      const expired = await tx.execute('delete from agent_memory where expires_at <= ?', [now], 'run');
      const purges = await tx.execute<{ agent_id: string }[]>('delete from memory_purges where purge_after <= ? returning agent_id', [now]);
      const agents = purges.map((row) => row.agent_id);
      const purged = agents.length > 0 ? await tx.execute('delete from agent_memory where agent_id in (?)', [agents], 'run') : undefined;
      result.expiredEntries += Number((expired as { affectedRows?: number }).affectedRows ?? 0);
      result.purgedAgents += agents.length;
      result.purgedEntries += Number((purged as { affectedRows?: number } | undefined)?.affectedRows ?? 0);
    });
  }
  return result;
}

/** Runs the maintenance at start and then periodically, one run at a time. */
export class MemoryMaintenance {
  readonly #orm: MikroORM;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(orm: MikroORM, log: Logger) {
    this.#orm = orm;
    this.#log = log.child({ component: 'memory-maintenance' });
  }

  start(intervalMs: number): void {
    this.#tick();
    if (intervalMs > 0) this.#timer = setInterval(() => this.#tick(), intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  #tick(): void {
    this.#running = this.#running
      .then(async () => {
        const result = await runMemoryMaintenance(this.#orm);
        if (result.tenants > 0) this.#log.info(result, 'memory maintenance');
      })
      .catch((error) => this.#log.error({ err: error }, 'memory maintenance failed'));
  }
}
