import { builder } from '../../builder.ts';
import { inRegion, inTenantRegion } from '../../request/in-region.ts';
import type { MintedSignInLink } from '../sessions/index.ts';
import { SignInLinkPayload } from '../sessions/session.schema.ts';
import { regionNamed, type Tenant } from '../tenants/index.ts';
import { TenantRef } from '../tenants/tenant.schema.ts';
import { type BackupResult, type RestoreResult, tenantOfBackup } from './backup.service.ts';
import { backupTenantFromRequest, createEnterpriseTenant, restoreTenantFromRequest } from './enterprise.service.ts';
import { upgradeTenantToEnterprise } from './upgrade.service.ts';

const EnterpriseOwnerInput = builder.inputType('EnterpriseOwnerInput', {
  fields: (t) => ({
    email: t.string({ required: true }),
    name: t.string({ required: true }),
  }),
});

const CreateEnterpriseTenantInput = builder.inputType('CreateEnterpriseTenantInput', {
  fields: (t) => ({
    tenantName: t.string({ required: true }),
    owner: t.field({ type: EnterpriseOwnerInput, required: true }),
    region: t.string({ description: 'Where the tenant’s schema and all its data will live, for good; default: the home region.' }),
  }),
});

const CreateEnterpriseTenantPayload = builder
  .objectRef<{ tenant: Tenant; ownerToken: string; ownerSignInLink: MintedSignInLink }>('CreateEnterpriseTenantPayload')
  .implement({
    fields: (t) => ({
      tenant: t.expose('tenant', { type: TenantRef }),
      ownerSignInLink: t.expose('ownerSignInLink', {
        type: SignInLinkPayload,
        description:
          "The new owner's one-time sign-in link (15 minutes), to hand over: redeemSignInLink opens its first session. Shown once.",
      }),
      ownerToken: t.exposeString('ownerToken', {
        description: "The new owner's first access token, without a session. Shown once.",
        deprecationReason: 'Hand over ownerSignInLink instead: it opens a session the owner can refresh and end.',
      }),
    }),
  });

builder.mutationField('createEnterpriseTenant', (t) =>
  t.field({
    description: 'Operators: onboard an ENTERPRISE tenant, with its own database schema, and its owner.',
    type: CreateEnterpriseTenantPayload,
    skipTypeScopes: true,
    authScopes: { can: 'platform.enterprise.manage' },
    args: { input: t.arg({ type: CreateEnterpriseTenantInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const result = await inRegion(ctx, regionNamed(ctx, input.region), (scope) =>
        createEnterpriseTenant(scope, input, (owner) => ctx.tokens.issue(owner)),
      );
      return { tenant: result.tenant, ownerToken: result.ownerToken.reveal(), ownerSignInLink: result.ownerSignInLink };
    },
  }),
);

builder.mutationField('upgradeTenantToEnterprise', (t) =>
  t.field({
    description: 'Operators: move a STANDARD tenant into its own schema, verified by counts and checksums, in one transaction.',
    type: TenantRef,
    skipTypeScopes: true,
    authScopes: { can: 'platform.enterprise.manage' },
    args: { id: t.arg.globalID({ required: true, for: TenantRef }) },
    resolve: async (_root, { id }, ctx) => (await inTenantRegion(ctx, id.id, (scope) => upgradeTenantToEnterprise(scope, id.id))).tenant,
  }),
);

const TenantBackup = builder.objectRef<BackupResult>('TenantBackup').implement({
  description: 'An encrypted archive of one tenant’s rows, kept in the gateway’s backup directory.',
  fields: (t) => ({
    backupId: t.exposeString('backupId', { description: 'The archive’s name; give it to restoreTenant.' }),
    sha256: t.exposeString('sha256', { description: 'SHA-256 of the archive file, hex.' }),
    bytes: t.exposeInt('bytes'),
    rows: t.expose('rows', { type: 'JSONObject', description: 'Rows per table.' }),
  }),
});

const TenantRestore = builder.objectRef<RestoreResult & { tenant: Tenant }>('TenantRestore').implement({
  fields: (t) => ({
    tenant: t.expose('tenant', { type: TenantRef }),
    schema: t.exposeString('schema', { description: 'The database schema the rows were restored into.' }),
    rows: t.expose('rows', { type: 'JSONObject', description: 'Rows per table.' }),
    memoryShreddedAgents: t.int({
      description: 'Agents whose memory in the archive was not restored: their data key is gone (no archive holds one).',
      resolve: (restore) => restore.memoryShredded.agents,
    }),
    memoryShreddedEntries: t.int({
      description: 'Memory entries not restored, for the same reason.',
      resolve: (restore) => restore.memoryShredded.entries,
    }),
  }),
});

const RestoreTarget = builder.enumType('RestoreTarget', {
  values: {
    SAME: { description: 'The tenant’s own (enterprise) schema, which must be empty: after a loss.' },
    NEW: { description: 'A fresh schema beside the live one, to inspect or compare.' },
  },
});

builder.mutationFields((t) => ({
  backupTenant: t.field({
    description: 'Operators: write an encrypted archive of one tenant’s rows (either tier).',
    type: TenantBackup,
    skipTypeScopes: true,
    authScopes: { can: 'platform.enterprise.manage' },
    args: { id: t.arg.globalID({ required: true, for: TenantRef }) },
    resolve: (_root, { id }, ctx) => inTenantRegion(ctx, id.id, (scope) => backupTenantFromRequest(scope, id.id)),
  }),
  restoreTenant: t.field({
    description: 'Operators: bring an archive back into the tenant’s own schema or a new one beside it.',
    type: TenantRestore,
    skipTypeScopes: true,
    authScopes: { can: 'platform.enterprise.manage' },
    args: { backupId: t.arg.string({ required: true }), into: t.arg({ type: RestoreTarget, required: true }) },
    resolve: (_root, args, ctx) =>
      inTenantRegion(ctx, tenantOfBackup(args.backupId), (scope) =>
        restoreTenantFromRequest(scope, { backupId: args.backupId, into: args.into }),
      ),
  }),
}));
