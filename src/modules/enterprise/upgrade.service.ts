import { assertCan } from '../../auth/actions.ts';
import { enterTenant } from '../../db/request-scope.ts';
import { TENANT_FILTER } from '../../db/tenant-filter.ts';
import type { RequestScope } from '../../request/scope.ts';
import { notFound } from '../../shared/errors.ts';
import { isUuid } from '../../shared/ids.ts';
import { recordAudit } from '../audit/index.ts';
import { Tenant } from '../tenants/index.ts';
import { type MoveReport, upgradeToEnterprise } from './enterprise.store.ts';

export type { MoveReport } from './enterprise.store.ts';

/**
 * Upgrades a STANDARD tenant to ENTERPRISE in the caller's transaction: upgrade_tenant_to_enterprise()
 * (migrations/functions/enterprise.sql) creates its schema, copies and verifies every row by count and checksum, deletes
 * the shared rows and changes the plan; then the move is recorded in the tenant's audit log, which
 * now lives in its schema and continues its chain. Until the caller commits nobody sees a change;
 * if it never commits (the process dies, an error), Postgres rolls all of it back.
 *
 * Operators only: a tier is a platform decision; the rows move inside the database as the owner,
 * and the operator sees counts and checksums, never a row.
 */
export async function upgradeTenantToEnterprise(scope: RequestScope, tenantId: string): Promise<{ tenant: Tenant; moved: MoveReport }> {
  assertCan(scope.principal, 'platform.enterprise.manage');
  const tenant = isUuid(tenantId) ? await scope.em.findOne(Tenant, { id: tenantId }, { filters: { [TENANT_FILTER]: false } }) : null;
  if (!tenant) throw notFound('Tenant');
  const moved = await upgradeToEnterprise(scope.em, tenantId);
  await enterTenant(scope.em, tenantId);
  recordAudit(scope, {
    tenantId,
    action: 'tenant.upgradeToEnterprise',
    targetType: 'Tenant',
    targetId: tenantId,
    detail: { rows: Object.fromEntries(Object.entries(moved).map(([table, digest]) => [table, digest.rows])) },
  });
  await scope.em.flush();
  await scope.em.refresh(tenant, { filters: { [TENANT_FILTER]: false } });
  return { tenant, moved };
}
