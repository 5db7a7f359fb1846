import { LockMode, TransactionPropagation } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { actorOf } from '../../auth/principal.ts';
import { mintTenantSecret, parseTenantSecret, SIGN_IN_LINK_PREFIX, secretMatches } from '../../auth/tenant-secrets.ts';
import type { TokenIssuer } from '../../auth/tokens.ts';
import type { Regions } from '../../db/regions.ts';
import { enterTenant, forkForTenant } from '../../db/request-scope.ts';
import { TENANT_FILTER } from '../../db/tenant-filter.ts';
import type { RequestScope } from '../../request/scope.ts';
import { notFound, unauthenticated } from '../../shared/errors.ts';
import { isUuid, newId } from '../../shared/ids.ts';
import type { Secret } from '../../shared/secret.ts';
import { parseInput } from '../../shared/validation.ts';
import { recordAudit } from '../audit/index.ts';
import { Tenant } from '../tenants/tenant.entity.ts';
import { User } from '../users/index.ts';
import { SignInLink } from './session.entity.ts';
import { memberWithinReach, openSession, type SessionTokens, sessionPrincipal } from './session.service.ts';
import { deleteStaleSignInLinks } from './session.store.ts';

/** How long a sign-in link can be used: long enough to pass it on, short enough not to linger in an inbox. */
export const SIGN_IN_LINK_TTL_MS = 15 * 60 * 1000;
const ownerLinkInput = z.object({ email: z.email().max(254).toLowerCase() });

export interface MintedSignInLink {
  link: SignInLink;
  member: User;
  /** The one-time secret, shown once to the caller, stored only as a hash. */
  secret: Secret;
}

/**
 * Owners and admins mint a one-time sign-in link for a member within their reach (admins not for
 * owners): the way in for members when the tenant has no identity provider, and the way back in
 * after every session ended. No password is ever stored.
 */
export async function createSignInLink(scope: RequestScope, userId: string): Promise<MintedSignInLink> {
  const member = await memberWithinReach(scope, userId);
  return mintSignInLink(scope, member);
}

/**
 * Operators mint a sign-in link for a tenant's owner, named by email: the recovery path when an
 * owner has no session left. The lookup reads one users row of that tenant, the only row inside a
 * tenant an operator action touches, and only to find an OWNER by the email the operator was given;
 * the link is handed to the operator once and the event goes into the tenant's own audit log.
 */
export async function createOwnerSignInLink(scope: RequestScope, tenantId: string, input: unknown): Promise<MintedSignInLink> {
  const { email } = parseInput(ownerLinkInput, input);
  const tenant = isUuid(tenantId) ? await scope.em.findOne(Tenant, { id: tenantId }, { filters: { [TENANT_FILTER]: false } }) : null;
  if (!tenant) throw notFound('Tenant', tenantId);
  await enterTenant(scope.em, tenant.id);
  const owner = await scope.em.findOne(User, { email, role: 'OWNER' });
  if (!owner) throw notFound('User');
  return mintSignInLink(scope, owner, tenant.id);
}

/**
 * A one-time link for `member`, audited in its tenant's log (`tenantId` when the caller's principal
 * has no tenant, as an operator's). Callers decide who may mint for whom; this only mints.
 */
export async function mintSignInLink(scope: RequestScope, member: User, tenantId?: string): Promise<MintedSignInLink> {
  const id = newId();
  const { secret, secretHash } = mintTenantSecret(SIGN_IN_LINK_PREFIX, member.tenantId, id);
  const actor = actorOf(scope.principal);
  const link = scope.em.create(SignInLink, {
    id,
    tenantId: member.tenantId,
    userId: member.id,
    secretHash,
    createdBy: `${actor.actorType}:${actor.actorId}`,
    expiresAt: new Date(Date.now() + SIGN_IN_LINK_TTL_MS),
  });
  // Links that expired a day ago are of no use to anyone, not even to the audit log (which has the event).
  await deleteStaleSignInLinks(scope.em, member.tenantId);
  recordAudit(scope, { tenantId, action: 'signInLink.create', targetType: 'User', targetId: member.id, detail: { linkId: id } });
  await scope.em.flush();
  return { link, member, secret };
}

/**
 * Trades a sign-in link for a session, once. The tenant and link ids inside it are only claims: the
 * row is looked up under that tenant's RLS setting and its hash compared in constant time. An
 * expired, used, forged or unknown link, or one of a member no longer ACTIVE, is UNAUTHENTICATED,
 * all alike. Runs in a transaction of its own (the link is spent even if the response is lost).
 */
export async function redeemSignInLink(
  deps: { regions: Regions; tokens: TokenIssuer; requestId: string; log: RequestScope['log'] },
  presented: string,
  deviceLabel?: string | null,
  clientApp?: string | null,
): Promise<SessionTokens> {
  const claimed = parseTenantSecret(SIGN_IN_LINK_PREFIX, presented);
  const region = claimed && (await deps.regions.locate(claimed.tenantId));
  if (!claimed || !region) throw unauthenticated();
  const opened = await forkForTenant(region.orm, claimed.tenantId).transactional(
    async (em) => {
      const link = await em.findOne(SignInLink, { id: claimed.id }, { populate: ['secretHash'], lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!link || !secretMatches(link.secretHash, claimed.secretHash) || link.usedAt || link.expiresAt <= new Date()) return undefined;
      const user = await em.findOne(User, { id: link.userId });
      if (user?.status !== 'ACTIVE') return undefined;
      link.usedAt = new Date();
      const tokens = await openSession(em, deps.tokens, user, { method: 'SIGN_IN_LINK', deviceLabel, clientApp });
      const scope = { em, principal: sessionPrincipal(user, tokens.session), requestId: deps.requestId, log: deps.log };
      recordAudit(scope, {
        action: 'session.signIn',
        targetType: 'Session',
        targetId: tokens.session.id,
        detail: { method: 'SIGN_IN_LINK' },
      });
      await em.flush();
      return tokens;
    },
    { propagation: TransactionPropagation.REQUIRES_NEW },
  );
  if (!opened) throw unauthenticated();
  return opened;
}
