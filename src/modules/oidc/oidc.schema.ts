import { builder } from '../../builder.ts';
import { SessionPayload, signedIn } from '../sessions/session.schema.ts';
import { TenantRef } from '../tenants/tenant.schema.ts';
import { deleteOidcConnection, listOidcConnections, registerOidcConnection, signInWithOidc } from './oidc.service.ts';
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
    resolve: async (_root, { input }, ctx) => signedIn(ctx, await signInWithOidc(ctx, { ...input, tenant: input.tenant?.id })),
  }),
  registerOidcConnection: t.field({
    description: 'Owners: trust an OpenID Connect issuer and client id to sign in members of the allowed email domains.',
    type: OidcConnectionRef,
    skipTypeScopes: true,
    authScopes: { can: 'identity.manage' },
    args: { input: t.arg({ type: RegisterOidcConnectionInput, required: true }) },
    resolve: (_root, { input }, ctx) => registerOidcConnection(ctx, input, ctx.oidc),
  }),
  deleteOidcConnection: t.id({
    description: 'Owners: stop trusting a connection. Sessions already opened through it go on until revoked.',
    skipTypeScopes: true,
    authScopes: { can: 'identity.manage' },
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => deleteOidcConnection(ctx, String(id)),
  }),
}));
