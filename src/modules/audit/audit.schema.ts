import { builder } from '../../builder.ts';
import { keysetConnection } from '../common/connection.ts';
import { listAuditEvents } from './audit.service.ts';
import { AUDIT_OUTCOMES, AuditEvent } from './audit-event.entity.ts';

const AuditOutcome = builder.enumType('AuditOutcome', { values: AUDIT_OUTCOMES });

const AuditEventRef = builder.objectType(AuditEvent, {
  name: 'AuditEvent',
  authScopes: (event) => ({ $all: { can: 'audit.read', sameTenant: event.tenantId } }),
  fields: (t) => ({
    id: t.exposeID('id'),
    actorType: t.exposeString('actorType'),
    actorId: t.exposeString('actorId'),
    action: t.exposeString('action'),
    targetType: t.exposeString('targetType', { nullable: true }),
    targetId: t.exposeString('targetId', { nullable: true }),
    outcome: t.field({ type: AuditOutcome, resolve: (event) => event.outcome }),
    requestId: t.exposeString('requestId', { nullable: true }),
    detail: t.expose('detail', { type: 'JSONObject' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.connection({
    description: "The caller's tenant's audit events, oldest first.",
    type: AuditEventRef,
    skipTypeScopes: true,
    authScopes: { can: 'audit.read' },
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => listAuditEvents(ctx, page)),
  }),
);
