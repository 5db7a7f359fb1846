import { type EntityManager, TransactionPropagation } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { assertCan, can } from '../../auth/actions.ts';
import type { Principal } from '../../auth/principal.ts';
import { mintTenantSecret, parseTenantSecret, REFRESH_TOKEN_PREFIX } from '../../auth/tenant-secrets.ts';
import type { TokenIssuer } from '../../auth/tokens.ts';
import { findPage, type PageArgs } from '../../db/pagination.ts';
import type { Regions } from '../../db/regions.ts';
import { forkForTenant } from '../../db/request-scope.ts';
import type { LivenessScope, RequestScope } from '../../request/scope.ts';
import { forbidden, notFound, unauthenticated } from '../../shared/errors.ts';
import { isUuid, newId } from '../../shared/ids.ts';
import type { Secret } from '../../shared/secret.ts';
import { recordAudit } from '../audit/index.ts';
import { User } from '../users/index.ts';
import { type SessionMethod, UserSession } from './session.entity.ts';
import * as store from './session.store.ts';

/** How long a session may be refreshed before its member signs in again. */
export const SESSION_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;
const deviceLabelInput = z.string().trim().min(1).max(100);

/** What a client keeps after signing in: a short-lived access token and the refresh token that brings the next one. */
export interface SessionTokens {
  session: UserSession;
  user: User;
  accessToken: Secret;
  refreshToken: Secret;
}

/** The principal an access token of this session carries. */
export function sessionPrincipal(user: User, session: UserSession): Extract<Principal, { kind: 'user' }> {
  return {
    kind: 'user',
    tenantId: user.tenantId,
    userId: user.id,
    role: user.role,
    tokenVersion: user.tokenVersion,
    sessionId: session.id,
    ...(session.clientApp ? { clientApp: session.clientApp } : {}),
  };
}

/**
 * Opens a session for an ACTIVE member, in the transaction of `em`, which is already in the
 * member's tenant (RLS setting and filter). Every way in (sign-up, a sign-in link, OpenID Connect)
 * ends here, so every user credential belongs to a session row.
 */
export async function openSession(
  em: EntityManager,
  tokens: TokenIssuer,
  user: User,
  opening: { method: SessionMethod; deviceLabel?: string | null; clientApp?: string | null },
): Promise<SessionTokens> {
  if (user.status !== 'ACTIVE') throw unauthenticated();
  const deviceLabel = deviceLabelInput.safeParse(opening.deviceLabel ?? '').data ?? 'unnamed device';
  const session = em.create(UserSession, {
    id: newId(),
    tenantId: user.tenantId,
    userId: user.id,
    deviceLabel,
    method: opening.method,
    clientApp: opening.clientApp ?? null,
    expiresAt: new Date(Date.now() + SESSION_LIFETIME_MS),
  });
  await em.flush();
  const refreshToken = await addRefreshToken(em, session);
  const accessToken = await tokens.issueForSession(sessionPrincipal(user, session), session.expiresAt);
  return { session, user, accessToken, refreshToken };
}

/** A new refresh token of the session, stored as the SHA-256 of its secret. */
async function addRefreshToken(em: EntityManager, session: UserSession): Promise<Secret> {
  const { secret, secretHash } = mintTenantSecret(REFRESH_TOKEN_PREFIX, session.tenantId, session.id);
  await store.insertRefreshToken(em, session.tenantId, session.id, secretHash);
  return secret;
}

type RefreshOutcome = { kind: 'refreshed'; tokens: SessionTokens } | { kind: 'refused' };

/**
 * Trades a refresh token for a new access token and a new refresh token (rotation). The tenant and
 * session inside the token are only claims: the token row is looked up under that tenant's RLS
 * setting. A refresh token that was already used is reuse (it was stolen, or its successor was):
 * the whole session is revoked and the reuse audited (OAuth 2.0 Security BCP). Runs in a
 * transaction of its own that commits even when the request answers UNAUTHENTICATED, so a
 * detected reuse stays revoked.
 */
export async function refreshSession(
  deps: {
    regions: Regions;
    tokens: TokenIssuer;
    tokenLiveness: LivenessScope['tokenLiveness'];
    requestId: string;
    log: RequestScope['log'];
  },
  refreshToken: string,
): Promise<SessionTokens> {
  const claimed = parseTenantSecret(REFRESH_TOKEN_PREFIX, refreshToken);
  const region = claimed && (await deps.regions.locate(claimed.tenantId));
  if (!claimed || !region) throw unauthenticated();
  const outcome = await forkForTenant(region.orm, claimed.tenantId).transactional(
    async (em): Promise<RefreshOutcome> => {
      const row = await store.lockRefreshToken(em, claimed.tenantId, claimed.id, claimed.secretHash);
      if (!row) return { kind: 'refused' };
      const session = await em.findOne(UserSession, { id: claimed.id });
      const user = await em.findOne(User, { id: row.userId });
      if (!session || !user) return { kind: 'refused' };
      const scope = { em, principal: sessionPrincipal(user, session), requestId: deps.requestId, log: deps.log };
      if (row.used) {
        if (!session.revokedAt) {
          deps.tokenLiveness.changing(user.id);
          revoke(session, 'refresh token reused');
          recordAudit(scope, { action: 'session.reuseDetected', outcome: 'DENIED', targetType: 'Session', targetId: session.id });
          deps.log.warn({ sessionId: session.id, userId: user.id }, 'refresh token reused: session revoked');
        }
        return { kind: 'refused' };
      }
      if (session.revokedAt || session.expiresAt <= new Date() || user.status !== 'ACTIVE') return { kind: 'refused' };
      // A session keeps its used tokens of the last day for reuse detection, not all it ever had.
      await store.useRefreshToken(em, claimed.tenantId, session.id, claimed.secretHash);
      session.lastUsedAt = new Date();
      const next = await addRefreshToken(em, session);
      return {
        kind: 'refreshed',
        tokens: {
          session,
          user,
          accessToken: await deps.tokens.issueForSession(sessionPrincipal(user, session), session.expiresAt),
          refreshToken: next,
        },
      };
    },
    { propagation: TransactionPropagation.REQUIRES_NEW },
  );
  if (outcome.kind !== 'refreshed') throw unauthenticated();
  return outcome.tokens;
}

