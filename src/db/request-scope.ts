import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Principal } from '../auth/principal.ts';
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
  const variables: Record<string, string> = {};
  if ('tenantId' in principal) variables[TENANT_SETTING] = principal.tenantId;
  if (principal.kind === 'operator') variables[OPERATOR_SETTING] = 'on';
  const em = orm.em.fork({ clear: true, session: { variables } });
  if ('tenantId' in principal) em.setFilterParams(TENANT_FILTER, { tenantId: principal.tenantId });
  return em;
}

/**
 * Enters a tenant that was created inside the current transaction (self-service onboarding only):
 * sets the transaction-local RLS setting and the filter parameter for the rest of the transaction.
 * The id is server-generated, never client input.
 */
export async function enterNewTenant(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute('select set_config(?, ?, true)', [TENANT_SETTING, tenantId]);
  em.setFilterParams(TENANT_FILTER, { tenantId });
}

/**
 * An EntityManager bound to one tenant for the gateway's own jobs (audit retention), which act for
 * no principal. The tenant id comes from the tenants table, never from a client.
 */
export function forkForTenant(orm: MikroORM, tenantId: string): EntityManager {
  const em = orm.em.fork({ clear: true, session: { variables: { [TENANT_SETTING]: tenantId } } });
  em.setFilterParams(TENANT_FILTER, { tenantId });
  return em;
}

/** An operator-bound EntityManager (tenant metadata only) for platform jobs. */
export function forkForOperator(orm: MikroORM): EntityManager {
  return orm.em.fork({ clear: true, session: { variables: { [OPERATOR_SETTING]: 'on' } } });
}
