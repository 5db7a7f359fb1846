import { Kind } from 'graphql';
import { builder } from '../../builder.ts';
import { Secret } from '../../shared/secret.ts';
import { AgentRef } from '../agents/agent.schema.ts';
import type { Agent } from '../agents/index.ts';
import { placeholderOf } from '../egress/index.ts';
import type { AgentCredential } from './credential.entity.ts';
import {
  credentialKeyStatus,
  deleteCredential,
  listCredentials,
  MAX_CREDENTIAL_BYTES,
  rotateCredential,
  rotateCredentialKey,
  setCredential,
  type TenantKeyVersionCount,
  tenantDataKeyCounts,
  tenantKeyStatus,
} from './credential.service.ts';

/**
 * Parsed straight into a Secret, so from here on it prints as `[redacted]` and the log scrubber
 * knows it. It never throws: graphql-js would quote the rejected value in its error, so anything
 * that is not a string becomes an empty Secret and the service refuses it without echoing it.
 */
builder.scalarType('CredentialValue', {
  description: `A credential's value (1 to ${MAX_CREDENTIAL_BYTES} bytes of UTF-8). Write-only: never returned.`,
  serialize: () => {
    throw new Error('credential values are write-only');
  },
  parseValue: (value) => new Secret(typeof value === 'string' ? value : ''),
  parseLiteral: (node) => new Secret(node.kind === Kind.STRING ? node.value : ''),
});