function revoke(session: UserSession, reason: string): void {
  session.revokedAt = new Date();
  session.revokedReason = reason;
}

/** The signed-in user's own sessions, newest last. */
export function listMySessions(scope: RequestScope, page: PageArgs): Promise<UserSession[]> {
  assertCan(scope.principal, 'session.self');
  if (scope.principal.kind !== 'user') throw forbidden();
  return findPage(scope.em, UserSession, { userId: scope.principal.userId }, page);
}

/** A member's sessions, for owners (any member) and admins (members below owner). */
export async function listMemberSessions(scope: RequestScope, userId: string, page: PageArgs): Promise<UserSession[]> {
  assertCan(scope.principal, 'member.manage');
  await memberWithinReach(scope, userId);
  return findPage(scope.em, UserSession, { userId }, page);
}

/**
 * Revokes one session: the caller's own, or, for owners and admins, a member's within their reach.
 * Its access tokens stop working at the next request on every replica (enter_user_request) and its
 * refresh tokens refresh no more.
 */
export async function revokeSession(scope: LivenessScope, sessionId: string): Promise<UserSession> {
  assertCan(scope.principal, 'session.self');
  if (scope.principal.kind !== 'user') throw forbidden();
  const session = isUuid(sessionId) ? await scope.em.findOne(UserSession, { id: sessionId }) : null;
  if (!session) throw notFound('Session', sessionId);
  if (session.userId !== scope.principal.userId) await memberWithinReach(scope, session.userId);
  if (!session.revokedAt) {
    scope.tokenLiveness.changing(session.userId);
    revoke(session, session.userId === scope.principal.userId ? 'signed out' : 'revoked by an admin');
    recordAudit(scope, { action: 'session.revoke', targetType: 'Session', targetId: session.id, detail: { userId: session.userId } });
    await scope.em.flush();
  }
  return session;
}

/** Revokes every live session of a member (default: the caller, "sign out everywhere"). Returns how many. */
export async function revokeAllSessions(scope: LivenessScope, userId?: string | null): Promise<number> {
  assertCan(scope.principal, 'session.self');
  if (scope.principal.kind !== 'user') throw forbidden();
  const target = userId ?? scope.principal.userId;
  if (target !== scope.principal.userId) await memberWithinReach(scope, target);
  scope.tokenLiveness.changing(target);
  const count = await revokeSessionsOf(
    scope.em,
    target,
    target === scope.principal.userId ? 'signed out everywhere' : 'revoked by an admin',
  );
  recordAudit(scope, { action: 'session.revokeAll', targetType: 'User', targetId: target, detail: { sessions: count } });
  await scope.em.flush();
  return count;
}

/** Revokes every live session of a user in the current transaction (team lifecycle uses it too). */
export async function revokeSessionsOf(em: EntityManager, userId: string, reason: string): Promise<number> {
  const live = await em.find(UserSession, { userId, revokedAt: null });
  for (const session of live) revoke(session, reason);
  return live.length;
}

/**
 * Whether the caller may act on this member's sessions and membership: owners on anyone of their
 * tenant, admins on anyone but an owner. Another tenant's member and a missing one look the same.
 */
export async function memberWithinReach(scope: RequestScope, userId: string): Promise<User> {
  assertCan(scope.principal, 'member.manage');
  if (scope.principal.kind !== 'user') throw forbidden();
  const member = isUuid(userId) ? await scope.em.findOne(User, { id: userId }) : null;
  if (!member) throw notFound('User', userId);
  if (member.role === 'OWNER' && scope.principal.role !== 'OWNER') throw forbidden('Only an owner can act on an owner');
  return member;
}

/** Sessions by id for the node interface: the caller's own, or any of the tenant's for owners and admins. */
export async function loadSessions(scope: RequestScope, ids: string[]): Promise<(UserSession | null)[]> {
  assertCan(scope.principal, 'session.self');
  if (scope.principal.kind !== 'user') return ids.map(() => null);
  const valid = ids.filter((id) => isUuid(id));
  const mine = { userId: scope.principal.userId };
  const where = can(scope.principal, 'member.manage') ? {} : mine;
  const found = valid.length > 0 ? await scope.em.find(UserSession, { id: { $in: valid }, ...where }) : [];
  return ids.map((id) => found.find((session) => session.id === id) ?? null);
}
