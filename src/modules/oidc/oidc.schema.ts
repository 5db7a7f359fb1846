import { builder } from '../../builder.ts';
import { inRegion } from '../../request/in-region.ts';
import { sessionClientAppOf } from '../policy/index.ts';
import { SessionPayload, signedIn } from '../sessions/session.schema.ts';
import { regionNamed } from '../tenants/index.ts';
import { TenantRef } from '../tenants/tenant.schema.ts';
import {
  deleteOidcConnection,
  deletePlatformOidcConnection,
  listOidcConnections,
  listPlatformOidcConnections,
  type PlatformOidcConnection,
  registerOidcConnection,
  registerPlatformOidcConnection,
  signInWithOidc,
} from './oidc.service.ts';
import { JIT_ROLES, type OidcConnection } from './oidc-connection.entity.ts';

const JitRole = builder.enumType('OidcMappedRole', { values: JIT_ROLES });

/** A tenant's OpenID Connect connection: configuration only (the gateway holds no client secret). */
const OidcConnectionRef = builder.objectRef<OidcConnection>('OidcConnection').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    issuer: t.exposeString('issuer'),
    clientId: t.exposeString('clientId'),
    allowedDomains: t.exposeStringList('allowedDomains'),
    roleClaim: t.exposeString('roleClaim', { nullable: true }),
    roleMapping: t.field({ type: 'JSONObject', resolve: (connection) => connection.roleMapping }),
    jitRole: t.field({ type: JitRole, nullable: true, resolve: (connection) => connection.jitRole }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

/** The platform's own connection for standard tenants (operators): configuration only. */
const PlatformOidcConnectionRef = builder.objectRef<PlatformOidcConnection>('PlatformOidcConnection').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    issuer: t.exposeString('issuer'),
    clientId: t.exposeString('clientId'),
    allowedDomains: t.exposeStringList('allowedDomains'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const RegisterPlatformOidcConnectionInput = builder.inputType('RegisterPlatformOidcConnectionInput', {
  fields: (t) => ({
    issuer: t.string({ required: true }),
    clientId: t.string({ required: true }),
    allowedDomains: t.stringList({ required: true, description: 'Email domains admitted, or ["*"] for any verified email.' }),
    region: t.string({ description: 'The region whose standard tenants it serves (see `regions`); default: the home region.' }),
  }),
});

const RegisterOidcConnectionInput = builder.inputType('RegisterOidcConnectionInput', {
  fields: (t) => ({
    issuer: t.string({ required: true, description: 'The issuer URL exactly as its discovery document states it (https).' }),
    clientId: t.string({ required: true, description: 'The client id the issuer puts in `aud` of the ID tokens it issues for your app.' }),
    allowedDomains: t.stringList({
      required: true,
      description: 'Email domains whose verified addresses may sign in through this connection.',
    }),
    roleClaim: t.string({ description: 'A claim (e.g. `groups`) whose values map to roles through roleMapping.' }),
    roleMapping: t.field({ type: 'JSONObject', description: 'Claim value → ADMIN, MEMBER or VIEWER, e.g. {"platform-admins": "ADMIN"}.' }),
    jitRole: t.field({
      type: JitRole,
      description: 'Let unknown people of the allowed domains join with this role. Absent: only existing members sign in.',
    }),
  }),
});

const SignInInput = builder.inputType('SignInInput', {
  fields: (t) => ({
    idToken: t.string({ required: true, description: 'An ID token from an issuer your tenant registered.' }),
    nonce: t.string({ description: 'The nonce your app sent in its authorization request: the token must carry it.' }),
    tenant: t.globalID({ for: TenantRef, description: 'Which tenant, when the identity belongs to several.' }),
    deviceLabel: t.string({ description: 'Names the session (e.g. “laptop”).' }),
  }),
});

builder.queryField('platformOidcConnections', (t) =>
  t.field({
    description: 'Operators: the platform’s OpenID Connect connections for standard tenants, in one region (default: home).',
    type: [PlatformOidcConnectionRef],
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.read' },
    args: { region: t.arg.string() },
    resolve: (_root, args, ctx) => inRegion(ctx, regionNamed(ctx, args.region), (scope) => listPlatformOidcConnections(scope)),
  }),
);

builder.queryField('oidcConnections', (t) =>
  t.field({
    description: 'Owners: the tenant’s OpenID Connect connections.',
    type: [OidcConnectionRef],
    skipTypeScopes: true,
    authScopes: { can: 'identity.manage' },
    resolve: (_root, _args, ctx) => listOidcConnections(ctx),
  }),
);

builder.mutationFields((t) => ({
  signIn: t.field({
    description: 'Signs in with an ID token of an OpenID Connect issuer your tenant trusts, and opens a session.',
    type: SessionPayload,
    skipTypeScopes: true,
    /** Anyone but an agent: the ID token is the credential, verified against the issuer's keys. */
    authScopes: (_root, _args, ctx) => ctx.principal.kind !== 'agent',
    args: { input: t.arg({ type: SignInInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      signedIn(ctx, await signInWithOidc(ctx, { ...input, tenant: input.tenant?.id, clientApp: sessionClientAppOf(ctx.request) })),
  }),
  registerOidcConnection: t.field({
    description: 'Owners: trust an OpenID Connect issuer and client id to sign in members of the allowed email domains.',
    type: OidcConnectionRef,
    skipTypeScopes: true,
    authScopes: { can: 'identity.manage' },
    args: { input: t.arg({ type: RegisterOidcConnectionInput, required: true }) },
    resolve: (_root, { input }, ctx) => registerOidcConnection(ctx, input, ctx.oidc),
  }),
  registerPlatformOidcConnection: t.field({
    description:
      'Operators: the platform’s identity provider for standard tenants. Signs in members an owner or admin added by email; adds nobody.',
    type: PlatformOidcConnectionRef,
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.manage' },
    args: { input: t.arg({ type: RegisterPlatformOidcConnectionInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      inRegion(ctx, regionNamed(ctx, input.region), (scope) => registerPlatformOidcConnection(scope, input, ctx.oidc)),
  }),
  deletePlatformOidcConnection: t.id({
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.manage' },
    args: { id: t.arg.id({ required: true }), region: t.arg.string() },
    resolve: (_root, { id, region }, ctx) =>
      inRegion(ctx, regionNamed(ctx, region), (scope) => deletePlatformOidcConnection(scope, String(id))),
  }),
  deleteOidcConnection: t.id({
    description: 'Owners: stop trusting a connection. Sessions already opened through it go on until revoked.',
    skipTypeScopes: true,
    authScopes: { can: 'identity.manage' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => deleteOidcConnection(ctx, String(id)),
  }),
}));
