import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { selectRow, selectRows } from '../../db/rows.ts';
import { refusalAsConflict } from '../../shared/errors.ts';

/**
 * The enterprise module's raw SQL: the tier's database functions (provision_tenant_schema,
 * upgrade_tenant_to_enterprise, migrations/functions/enterprise.sql; tenant_backup_tables and
 * restore_tenant_rows, migrations/functions/backups.sql) and the backup's reads of a tenant's rows.
 * Each runs in the transaction it is handed; the callers choose it.
 */

const schemaRow = z.object({ schema: z.string() });

/** provision_tenant_schema: creates the enterprise tenant's own schema; its name. */
export async function provisionTenantSchema(em: EntityManager, tenantId: string): Promise<string | undefined> {
  return (await selectRow(em, schemaRow, 'select provision_tenant_schema(?) as schema', [tenantId]))?.schema;
}

/** Rows and checksum of one table, identical before and after the move (else nothing moved). */
const moveReport = z.record(z.string(), z.object({ rows: z.number(), md5: z.string() }));
export type MoveReport = z.output<typeof moveReport>;

const movedRow = z.object({ moved: moveReport });

/** upgrade_tenant_to_enterprise: moves the tenant's rows into its new schema, verified; its refusals become CONFLICT. */
export async function upgradeToEnterprise(em: EntityManager, tenantId: string): Promise<MoveReport> {
  const row = await selectRow(em, movedRow, 'select upgrade_tenant_to_enterprise(?) as moved', [tenantId]).catch(
    refusalAsConflict('upgrade_tenant_to_enterprise'),
  );
  return row?.moved ?? {};
}

const tableRow = z.object({ t: z.string() });

/** The tables a tenant backup reads (tenant_backup_tables: every tenant table but agent memory's data keys). */
export async function backupTables(em: EntityManager): Promise<string[]> {
  return (await selectRows(em, tableRow, 'select tenant_backup_tables() as t')).map((row) => row.t);
}

const jsonRow = z.object({ row: z.unknown() });

/** Every row of the tenant in one table, as JSON; `table` comes from backupTables, never from input. */
export async function rowsOf(em: EntityManager, table: string, tenantId: string): Promise<unknown[]> {
  const rows = await selectRows(em, jsonRow, `select to_jsonb(x) as row from ${quoteIdent(table)} x where x.tenant_id = ?`, [tenantId]);
  return rows.map((row) => row.row);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** What restore_tenant_rows() answers. */
const restoreReport = z.object({
  rows: z.record(z.string(), z.number()).optional(),
  memory_shredded: z.object({ agents: z.number(), entries: z.number() }).optional(),
});
export type RestoreReport = z.output<typeof restoreReport>;

const restoredRow = z.object({ report: restoreReport });

/** restore_tenant_rows: writes an archive's tables into `schema` (the tenant's own, or a side schema); its refusals become CONFLICT. */
export async function restoreTenantRows(em: EntityManager, tenantId: string, schema: string, tables: Record<string, unknown[]>) {
  const row = await selectRow(em, restoredRow, 'select restore_tenant_rows(?, ?, ?::jsonb) as report', [
    tenantId,
    schema,
    JSON.stringify(tables),
  ]).catch(refusalAsConflict('restore_tenant_rows'));
  return row?.report;
}
