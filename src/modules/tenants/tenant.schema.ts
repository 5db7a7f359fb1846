import { builder } from '../../builder.ts';
import type { Context } from '../../request/context.ts';
import { inRegion, inTenantRegion } from '../../request/in-region.ts';
import { keysetConnection } from '../common/index.ts';
import { sessionClientAppOf } from '../policy/index.ts';
import { createOwnerSignInLink } from '../sessions/index.ts';
import { SessionPayload, SignInLinkPayload } from '../sessions/session.schema.ts';
import { UserRef } from '../users/user.schema.ts';
import { TENANT_PLANS, TENANT_STATUSES, Tenant } from './tenant.entity.ts';
import {
  admitSignUp,
  createSignUpInvite,
  getOwnTenant,
  listPlatformTenants,
  loadTenants,
  regionNamed,
  type SignUpResult,
  signUp,
} from './tenant.service.ts';
import { freezeTenant, setTenantRateLimit, unfreezeTenant } from './tenant-lifecycle.service.ts';
import { applyAfterCommit, policyOfTenant } from './tenant-policy-watcher.ts';

const TenantPlan = builder.enumType('TenantPlan', { values: TENANT_PLANS });
export const TenantStatus = builder.enumType('TenantStatus', { values: TENANT_STATUSES });

/** Tenant metadata: readable by the tenant's own principals and by operators, nothing inside it. */
export const TenantRef = builder.node(Tenant, {
  name: 'Tenant',
  id: { resolve: (tenant) => tenant.id },
  authScopes: (tenant) => ({ $any: { sameTenant: tenant.id, can: 'platform.tenants.read' } }),
  loadMany: (ids, ctx) => loadTenants(ctx, ids),
  fields: (t) => ({
    name: t.exposeString('name'),
    plan: t.field({ type: TenantPlan, resolve: (tenant) => tenant.plan }),
    region: t.exposeString('region', { description: 'Where all the tenant’s data lives: its region’s database, and no other.' }),
    status: t.field({ type: TenantStatus, resolve: (tenant) => tenant.status }),
    frozenReason: t.exposeString('frozenReason', { nullable: true }),
    rateLimitPerMinute: t.exposeInt('rateLimitPerMinute', { nullable: true, description: 'Operations per minute; null: the default.' }),
    memberCount: t.exposeInt('userCount'),
    agentCount: t.exposeInt('agentCount'),
    auditRetentionDays: t.exposeInt('auditRetentionDays', { description: 'Days audit events are kept.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  tenant: t.field({
    description: "The caller's own tenant.",
    type: TenantRef,
    skipTypeScopes: true,
    authScopes: { can: 'tenant.read' },
    resolve: (_root, _args, ctx) => getOwnTenant(ctx),
  }),
  platformTenants: t.connection({
    description: 'Operators: every tenant of one region (default: the home region), metadata only.',
    type: TenantRef,
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.read' },
    args: { region: t.arg.string({ description: 'A region the gateway serves (see `regions`).' }) },
    resolve: (_root, args, ctx) =>
      inRegion(ctx, regionNamed(ctx, args.region), (scope) => keysetConnection(args, (page) => listPlatformTenants(scope, page))),
  }),
  regions: t.stringList({
    description: 'The regions this gateway serves; a tenant’s data lives in exactly one of them.',
    skipTypeScopes: true,
    /** Region names are not secret: whoever may sign up chooses one. Not an agent (its token reaches only its own memory and handoffs). */
    authScopes: (_root, _args, ctx) => ctx.principal.kind !== 'agent',
    resolve: (_root, _args, ctx) => ctx.regions.names,
  }),
}));

const SignUpOwnerInput = builder.inputType('SignUpOwnerInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    name: t.string({ required: true }),
  }),
});

const SignUpInput = builder.inputType('SignUpInput', {
  fields: (t) => ({
    tenantName: t.string({ required: true }),
    owner: t.field({ type: SignUpOwnerInput, required: true }),
    region: t.string({ description: 'Where the tenant’s data will live, for good (see `regions`); default: the home region.' }),
    inviteToken: t.string({
      description: 'An operator’s invitation for the owner’s email (createSignUpInvite); required when sign-up is by invitation.',
    }),
    deviceLabel: t.string({ description: 'Names the owner’s first session (e.g. “laptop”).' }),
  }),
});

