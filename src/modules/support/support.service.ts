import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import { findPage, type PageArgs } from '../../db/pagination.ts';
import type { RequestScope } from '../../request/scope.ts';
import { clientError, forbidden, notFound } from '../../shared/errors.ts';
import { isUuid, newId } from '../../shared/ids.ts';
import type { Secret } from '../../shared/secret.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { SupportGrant } from './support-grant.entity.ts';

/** A grant lasts at least 5 minutes and at most 7 days: support access is never standing. */
export const MAX_GRANT_MINUTES = 7 * 24 * 60;

const grantInput = z.object({
  supportPrincipal: z.string().trim().min(3).max(200),
  reason: z.string().trim().min(1).max(500),
  durationMinutes: z.number().int().min(5).max(MAX_GRANT_MINUTES),
});

/**
 * A tenant owner lets a named support principal read the tenant until the grant expires. Returns
 * the grant and its token (shown once); the token expires with the grant and dies with revocation.
 */
export async function grantSupportAccess(
  scope: RequestScope,
  input: unknown,
  issueToken: (grant: SupportGrant) => Promise<Secret>,
): Promise<{ grant: SupportGrant; token: Secret }> {
  assertCan(scope.principal, 'support.manage');
  if (scope.principal.kind !== 'user') throw forbidden();
  const { supportPrincipal, reason, durationMinutes } = parseInput(grantInput, input);
  const grant = scope.em.create(SupportGrant, {
    id: newId(),
    tenantId: scope.principal.tenantId,
    supportPrincipal,
    reason,
    grantedBy: scope.principal.userId,
    expiresAt: new Date(Date.now() + durationMinutes * 60_000),
  });
  recordAudit(scope, {
    action: 'support.grant',
    targetType: 'SupportGrant',
    targetId: grant.id,
    detail: { supportPrincipal, reason, expiresAt: grant.expiresAt.toISOString() },
  });
  await scope.em.flush();
  return { grant, token: await issueToken(grant) };
}

export async function revokeSupportAccess(scope: RequestScope, id: string): Promise<SupportGrant> {
  assertCan(scope.principal, 'support.manage');
  const [grant] = await loadSupportGrants(scope, [id]);
  if (!grant) throw notFound('SupportGrant', id);
  if (grant.revokedAt) throw clientError('CONFLICT', 'This support grant is already revoked');
  grant.revokedAt = new Date();
  recordAudit(scope, {
    action: 'support.revoke',
    targetType: 'SupportGrant',
    targetId: id,
    detail: { supportPrincipal: grant.supportPrincipal },
  });
  await scope.em.flush();
  return grant;
}

export function listSupportGrants(scope: RequestScope, page: PageArgs): Promise<SupportGrant[]> {
  assertCan(scope.principal, 'support.manage');
  return findPage(scope.em, SupportGrant, {}, page);
}

export async function loadSupportGrants(scope: RequestScope, ids: string[]): Promise<(SupportGrant | null)[]> {
  assertCan(scope.principal, 'support.manage');
  const valid = ids.filter((id) => isUuid(id));
  const found = valid.length > 0 ? await scope.em.find(SupportGrant, { id: { $in: valid } }) : [];
  return ids.map((id) => found.find((grant) => grant.id === id) ?? null);
}
