import { defineEntity, p } from '@mikro-orm/core';
import { tenantFilter } from '../../db/tenant-filter.ts';

const SupportGrantSchema = defineEntity({
  name: 'SupportGrant',
  tableName: 'support_grants',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    /** Who may act under the grant, e.g. `ops@fleetgate.io`; recorded as the actor of every event. */
    supportPrincipal: p.string(),
    reason: p.string(),
    grantedBy: p.uuid(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    revokedAt: p.datetime().nullable(),
  },
});

export class SupportGrant extends SupportGrantSchema.class {}
SupportGrantSchema.setClass(SupportGrant);
