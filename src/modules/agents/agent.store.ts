import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { selectRow } from '../../db/rows.ts';
import { SANDBOX_LEVELS } from '../provisioning/container-runtime.ts';

/**
 * The agents module's raw SQL: what a create or an update reads of its tenant (plan sandbox level,
 * quotas, usage) in the request's transaction, under its RLS setting. On the path of createAgent and
 * of updates that change resources or the sandbox (one to three small rows each, shapes built once
 * here: parsing one costs well under a microsecond); the hot read and the lean update
 * (`db/pagination.ts`, `db/lean-update.ts`) run no statement of this store and parse nothing.
 */

const sandboxRow = z.object({ sandbox: z.enum(SANDBOX_LEVELS).nullable() });

/** The tenant's plan sandbox level (null: none set); undefined when the tenant is not visible. */
export async function tenantSandbox(em: EntityManager, tenantId: string): Promise<z.output<typeof sandboxRow> | undefined> {
  return selectRow(em, sandboxRow, 'select sandbox from tenants where id = ?', [tenantId]);
}

/** Serialises quota checks of one tenant until the transaction ends (pg_advisory_xact_lock). */
export async function lockTenantQuota(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute("select pg_advisory_xact_lock(hashtextextended('fleetgate.quota:' || ?, 0))", [tenantId]);
}

const usageRow = z.object({ agents: z.number(), memory_mb: z.number(), cpu_millis: z.number(), disk_mb: z.number() });

/** What the tenant's agents (by RLS) use: their number, memory, CPU, and workspace disk (made size, else the tenant's). */
export function tenantUsage(em: EntityManager): Promise<z.output<typeof usageRow> | undefined> {
  return selectRow(
    em,
    usageRow,
    `select count(*)::int as agents, coalesce(sum(a.memory_mb), 0)::int as memory_mb, coalesce(sum(a.cpu_millis), 0)::int as cpu_millis,
            coalesce(sum(coalesce(a.workspace_mb, t.workspace_mb)), 0)::int as disk_mb
       from agents a join tenants t on t.id = a.tenant_id`,
  );
}

const quotaRow = z.object({
  max_agents: z.number(),
  max_memory_mb: z.number(),
  max_cpu_millis: z.number(),
  max_disk_mb: z.number(),
  workspace_mb: z.number(),
});

/** The tenant's quotas (set by operators) and the size of a new agent's workspace. */
export function tenantQuota(em: EntityManager, tenantId: string): Promise<z.output<typeof quotaRow> | undefined> {
  return selectRow(em, quotaRow, 'select max_agents, max_memory_mb, max_cpu_millis, max_disk_mb, workspace_mb from tenants where id = ?', [
    tenantId,
  ]);
}
