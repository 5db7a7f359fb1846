import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { selectRow, selectRows } from '../../db/rows.ts';

/**
 * The retention module's raw SQL: the task history purge (purge_task_history and
 * task_history_tenants, migrations/functions/retention.sql). The purge runs under the tenant's own
 * setting; the listing across tenants is owner-only and answers tenant ids alone.
 */

const purgedRow = z.object({ deleted: z.number().nullable(), days: z.number().nullable() });

/** Deletes at most `batch` of the tenant's finished tasks past its retention; how many, and the retention in days. */
export async function purgeTaskHistory(
  em: EntityManager,
  tenantId: string,
  batch: number,
): Promise<{ deleted: number; days: number | null }> {
  const row = await selectRow(
    em,
    purgedRow,
    'select purge_task_history(?::uuid, ?)::int as deleted, (select task_retention_days from tenants where id = ?::uuid) as days',
    [tenantId, batch, tenantId],
  );
  return { deleted: row?.deleted ?? 0, days: row?.days ?? null };
}

const tenantIdRow = z.object({ tenant_id: z.string() });

/** The tenants, in both tiers, with finished tasks past their retention. */
export async function taskHistoryTenants(em: EntityManager): Promise<string[]> {
  const rows = await selectRows(em, tenantIdRow, 'select tenant_id from task_history_tenants()');
  return rows.map((row) => row.tenant_id);
}
