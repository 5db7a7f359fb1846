import type { Principal } from '../../auth/principal.ts';
import { builder } from '../../builder.ts';
import { keysetConnection } from '../common/index.ts';
import { sessionClientAppOf } from '../policy/index.ts';
import { UserRef } from '../users/user.schema.ts';
import { SESSION_METHODS, UserSession } from './session.entity.ts';
import {
  listMemberSessions,
  listMySessions,
  loadSessions,
  refreshSession,
  revokeAllSessions,
  revokeSession,
  type SessionTokens,
  sessionPrincipal,
} from './session.service.ts';
import { createSignInLink, type MintedSignInLink, redeemSignInLink } from './sign-in-link.service.ts';

const SessionMethod = builder.enumType('SessionMethod', { values: SESSION_METHODS });

/** A signed-in device: metadata only, never a token. Its own user sees it; owners and admins see their members'. */
export const SessionRef = builder.node(UserSession, {
  name: 'Session',
  id: { resolve: (session) => session.id },
  authScopes: (session) => ({ $all: { can: 'session.self', sameTenant: session.tenantId } }),
  loadMany: (ids, ctx) => loadSessions(ctx, ids),
  fields: (t) => ({
    deviceLabel: t.exposeString('deviceLabel'),
    method: t.field({ type: SessionMethod, resolve: (session) => session.method }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastUsedAt: t.expose('lastUsedAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    revokedReason: t.exposeString('revokedReason', { nullable: true }),
  }),
});

/** The one place a session's tokens are handed out: sign-up, a sign-in link, OpenID Connect, a refresh. */
export const SessionPayload = builder.objectRef<SessionTokens>('SessionPayload').implement({
  description: 'A session’s tokens. Keep the refresh token secret: it is shown once, and using it twice ends the session.',
  fields: (t) => ({
    accessToken: t.string({
      description: 'Send as `Authorization: Bearer …`. Short-lived (USER_TOKEN_TTL); refresh it with refreshSession.',
      resolve: (tokens) => tokens.accessToken.reveal(),
    }),
    refreshToken: t.string({
      description: 'Trade it for the next access token with refreshSession; each refresh token works once.',
      resolve: (tokens) => tokens.refreshToken.reveal(),
    }),
    session: t.field({ type: SessionRef, resolve: (tokens) => tokens.session }),
    user: t.field({ type: UserRef, resolve: (tokens) => tokens.user }),
  }),
});

export const SignInLinkPayload = builder.objectRef<MintedSignInLink>('SignInLinkPayload').implement({
  fields: (t) => ({
    token: t.string({
      description: 'The one-time sign-in token: hand it to the member out of band; redeemSignInLink trades it for a session. Shown once.',
      resolve: (minted) => minted.secret.reveal(),
    }),
    expiresAt: t.field({ type: 'DateTime', resolve: (minted) => minted.link.expiresAt }),
    member: t.field({ type: UserRef, resolve: (minted) => minted.member }),
  }),
});

builder.queryFields((t) => ({
  mySessions: t.connection({
    description: 'The signed-in user’s own sessions (devices).',
    type: SessionRef,
    skipTypeScopes: true,
    authScopes: { can: 'session.self' },
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => listMySessions(ctx, page)),
  }),
  memberSessions: t.connection({
    description: 'Owners and admins: a member’s sessions (admins: not an owner’s).',
    type: SessionRef,
    skipTypeScopes: true,
    authScopes: { can: 'member.manage' },
    args: { userId: t.arg.globalID({ required: true, for: UserRef }) },
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => listMemberSessions(ctx, args.userId.id, page)),
  }),
}));

/**
 * The caller is now the session's user, as if it had sent the new access token: the payload's
 * objects (its session, its user) are rendered under that principal's scopes, never another's.
 */
export function signedIn(ctx: { principal: Principal }, tokens: SessionTokens): SessionTokens {
  ctx.principal = sessionPrincipal(tokens.user, tokens.session);
  return tokens;
}

/** Signing in and refreshing are for callers without a token of their own; an agent's token reaches only its own memory. */
const notAnAgent = (_root: unknown, _args: unknown, ctx: { principal: { kind: string } }) => ctx.principal.kind !== 'agent';

builder.mutationFields((t) => ({
  refreshSession: t.field({
    description: 'Trades a refresh token for a new access token and a new refresh token. Reusing a refresh token ends its session.',
    type: SessionPayload,
    skipTypeScopes: true,
    authScopes: notAnAgent,
    args: { refreshToken: t.arg.string({ required: true }) },
    resolve: async (_root, { refreshToken }, ctx) => signedIn(ctx, await refreshSession(ctx, refreshToken)),
  }),
  redeemSignInLink: t.field({
    description: 'Trades a one-time sign-in token for a session.',
    type: SessionPayload,
    skipTypeScopes: true,
    authScopes: notAnAgent,
    args: { token: t.arg.string({ required: true }), deviceLabel: t.arg.string() },
    resolve: async (_root, { token, deviceLabel }, ctx) =>
      signedIn(ctx, await redeemSignInLink(ctx, token, deviceLabel, sessionClientAppOf(ctx.request))),
  }),
  createSignInLink: t.field({
    description: 'Owners and admins: a one-time sign-in link (15 minutes) for a member (admins: not for an owner).',
    type: SignInLinkPayload,
    skipTypeScopes: true,
    authScopes: { can: 'member.manage' },
    args: { userId: t.arg.globalID({ required: true, for: UserRef }) },
    resolve: (_root, { userId }, ctx) => createSignInLink(ctx, userId.id),
  }),
  revokeSession: t.field({
    description: 'Ends a session: the caller’s own, or (owners, admins) a member’s. Its tokens stop working at once.',
    type: SessionRef,
    skipTypeScopes: true,
    authScopes: { can: 'session.self' },
    args: { id: t.arg.globalID({ required: true, for: SessionRef }) },
    resolve: (_root, { id }, ctx) => revokeSession(ctx, id.id),
  }),
  revokeAllSessions: t.int({
    description: 'Ends every session of the caller (sign out everywhere), or (owners, admins) of a member. Returns how many.',
    skipTypeScopes: true,
    authScopes: { can: 'session.self' },
    args: { userId: t.arg.globalID({ for: UserRef }) },
    resolve: (_root, { userId }, ctx) => revokeAllSessions(ctx, userId?.id),
  }),
}));
