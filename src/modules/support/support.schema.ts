import { builder } from '../../builder.ts';
import { keysetConnection } from '../common/index.ts';
import { grantSupportAccess, listSupportGrants, loadSupportGrants, revokeSupportAccess } from './support.service.ts';
import { SupportGrant } from './support-grant.entity.ts';

/** A tenant owner's time-bound, read-only grant to a named support principal. */
export const SupportGrantRef = builder.node(SupportGrant, {
  name: 'SupportGrant',
  id: { resolve: (grant) => grant.id },
  authScopes: (grant) => ({ $all: { can: 'support.manage', sameTenant: grant.tenantId } }),
  loadMany: (ids, ctx) => loadSupportGrants(ctx, ids),
  fields: (t) => ({
    supportPrincipal: t.exposeString('supportPrincipal'),
    reason: t.exposeString('reason'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryField('supportGrants', (t) =>
  t.connection({
    description: "Owners: the tenant's support grants, oldest first.",
    type: SupportGrantRef,
    skipTypeScopes: true,
    authScopes: { can: 'support.manage' },
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => listSupportGrants(ctx, page)),
  }),
);

const GrantSupportAccessInput = builder.inputType('GrantSupportAccessInput', {
  fields: (t) => ({
    supportPrincipal: t.string({ required: true, description: 'Who may use the grant, e.g. ops@fleetgate.io.' }),
    reason: t.string({ required: true }),
    durationMinutes: t.int({ required: true, description: '5 to 10080 (7 days).' }),
  }),
});

const GrantSupportAccessPayload = builder.objectRef<{ grant: SupportGrant; token: string }>('GrantSupportAccessPayload').implement({
  fields: (t) => ({
    grant: t.expose('grant', { type: SupportGrantRef }),
    token: t.exposeString('token', { description: 'The support token: read-only, expires with the grant. Shown once.' }),
  }),
});

const RevokeSupportAccessPayload = builder.objectRef<{ grant: SupportGrant }>('RevokeSupportAccessPayload').implement({
  fields: (t) => ({ grant: t.expose('grant', { type: SupportGrantRef }) }),
});

builder.mutationFields((t) => ({
  grantSupportAccess: t.field({
    description: 'Owners: time-bound, read-only access for a named support principal; every request under it is audited.',
    type: GrantSupportAccessPayload,
    skipTypeScopes: true,
    authScopes: { can: 'support.manage' },
    args: { input: t.arg({ type: GrantSupportAccessInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { grant, token } = await grantSupportAccess(ctx, input, (g) =>
        ctx.tokens.issue({ kind: 'support', tenantId: g.tenantId, grantId: g.id, supportPrincipal: g.supportPrincipal }, g.expiresAt),
      );
      return { grant, token: token.reveal() };
    },
  }),
  revokeSupportAccess: t.field({
    type: RevokeSupportAccessPayload,
    skipTypeScopes: true,
    authScopes: { can: 'support.manage' },
    args: { id: t.arg.globalID({ required: true, for: SupportGrantRef }) },
    resolve: async (_root, { id }, ctx) => ({ grant: await revokeSupportAccess(ctx, id.id) }),
  }),
}));
