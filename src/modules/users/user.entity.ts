import { defineEntity, p } from '@mikro-orm/core';
import { tenantFilter } from '../../db/tenant-filter.ts';

export const USER_ROLES = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER'] as const;
export const USER_STATUSES = ['ACTIVE', 'SUSPENDED'] as const;

const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    email: p.string(),
    name: p.string(),
    role: p.enum(USER_ROLES),
    status: p.enum(USER_STATUSES).default('ACTIVE'),
    /**
     * The version every access token of the user carries. The database bumps it on any role or
     * status change (trigger function users_bump_token_version, migrations/functions/sessions.sql), so tokens minted before the change stop working.
     */
    tokenVersion: p.integer().default(1),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export class User extends UserSchema.class {}
UserSchema.setClass(User);
