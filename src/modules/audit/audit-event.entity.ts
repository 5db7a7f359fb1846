import { defineEntity, p } from '@mikro-orm/core';
import { tenantFilter } from '../../db/tenant-filter.ts';

export const AUDIT_OUTCOMES = ['SUCCESS', 'DENIED', 'FAILED'] as const;

const AuditEventSchema = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    actorType: p.string(),
    actorId: p.string(),
    action: p.string(),
    targetType: p.string().nullable(),
    targetId: p.string().nullable(),
    outcome: p.enum(AUDIT_OUTCOMES),
    requestId: p.string().nullable(),
    detail: p.json<Record<string, unknown>>(),
    /** Set by the database when the event is appended (trigger function audit_events_chain, migrations/functions/audit.sql). */
    createdAt: p.datetime().onCreate(() => new Date()),
    /** Chain fields: computed by the database's insert trigger, never written by the gateway. */
    seq: p.bigint('string').persist(false),
    prevHash: p.blob().persist(false),
    hash: p.blob().persist(false),
  },
});

export class AuditEvent extends AuditEventSchema.class {}
AuditEventSchema.setClass(AuditEvent);
