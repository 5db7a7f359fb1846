import { builder } from '../../builder.ts';
import { inTenantRegion } from '../../request/in-region.ts';
import { applyHereAfterCommit, TenantRef } from './tenant.schema.ts';
import {
  cancelTenantDeletion,
  ERASURE_STEPS,
  getTenantDeletion,
  requestTenantDeletion,
  type TenantDeletionView,
} from './tenant-deletion.service.ts';

const TenantDeletionStep = builder.enumType('TenantDeletionStep', {
  description: 'The last step of an erasure completed: REQUESTED is the grace period, CERTIFIED the end.',
  values: ERASURE_STEPS,
});

builder.objectField(TenantRef, 'deletionDueAt', (t) =>
  t.expose('deletionDueAt', {
    type: 'DateTime',
    nullable: true,
    description: 'When a pending deletion’s grace period ends and the erasure begins; null when none is pending.',
  }),
);

const TenantDeletionRef = builder.objectRef<TenantDeletionView>('TenantDeletion').implement({
  description: 'Operators: one tenant’s deletion, its progress and, once erased, the signed certificate. Ids and counts only.',
  fields: (t) => ({
    tenantId: t.exposeString('tenantId'),
    step: t.field({ type: TenantDeletionStep, resolve: (deletion) => deletion.step }),
    requestedAt: t.expose('requestedAt', { type: 'DateTime' }),
    dueAt: t.expose('dueAt', { type: 'DateTime' }),
    attempts: t.exposeInt('attempts', { description: 'Failed attempts of the step after `step`; the job resumes from it.' }),
    lastError: t.exposeString('lastError', { nullable: true }),
    erasedAt: t.expose('erasedAt', { type: 'DateTime', nullable: true }),
    certificate: t.string({
      nullable: true,
      description: 'The signed deletion certificate: save as certificate.json and verify offline (npm run deletion:verify).',
      resolve: (deletion) => (deletion.certificate ? JSON.stringify(deletion.certificate) : null),
    }),
  }),
});

builder.queryField('tenantDeletion', (t) =>
  t.field({
    description: 'Operators: the deletion of a tenant (pending, in progress or done), by tenant id.',
    type: TenantDeletionRef,
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.read' },
    args: { tenantId: t.arg.globalID({ required: true, for: TenantRef }) },
    resolve: (_root, { tenantId }, ctx) => inTenantRegion(ctx, tenantId.id, (scope) => getTenantDeletion(scope, tenantId.id)),
  }),
);

builder.mutationFields((t) => ({
  requestTenantDeletion: t.field({
    description:
      'Owners: erase the whole tenant after a grace period (cancellable until the erasure begins). Meanwhile the tenant is refused ' +
      'to everyone but its owners, who can only cancel and download the audit report.',
    type: TenantRef,
    skipTypeScopes: true,
    authScopes: { can: 'tenant.delete' },
    resolve: async (_root, _args, ctx) => {
      const tenant = await requestTenantDeletion(ctx, ctx.tenantDeletion);
      await applyHereAfterCommit(ctx, tenant);
      return tenant;
    },
  }),
  cancelTenantDeletion: t.field({
    description: 'Owners: cancel a pending deletion before its erasure begins; the tenant is ACTIVE again.',
    type: TenantRef,
    skipTypeScopes: true,
    authScopes: { can: 'tenant.delete' },
    resolve: async (_root, _args, ctx) => {
      const tenant = await cancelTenantDeletion(ctx);
      await applyHereAfterCommit(ctx, tenant);
      return tenant;
    },
  }),
}));
