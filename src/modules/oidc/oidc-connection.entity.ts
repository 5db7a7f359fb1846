import { defineEntity, p } from '@mikro-orm/core';
import { tenantFilter } from '../../db/tenant-filter.ts';

export const JIT_ROLES = ['ADMIN', 'MEMBER', 'VIEWER'] as const;
export type MappedRole = (typeof JIT_ROLES)[number];

/** A tenant's OpenID Connect connection (migrations/0023_sessions.sql): configuration only, no secret. */
const OidcConnectionSchema = defineEntity({
  name: 'OidcConnection',
  tableName: 'oidc_connections',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    issuer: p.string(),
    clientId: p.string(),
    allowedDomains: p.array<string>(),
    roleClaim: p.string().nullable(),
    roleMapping: p.json<Record<string, MappedRole>>(),
    jitRole: p.enum(JIT_ROLES).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class OidcConnection extends OidcConnectionSchema.class {}
OidcConnectionSchema.setClass(OidcConnection);