const SignUpPayload = builder.objectRef<SignUpResult>('SignUpPayload').implement({
  fields: (t) => ({
    tenant: t.expose('tenant', { type: TenantRef }),
    owner: t.expose('owner', { type: UserRef }),
    token: t.string({
      description: "The owner's access token (the same as session.accessToken). Shown once.",
      resolve: (result) => result.session.accessToken.reveal(),
    }),
    session: t.field({
      type: SessionPayload,
      description: 'The owner’s first session: access and refresh tokens.',
      resolve: (result) => result.session,
    }),
  }),
});

builder.mutationField('signUp', (t) =>
  t.field({
    description: 'Self-service onboarding: creates a STANDARD tenant and its owner, and returns the owner token.',
    type: SignUpPayload,
    skipTypeScopes: true,
    /** Anyone may onboard, except an agent: its token reaches only its own memory and handoffs. */
    authScopes: (_root, _args, ctx) => ctx.principal.kind !== 'agent',
    args: { input: t.arg({ type: SignUpInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await admitSignUp(ctx, input);
      const result = await inRegion(ctx, regionNamed(ctx, input.region), (scope) =>
        signUp(scope, input, ctx.tokens, input.deviceLabel, sessionClientAppOf(ctx.request)),
      );
      // The caller is now the new tenant's owner, as if it had signed in with the returned token:
      // the payload's objects are rendered under that principal's scopes.
      ctx.principal = result.principal;
      return result;
    },
  }),
);

builder.mutationFields((t) => ({
  createOwnerSignInLink: t.field({
    description: 'Operators: a one-time sign-in link for a tenant’s owner, named by email (recovery when the owner has no session left).',
    type: SignInLinkPayload,
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.manage' },
    args: { tenantId: t.arg.globalID({ required: true, for: TenantRef }), email: t.arg.string({ required: true }) },
    resolve: (_root, { tenantId, email }, ctx) =>
      inTenantRegion(ctx, tenantId.id, (scope) => createOwnerSignInLink(scope, tenantId.id, { email })),
  }),
  createSignUpInvite: t.string({
    description: 'Operators: an invitation (7 days) for whoever signs up with this owner email, when sign-up is by invitation. Shown once.',
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.manage' },
    args: { email: t.arg.string({ required: true }) },
    resolve: async (_root, { email }, ctx) => (await createSignUpInvite(ctx, email)).reveal(),
  }),
  freezeTenant: t.field({
    description: 'Operators: refuse every request of the tenant on every replica, with a reason the tenant can read.',
    type: TenantRef,
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.manage' },
    args: { id: t.arg.globalID({ required: true, for: TenantRef }), reason: t.arg.string({ required: true }) },
    resolve: async (_root, { id, reason }, ctx) => {
      const tenant = await inTenantRegion(ctx, id.id, (scope) => freezeTenant(scope, id.id, { reason }));
      await applyHereAfterCommit(ctx, tenant);
      ctx.metrics.freezeEvents.inc({ action: 'freeze', cause: 'operator' });
      return tenant;
    },
  }),
  unfreezeTenant: t.field({
    type: TenantRef,
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.manage' },
    args: { id: t.arg.globalID({ required: true, for: TenantRef }) },
    resolve: async (_root, { id }, ctx) => {
      const tenant = await inTenantRegion(ctx, id.id, (scope) => unfreezeTenant(scope, id.id));
      await applyHereAfterCommit(ctx, tenant);
      ctx.metrics.freezeEvents.inc({ action: 'unfreeze', cause: 'operator' });
      return tenant;
    },
  }),
  setTenantRateLimit: t.field({
    description: "Operators: the tenant's operations per minute, or null for the gateway's default.",
    type: TenantRef,
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.manage' },
    args: { id: t.arg.globalID({ required: true, for: TenantRef }), perMinute: t.arg.int() },
    resolve: async (_root, { id, perMinute }, ctx) => {
      const tenant = await inTenantRegion(ctx, id.id, (scope) => setTenantRateLimit(scope, id.id, { perMinute: perMinute ?? null }));
      await applyHereAfterCommit(ctx, tenant);
      return tenant;
    },
  }),
}));

/** The change (an operator's, or an owner's deletion request or cancel) is in force on this replica from the moment the answer leaves, not when the feed echoes it. */
export async function applyHereAfterCommit(ctx: Context, tenant: Tenant): Promise<void> {
  const region = await ctx.regions.locate(tenant.id);
  applyAfterCommit(ctx, { tenantId: tenant.id, policy: policyOfTenant(tenant), region: region?.name });
}
