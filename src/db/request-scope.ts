import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { type Principal, tenantOf } from '../auth/principal.ts';
import { TENANT_FILTER } from './tenant-filter.ts';

/** Transaction-local settings the RLS policies read (see migrations/0001_data_plane.sql). */
export const TENANT_SETTING = 'app.tenant_id';
export const OPERATOR_SETTING = 'app.operator';

/**
 * A fresh EntityManager for one request, bound to its principal's tenant twice over:
 * - wall 2, the ORM filter parameter: every query on a tenant-owned entity gets `tenant_id = …`;
 * - wall 3, the RLS session variable: applied with `set_config(…, true)` at the start of every
 *   transaction this EntityManager opens, so it ends with the transaction and never leaks into the
 *   next request on the same pooled connection.
 * Anonymous and operator principals get no tenant: the filter has no parameter (tenant-owned
 * queries are refused) and the policies match no tenant row.
 */
export function forkForPrincipal(orm: MikroORM, principal: Principal): EntityManager {
  return forkWith(orm, { tenantId: tenantOf(principal), operator: principal.kind === 'operator' });
}

/**
 * A fork bound to one tenant for the gateway's own work in it (jobs, audit retention, the isolation
 * canary), which acts for no principal. The tenant id comes from the tenants table, never from a client.
 */
export function forkForTenant(orm: MikroORM, tenantId: string): EntityManager {
  return forkWith(orm, { tenantId, operator: false });
}

function forkWith(orm: MikroORM, { tenantId, operator }: { tenantId: string | undefined; operator: boolean }): EntityManager {
  const variables: Record<string, string> = {};
  if (tenantId) variables[TENANT_SETTING] = tenantId;
  if (operator) variables[OPERATOR_SETTING] = 'on';
  const em = orm.em.fork({ clear: true, session: { variables } });
  if (tenantId) em.setFilterParams(TENANT_FILTER, { tenantId });
  return em;
}

/**
 * Enters a tenant for the rest of the current transaction (RLS setting and filter parameter) when
 * the principal has none: self-service onboarding (a tenant just created, its id generated here)
 * and operator lifecycle actions (to write the tenant's own audit event). Never with client input
 * that has not been resolved to an existing tenant first.
 */
export async function enterTenant(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute('select set_config(?, ?, true)', [TENANT_SETTING, tenantId]);
  em.setFilterParams(TENANT_FILTER, { tenantId });
}

/** An operator-bound EntityManager (tenant metadata only) for platform jobs. */
export function forkForOperator(orm: MikroORM): EntityManager {
  return forkWith(orm, { tenantId: undefined, operator: true });
}
