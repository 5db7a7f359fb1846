import { builder } from '../../builder.ts';
import type { Tenant } from '../tenants/index.ts';
import { TenantRef } from '../tenants/tenant.schema.ts';
import { setTaskRetention } from './retention.service.ts';

/** The tenant's three retention settings in one place; each is also a field of Tenant of its own. */
const TenantRetentionRef = builder.objectRef<Tenant>('TenantRetention').implement({
  description: "How long the tenant's data is kept, in days (owners set each one).",
  fields: (t) => ({
    auditDays: t.exposeInt('auditRetentionDays', {
      description: 'Audit events older than this are dropped behind a signed checkpoint (30–3650; setAuditRetention).',
    }),
    memoryPurgeDays: t.exposeInt('memoryRetentionDays', {
      description: "A deleted agent's memory rows are purged this long after the deletion (1–3650; setMemoryRetention).",
    }),
    taskHistoryDays: t.exposeInt('taskRetentionDays', {
      description: 'Finished tasks and their results are deleted this long after they finished (1–3650; setTaskRetention).',
    }),
  }),
});

builder.objectFields(TenantRef, (t) => ({
  retention: t.field({ type: TenantRetentionRef, resolve: (tenant) => tenant }),
  taskRetentionDays: t.exposeInt('taskRetentionDays', { description: 'Days finished tasks and their results are kept.' }),
}));

const SetTaskRetentionPayload = builder.objectRef<{ tenant: Tenant }>('SetTaskRetentionPayload').implement({
  fields: (t) => ({ tenant: t.expose('tenant', { type: TenantRef }) }),
});

builder.mutationField('setTaskRetention', (t) =>
  t.field({
    description: 'Owners: keep finished tasks and their results this many days (1–3650); queued and running tasks are never deleted.',
    type: SetTaskRetentionPayload,
    skipTypeScopes: true,
    authScopes: { can: 'task.retention' },
    args: { days: t.arg.int({ required: true }) },
    resolve: async (_root, { days }, ctx) => ({ tenant: await setTaskRetention(ctx, { days }) }),
  }),
);
