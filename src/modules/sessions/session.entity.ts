import { defineEntity, p } from '@mikro-orm/core';
import { tenantFilter } from '../../db/tenant-filter.ts';

export const SESSION_METHODS = ['SIGN_UP', 'SIGN_IN_LINK', 'OIDC'] as const;
export type SessionMethod = (typeof SESSION_METHODS)[number];

/** One signed-in device of a member. Its refresh tokens are rows of `session_refresh_tokens` (session-store.ts). */
const UserSessionSchema = defineEntity({
  name: 'UserSession',
  tableName: 'user_sessions',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    userId: p.uuid(),
    deviceLabel: p.string(),
    method: p.enum(SESSION_METHODS),
    createdAt: p.datetime().onCreate(() => new Date()),
    lastUsedAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
    revokedReason: p.string().nullable(),
    /** The client app that opened the session (migrations/0032): its tokens run only that app's documents. */
    clientApp: p.string().nullable(),
  },
});

export class UserSession extends UserSessionSchema.class {}
UserSessionSchema.setClass(UserSession);

/** A one-time sign-in link: the SHA-256 of its secret, its member, its expiry and when it was used. */
const SignInLinkSchema = defineEntity({
  name: 'SignInLink',
  tableName: 'sign_in_links',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    userId: p.uuid(),
    secretHash: p.blob().lazy(),
    /** The actor that minted it, as `USER:<id>` or `OPERATOR:<id>`. */
    createdBy: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
  },
});

export class SignInLink extends SignInLinkSchema.class {}
SignInLinkSchema.setClass(SignInLink);

export const sessionEntities = [UserSession, SignInLink];
