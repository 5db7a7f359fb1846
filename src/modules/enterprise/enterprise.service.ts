import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import type { Principal } from '../../auth/principal.ts';
import type { Region } from '../../db/regions.ts';
import { enterTenant } from '../../db/request-scope.ts';
import { TENANT_FILTER } from '../../db/tenant-filter.ts';
import type { RequestScope } from '../../request/scope.ts';
import { clientError } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import type { Secret } from '../../shared/secret.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { type MintedSignInLink, mintSignInLink } from '../sessions/index.ts';
import { databaseRegion, Tenant } from '../tenants/index.ts';
import { User, userInputShape } from '../users/index.ts';
import { type BackupAccess, type BackupResult, backupTenant, type RestoreResult, restoreTenant } from './backup.service.ts';
import { provisionTenantSchema } from './enterprise.store.ts';

const createEnterpriseTenantInput = z.object({
  tenantName: z.string().trim().min(1).max(100),
  owner: z.object(userInputShape).omit({ role: true }),
});

export interface EnterpriseTenantCreated {
  tenant: Tenant;
  schema: string;
  /** The owner's first token, for the operator to hand over: the owner's only way in. */
  /** Deprecated: a sessionless access token; ownerSignInLink opens a session the owner can refresh and end. */
  ownerToken: Secret;
  /** The owner's one-time sign-in link, handed over out of band: redeemed, it opens the owner's first session. */
  ownerSignInLink: MintedSignInLink;
}

/**
 * Onboards an ENTERPRISE tenant in one transaction: its row, its own schema (created and migrated
 * by the owner role through provision_tenant_schema(), which admits operator transactions only),
 * its owner and the first event of its audit log, the last two already in the new schema, because
 * entering the tenant also routes this transaction's SQL there. If anything fails, nothing exists.
 *
 * Operators only: choosing a tier is a platform decision (billing, capacity, region), never a
 * tenant's. The operator gets the owner's first token to hand over, as an invitation; the operator
 * still reads no row inside the tenant (its own principal has no tenant).
 */
export async function createEnterpriseTenant(
  scope: RequestScope,
  input: unknown,
  issueToken: (owner: Principal & { kind: 'user' }) => Promise<Secret>,
): Promise<EnterpriseTenantCreated> {
  assertCan(scope.principal, 'platform.enterprise.manage');
  const { tenantName, owner } = parseInput(createEnterpriseTenantInput, input);
  const tenantId = newId();
  await enterTenant(scope.em, tenantId);
  const tenant = scope.em.create(Tenant, { id: tenantId, name: tenantName, plan: 'ENTERPRISE', region: await databaseRegion(scope) });
  await scope.em.flush();
  const schema = await provisionTenantSchema(scope.em, tenantId);
  const user = scope.em.create(User, { id: newId(), tenantId, email: owner.email, name: owner.name, role: 'OWNER' });
  recordAudit(scope, {
    tenantId,
    action: 'tenant.createEnterprise',
    targetType: 'Tenant',
    targetId: tenantId,
    detail: { plan: 'ENTERPRISE', schema },
  });
  await scope.em.flush();
  const ownerSignInLink = await mintSignInLink(scope, user, tenantId);
  const ownerPrincipal = { kind: 'user', tenantId, userId: user.id, role: 'OWNER' } as const;
  return { tenant, schema: schema ?? '', ownerToken: await issueToken(ownerPrincipal), ownerSignInLink };
}

type BackupScope = RequestScope & { region: Region; backups?: BackupAccess };

/** A tenant's archives stay in its region: each region has a backup directory of its own. */
function backupDeps(scope: BackupScope) {
  if (!scope.backups || !scope.region.backupDir) throw clientError('SERVICE_UNAVAILABLE', 'Backups are not configured on this gateway');
  return { orm: scope.region.orm, keys: scope.backups.keys, dir: scope.region.backupDir, log: scope.log };
}

/** backupTenant for a request: the archive, then its event in the tenant's own audit log (operators only, checked by the service). */
export async function backupTenantFromRequest(scope: BackupScope, tenantId: string): Promise<BackupResult> {
  assertCan(scope.principal, 'platform.enterprise.manage');
  const result = await backupTenant(backupDeps(scope), scope.principal, tenantId);
  await enterTenant(scope.em, tenantId);
  recordAudit(scope, {
    tenantId,
    action: 'tenant.backup',
    targetType: 'Tenant',
    targetId: tenantId,
    detail: { backupId: result.backupId, sha256: result.sha256 },
  });
  await scope.em.flush();
  return result;
}

/** restoreTenant for a request, with its event in the restored tenant's audit log (operators only, checked by the service). */
export async function restoreTenantFromRequest(
  scope: BackupScope,
  input: { backupId: string; into: string },
): Promise<RestoreResult & { tenant: Tenant }> {
  assertCan(scope.principal, 'platform.enterprise.manage');
  const result = await restoreTenant(backupDeps(scope), scope.principal, input);
  await enterTenant(scope.em, result.tenantId);
  recordAudit(scope, {
    tenantId: result.tenantId,
    action: 'tenant.restore',
    targetType: 'Tenant',
    targetId: result.tenantId,
    detail: { backupId: input.backupId, schema: result.schema, memoryShredded: result.memoryShredded },
  });
  await scope.em.flush();
  const tenant = await scope.em.findOneOrFail(Tenant, { id: result.tenantId }, { filters: { [TENANT_FILTER]: false } });
  return { ...result, tenant };
}
