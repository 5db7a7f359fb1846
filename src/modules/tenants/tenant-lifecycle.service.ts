import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import { enterTenant } from '../../db/request-scope.ts';
import { TENANT_FILTER } from '../../db/tenant-filter.ts';
import type { RequestScope } from '../../request/scope.ts';
import { clientError, notFound } from '../../shared/errors.ts';
import { isUuid } from '../../shared/ids.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { convergeTenantAgents } from '../provisioning/index.ts';
import { Tenant } from './tenant.entity.ts';

const freezeInput = z.object({ reason: z.string().trim().min(1).max(500) });
const rateLimitInput = z.object({ perMinute: z.number().int().min(1).max(1_000_000).nullable() });

/**
 * Operator lifecycle actions on one tenant's metadata row. The update is allowed by RLS only in an
 * operator transaction and only on the lifecycle columns (tenants_guard_columns, migrations/functions/tenants.sql). The change reaches
 * every replica through the tenant policy feed at commit; the event goes into the tenant's own
 * audit log, in the same transaction.
 */
export async function changeTenant(
  scope: RequestScope,
  tenantId: string,
  action: string,
  change: (tenant: Tenant) => Record<string, unknown>,
  options: { convergeAgents?: boolean } = {},
) {
  assertCan(scope.principal, 'platform.tenants.manage');
  const tenant = isUuid(tenantId) ? await scope.em.findOne(Tenant, { id: tenantId }, { filters: { [TENANT_FILTER]: false } }) : null;
  if (!tenant) throw notFound('Tenant');
  // Awaiting erasure or erased: the deletion decides its status (tenants_guard_deletion_status refuses it too).
  if (tenant.status === 'DELETION_PENDING' || tenant.status === 'DELETED') {
    throw clientError('CONFLICT', 'The tenant is awaiting deletion or deleted; its lifecycle follows the deletion');
  }
  const detail = change(tenant);
  await enterTenant(scope.em, tenant.id);
  if (options.convergeAgents) detail.agentsToConverge = await convergeTenantAgents(scope.em, tenant.id);
  recordAudit(scope, { tenantId: tenant.id, action, targetType: 'Tenant', targetId: tenant.id, detail });
  await scope.em.flush();
  return tenant;
}

export function freezeTenant(scope: RequestScope, tenantId: string, input: unknown): Promise<Tenant> {
  const { reason } = parseInput(freezeInput, input);
  return changeTenant(
    scope,
    tenantId,
    'tenant.freeze',
    (tenant) => {
      tenant.status = 'FROZEN';
      tenant.frozenReason = reason;
      return { reason };
    },
    { convergeAgents: true },
  );
}

export function unfreezeTenant(scope: RequestScope, tenantId: string): Promise<Tenant> {
  return changeTenant(
    scope,
    tenantId,
    'tenant.unfreeze',
    (tenant) => {
      tenant.status = 'ACTIVE';
      tenant.frozenReason = null;
      return {};
    },
    { convergeAgents: true },
  );
}

export function setTenantRateLimit(scope: RequestScope, tenantId: string, input: unknown): Promise<Tenant> {
  const { perMinute } = parseInput(rateLimitInput, input);
  return changeTenant(scope, tenantId, 'tenant.rateLimit', (tenant) => {
    tenant.rateLimitPerMinute = perMinute;
    return { perMinute };
  });
}