/** Metadata of one credential: never its value, which only the agent's process ever receives. */
export const AgentCredentialRef = builder.objectRef<AgentCredential>('AgentCredential').implement({
  authScopes: (credential) => ({ $all: { can: 'credential.read', sameTenant: credential.tenantId } }),
  fields: (t) => ({
    name: t.exposeString('name', { description: "Also the environment variable's name in the agent's process." }),
    version: t.exposeInt('version', { description: '1 when set, +1 on every rotation.' }),
    fingerprint: t.exposeString('fingerprint', {
      description: 'Tells versions apart; keyed by the value’s own data key, so it reveals nothing about the value.',
    }),
    egressHosts: t.exposeStringList('egressHosts', {
      description:
        'Secret swap: the hosts (`host:port` rules) the egress proxy sends the value to; empty: the agent holds the value itself.',
    }),
    placeholder: t.string({
      nullable: true,
      description: 'With egressHosts: what the agent finds in its environment instead of the value (not secret).',
      resolve: (credential) => (credential.egressHosts.length > 0 ? placeholderOf(credential.id) : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    rotatedAt: t.expose('rotatedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.objectField(AgentRef, 'credentials', (t) =>
  t.field({
    type: [AgentCredentialRef],
    description: 'The credentials this agent receives as environment variables at start (owners and admins).',
    authScopes: { can: 'credential.read' },
    resolve: (agent, _args, ctx) => listCredentials(ctx, agent),
  }),
);

const CredentialPayload = builder.objectRef<{ credential: AgentCredential; agent: Agent }>('CredentialPayload').implement({
  fields: (t) => ({
    credential: t.expose('credential', { type: AgentCredentialRef }),
    agent: t.expose('agent', { type: AgentRef, description: 'A running agent restarts to receive the change.' }),
  }),
});

const DeleteCredentialPayload = builder.objectRef<{ deletedName: string; agent: Agent }>('DeleteCredentialPayload').implement({
  fields: (t) => ({
    deletedName: t.exposeString('deletedName'),
    agent: t.expose('agent', { type: AgentRef }),
  }),
});

const CredentialKeyStatus = builder
  .objectRef<{ provider: string; latestVersion: number; minDecryptionVersion: number; pendingRewrap: number }>('CredentialKeyStatus')
  .implement({
    fields: (t) => ({
      provider: t.exposeString('provider', { description: '`local` or `vault`.' }),
      latestVersion: t.exposeInt('latestVersion', { description: 'The KEK version new data keys are wrapped with.' }),
      minDecryptionVersion: t.exposeInt('minDecryptionVersion', { description: 'Older versions are retired: they unwrap nothing.' }),
      pendingRewrap: t.exposeInt('pendingRewrap', { description: 'Data keys still wrapped under an older version.' }),
    }),
  });

const TenantDataKeyVersion = builder.objectRef<TenantKeyVersionCount>('TenantDataKeyVersion').implement({
  description: 'How many of the tenant’s data keys one KEK version wraps: counts only, never a key.',
  fields: (t) => ({
    version: t.exposeInt('version'),
    total: t.exposeInt('total', { description: 'All of the tenant’s data keys under this version.' }),
    credentials: t.exposeInt('credential', { description: 'Agent credentials (one data key each).' }),
    agentMemory: t.exposeInt('agentMemory', { description: 'Agents’ memory (one data key per agent).' }),
    sharing: t.exposeInt('sharing', { description: 'The tenant’s sharing key (handoffs and shared files): 0 or 1.' }),
  }),
});

const TenantKeyStatus = builder
  .objectRef<{ provider: string; latestVersion: number; minDecryptionVersion: number }>('TenantKeyStatus')
  .implement({
    description: 'The keys behind agent credentials and memory, as members may know them: never key material.',
    fields: (t) => ({
      provider: t.exposeString('provider', { description: '`local` (a keyring file) or `vault` (HashiCorp Vault Transit).' }),
      latestVersion: t.exposeInt('latestVersion', { description: 'The KEK version new data keys are wrapped with.' }),
      minDecryptionVersion: t.exposeInt('minDecryptionVersion', { description: 'Older versions are retired: they unwrap nothing.' }),
      /** Owners and admins: the counts say how many credentials the tenant holds (see tenantDataKeyCounts). */
      dataKeys: t.field({
        type: [TenantDataKeyVersion],
        nullable: true,
        description:
          'Owners and admins: how many of this tenant’s data keys each KEK version still wraps, newest version first (a rotation’s progress).',
        authScopes: { can: 'credential.read' },
        resolve: (status, _args, ctx) => tenantDataKeyCounts(ctx, status),
      }),
    }),
  });

builder.queryFields((t) => ({
  tenantKeyStatus: t.field({
    type: TenantKeyStatus,
    description: "Members: the key provider and the key-encryption key's versions behind the tenant's secrets (no key material).",
    skipTypeScopes: true,
    authScopes: { can: 'tenant.read' },
    resolve: (_root, _args, ctx) => tenantKeyStatus(ctx),
  }),
  credentialKeyStatus: t.field({
    type: CredentialKeyStatus,
    description: 'Operators: where the key-encryption key and its background rewrap stand.',
    skipTypeScopes: true,
    authScopes: { can: 'platform.keys.manage' },
    resolve: (_root, _args, ctx) => credentialKeyStatus(ctx),
  }),
}));

const credentialTarget = (t: Parameters<Parameters<typeof builder.mutationFields>[0]>[0]) => ({
  agentId: t.arg.globalID({ required: true, for: AgentRef }),
  name: t.arg.string({ required: true }),
});

builder.mutationFields((t) => ({
  setCredential: t.field({
    type: CredentialPayload,
    description: 'Adds a credential to an agent (CONFLICT if the name exists). Owners and admins.',
    skipTypeScopes: true,
    authScopes: { can: 'credential.manage' },
    args: {
      ...credentialTarget(t),
      value: t.arg({ type: 'CredentialValue', required: true }),
      egressHosts: t.arg.stringList({
        description:
          'Secret swap: the agent gets a placeholder, and the egress proxy puts the value into request headers for these `host:port` rules only.',
      }),
    },
    resolve: (_root, { agentId, name, value, egressHosts }, ctx) =>
      setCredential(ctx, { agentId: agentId.id, name, value, egressHosts: egressHosts ?? [] }),
  }),
  rotateCredential: t.field({
    type: CredentialPayload,
    description: "Replaces a credential's value; its version goes up by one. Owners and admins.",
    skipTypeScopes: true,
    authScopes: { can: 'credential.manage' },
    args: { ...credentialTarget(t), value: t.arg({ type: 'CredentialValue', required: true }) },
    resolve: (_root, { agentId, name, value }, ctx) => rotateCredential(ctx, { agentId: agentId.id, name, value }),
  }),
  deleteCredential: t.field({
    type: DeleteCredentialPayload,
    description: 'Removes a credential from an agent. Owners and admins.',
    skipTypeScopes: true,
    authScopes: { can: 'credential.manage' },
    args: credentialTarget(t),
    resolve: (_root, { agentId, name }, ctx) => deleteCredential(ctx, { agentId: agentId.id, name }),
  }),
  rotateCredentialKey: t.field({
    type: 'Int',
    description:
      'Operators: a new key-encryption key version; existing data keys are rewrapped in the background, then older versions retired.',
    skipTypeScopes: true,
    authScopes: { can: 'platform.keys.manage' },
    resolve: (_root, _args, ctx) => rotateCredentialKey(ctx),
  }),
}));
