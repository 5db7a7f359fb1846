import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { assertCan } from '../../auth/actions.ts';
import { tenantOf } from '../../auth/principal.ts';
import {
  countTenantKeys,
  type DataKeyKind,
  EnvelopeIntegrityError,
  holdKeyVersions,
  type KeyProvider,
  KeyProviderUnavailableError,
  type KeyRotation,
  open,
  seal,
  type WrappedKeyTable,
} from '../../keys/index.ts';
import type { RequestScope } from '../../request/scope.ts';
import { badInput, clientError, notFound } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import type { Secret } from '../../shared/secret.ts';
import { parseInput } from '../../shared/validation.ts';
import { type Agent, getAgent } from '../agents/index.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { parseEgressRule } from '../egress/index.ts';
import { enqueueJob } from '../provisioning/job-queue.ts';
import { AgentCredential } from './credential.entity.ts';
import { lockAgentRow } from './credential.store.ts';

/** The key provider and the KEK rotation, as the request context carries them. */
export interface CredentialKeys {
  provider: KeyProvider;
  rotation: KeyRotation;
  /** Every table of a tenant's wrapped data keys (credentials, agent memory, sharing), as tenantKeyStatus counts them. */
  tenantTables: readonly WrappedKeyTable[];
}

/** What credential services need beyond a request scope. */
export type CredentialScope = RequestScope & { keys: CredentialKeys };

/** Largest value, in bytes (UTF-8). */
export const MAX_CREDENTIAL_BYTES = 32 * 1024;
/** Most credentials one agent holds: they all travel in its start payload. */
export const MAX_CREDENTIALS_PER_AGENT = 64;

/**
 * The name is the environment variable's name in the agent's process. `FLEETGATE_` is reserved for
 * what the platform itself delivers at start (e.g. an agent token), and names that would change how
 * the process runs (PATH, LD_PRELOAD, …) are refused.
 */
const RESERVED = new Set(['PATH', 'HOME', 'HOSTNAME', 'PWD', 'OLDPWD', 'SHELL', 'USER', 'IFS', 'ENV', 'TERM', 'PS1', 'PS4', 'TMPDIR']);
const credentialName = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'must be an environment variable name: A-Z, 0-9 and _, starting with a letter, at most 64')
  .refine((name) => !RESERVED.has(name) && !name.startsWith('LD_') && !name.startsWith('FLEETGATE_'), 'is reserved');
const target = z.object({ agentId: z.string(), name: credentialName });

/** Metadata only, for `Agent.credentials`: the value is never read back through the API. */
export async function listCredentials(scope: RequestScope, agent: Agent): Promise<AgentCredential[]> {
  assertCan(scope.principal, 'credential.read');
  if (agent.tenantId !== tenantOf(scope.principal)) throw notFound('Agent', agent.id);
  return scope.em.find(AgentCredential, { agentId: agent.id }, { orderBy: { name: 'asc' } });
}

/**
 * Seals a new credential for one agent (CONFLICT if the name exists: use rotateCredential) and,
 * if the agent runs, queues its restart so its process gets the value. Owners and admins only.
 */
export async function setCredential(
  scope: CredentialScope,
  input: { agentId: string; name: string; value: Secret; egressHosts?: readonly string[] },
) {
  assertCan(scope.principal, 'credential.manage');
  const { agentId, name } = parseInput(target, input);
  const egressHosts = egressHostsOf(input.egressHosts ?? []);
  const value = valueBytes(input.value);
  try {
    const agent = await lockAgent(scope, agentId);
    const existing = await scope.em.find(AgentCredential, { agentId: agent.id }, { fields: ['id', 'name'] });
    if (existing.some((credential) => credential.name === name))
      throw clientError('CONFLICT', 'This agent already has a credential with this name');
    if (existing.length >= MAX_CREDENTIALS_PER_AGENT) throw badInput(`An agent holds at most ${MAX_CREDENTIALS_PER_AGENT} credentials`);
    const id = newId();
    const sealed = await sealFor(scope, { tenantId: agent.tenantId, agentId: agent.id, credentialId: id, version: 1 }, value);
    const credential = scope.em.create(AgentCredential, {
      id,
      tenantId: agent.tenantId,
      agentId: agent.id,
      name,
      version: 1,
      egressHosts,
      ...sealed,
    });
    recordAudit(scope, {
      action: 'credential.set',
      targetType: 'Agent',
      targetId: agent.id,
      detail: { name, version: 1, ...(egressHosts.length > 0 ? { egressHosts } : {}) },
    });
    await flushConflicts(scope);
    await restartIfRunning(scope, agent);
    return { credential, agent };
  } finally {
    value.fill(0);
  }
}

/** The swap's host rules in their stored form, or BAD_USER_INPUT naming the first that is not a rule. */
function egressHostsOf(rules: readonly string[]): string[] {
  if (rules.length > 16) throw badInput('A credential is bound to at most 16 hosts', 'egressHosts');
  const parsed = rules.map((text) => {
    try {
      const rule = parseEgressRule(text);
      return `${rule.host}:${rule.port}`;
    } catch (error) {
      throw badInput((error as Error).message, 'egressHosts');
    }
  });
  return [...new Set(parsed)];
}

/** A new value (and version) for an existing credential; a running agent is restarted with it. */
export async function rotateCredential(scope: CredentialScope, input: { agentId: string; name: string; value: Secret }) {
  assertCan(scope.principal, 'credential.manage');
  const { agentId, name } = parseInput(target, input);
  const value = valueBytes(input.value);
  try {
    const agent = await lockAgent(scope, agentId);
    const credential = await findCredential(scope, agent, name);
    const version = credential.version + 1;
    const sealed = await sealFor(scope, { tenantId: agent.tenantId, agentId: agent.id, credentialId: credential.id, version }, value);
    scope.em.assign(credential, { version, rotatedAt: new Date(), ...sealed });
    recordAudit(scope, { action: 'credential.rotate', targetType: 'Agent', targetId: agent.id, detail: { name, version } });
    await scope.em.flush();
    await restartIfRunning(scope, agent);
    return { credential, agent };
  } finally {
    value.fill(0);
  }
}

/** Removes the credential; a running agent is restarted without it. */
export async function deleteCredential(scope: CredentialScope, input: { agentId: string; name: string }) {
  assertCan(scope.principal, 'credential.manage');
  const { agentId, name } = parseInput(target, input);
  const agent = await lockAgent(scope, agentId);
  const credential = await findCredential(scope, agent, name);
  scope.em.remove(credential);
  recordAudit(scope, {
    action: 'credential.delete',
    targetType: 'Agent',
    targetId: agent.id,
    detail: { name, version: credential.version },
  });
  await scope.em.flush();
  await restartIfRunning(scope, agent);
  return { deletedName: name, agent };
}

/**
 * The values of one agent's credentials, for delivery into its process at start (see
 * credential-delivery.ts); `em` is bound to the agent's tenant (RLS and filter). Every value is
 * authenticated against its row: a ciphertext copied from another agent's or tenant's row fails.
 */
/**
 * One of the agent's credentials cannot be decrypted: its ciphertext, nonce or wrapped key was
 * altered, or it was moved from another row. Names the credential and why, never its value; the
 * tenant fixes it by setting the credential again.
 */
export class CredentialUnreadableError extends Error {
  override name = 'CredentialUnreadableError';
  constructor(
    readonly credentialName: string,
    readonly reason: 'failed its integrity check',
    cause?: unknown,
  ) {
    super(`credential "${credentialName}" ${reason}`, { cause });
  }
}

export async function openAgentCredentials(
  em: EntityManager,
  provider: KeyProvider,
  agent: { tenantId: string; agentId: string },
): Promise<{ id: string; name: string; value: Buffer; egressHosts: string[] }[]> {
  return em.transactional(async (tx) => {
    await holdKeyVersions(tx);
    const rows = await tx.find(AgentCredential, { agentId: agent.agentId }, { orderBy: { name: 'asc' } });
    const opened: { id: string; name: string; value: Buffer; egressHosts: string[] }[] = [];
    try {
      for (const row of rows) {
        const binding = { tenantId: agent.tenantId, agentId: agent.agentId, credentialId: row.id, version: row.version };
        const sealed = { ciphertext: Buffer.from(row.ciphertext), nonce: Buffer.from(row.nonce), wrappedKey: row.wrappedKey };
        try {
          opened.push({ id: row.id, name: row.name, value: await open(provider, binding, sealed), egressHosts: row.egressHosts });
        } catch (error) {
          if (error instanceof EnvelopeIntegrityError) throw new CredentialUnreadableError(row.name, 'failed its integrity check', error);
          throw error;
        }
      }
      return opened;
    } catch (error) {
      for (const { value } of opened) value.fill(0);
      throw error;
    }
  });
}

/**
 * Operators rotate the KEK: a new version wraps every new data key at once, and a background
 * rewrap moves the existing ones (without decrypting any value) before older versions are retired.
 */
export async function rotateCredentialKey(scope: CredentialScope): Promise<number> {
  assertCan(scope.principal, 'platform.keys.manage');
  const version = await withProvider(scope, () => scope.keys.provider.rotate());
  scope.log.info({ keyVersion: version, provider: scope.keys.provider.kind }, 'key-encryption key rotated; rewrapping');
  scope.keys.rotation.poke();
  return version;
}

/** Where the KEK stands: versions and how many data keys still wait for their rewrap. Operators only. */
export async function credentialKeyStatus(scope: CredentialScope) {
  assertCan(scope.principal, 'platform.keys.manage');
  const status = await withProvider(scope, () => scope.keys.provider.status());
  return { provider: scope.keys.provider.kind, ...status, pendingRewrap: await scope.keys.rotation.pending(status.latestVersion) };
}

/**
 * What a tenant's members may know of the keys behind their agents' credentials and memory: the
 * provider's kind and the KEK versions in use (`tenant.read`). No key material and no key id: the
 * same facts every tenant of this gateway sees. How many of the tenant's own data keys each version
 * still wraps is asked for separately (tenantDataKeyCounts).
 */
export async function tenantKeyStatus(scope: CredentialScope) {
  assertCan(scope.principal, 'tenant.read');
  const { latestVersion, minDecryptionVersion } = await withProvider(scope, () => scope.keys.provider.status());
  return { provider: scope.keys.provider.kind, latestVersion, minDecryptionVersion };
}

/** How many of the tenant's data keys one KEK version wraps: in all, and by what they protect. */
export type TenantKeyVersionCount = { version: number; total: number } & Record<DataKeyKind, number>;

/**
 * How many of the caller's tenant's data keys each KEK version wraps, so an owner follows a
 * rotation's rewrap: every version from the oldest still usable to the newest (zero where none is
 * left), and any other a key still names. Owners and admins (`credential.read`): the numbers tell how
 * many credentials the tenant holds, which is credential metadata members do not see. Counted in the
 * request's transaction for the principal's own tenant only (countTenantKeys: RLS and the tenant in
 * SQL); never a key, never another tenant's count.
 */
export async function tenantDataKeyCounts(
  scope: CredentialScope,
  versions: { latestVersion: number; minDecryptionVersion: number },
): Promise<TenantKeyVersionCount[]> {
  assertCan(scope.principal, 'credential.read');
  const tenantId = tenantOf(scope.principal);
  if (!tenantId) throw notFound('Tenant');
  const counts = await countTenantKeys(scope.em, tenantId, scope.keys.tenantTables);
  const byVersion = new Map<number, TenantKeyVersionCount>();
  const row = (version: number) => {
    let found = byVersion.get(version);
    if (!found) {
      found = { version, total: 0, credential: 0, agentMemory: 0, sharing: 0 };
      byVersion.set(version, found);
    }
    return found;
  };
  for (let version = Math.max(1, versions.minDecryptionVersion); version <= versions.latestVersion; version++) row(version);
  for (const { version, kind, keys } of counts) {
    const each = row(version);
    each[kind] += keys;
    each.total += keys;
  }
  return [...byVersion.values()].sort((a, b) => b.version - a.version);
}

/**
 * The agent, locked for this transaction so concurrent changes to its credentials queue up (the
 * per-agent limit holds). Another tenant's agent and a missing one give the same NOT_FOUND. The
 * tenant is checked here too, against the principal's (not the loaded row's): should the ORM filter
 * and RLS both be gone, a credential is still never sealed into, or read from, another tenant's agent.
 */
async function lockAgent(scope: RequestScope, agentId: string): Promise<Agent> {
  const agent = await getAgent(scope, agentId);
  if (agent.tenantId !== tenantOf(scope.principal)) throw notFound('Agent', agentId);
  await lockAgentRow(scope.em, agent.id);
  return agent;
}

async function findCredential(scope: RequestScope, agent: Agent, name: string): Promise<AgentCredential> {
  const credential = await scope.em.findOne(AgentCredential, { agentId: agent.id, name });
  if (!credential) throw notFound('Credential');
  return credential;
}

async function sealFor(scope: CredentialScope, binding: Parameters<typeof seal>[1], value: Buffer) {
  await holdKeyVersions(scope.em);
  return withProvider(scope, () => seal(scope.keys.provider, binding, value));
}

/** A provider that is down, sealed or denying fails the operation closed, with a message that names no secret. */
async function withProvider<T>(scope: RequestScope, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof KeyProviderUnavailableError || error instanceof EnvelopeIntegrityError) {
      scope.log.warn({ reason: error.message }, 'key provider refused a credential operation');
      throw clientError('SERVICE_UNAVAILABLE', 'The key provider is unavailable; credentials cannot be changed or used right now');
    }
    throw error;
  }
}

/** The value's bytes (zero them after use); validated here so no parse error can ever echo it. */
function valueBytes(value: Secret): Buffer {
  const bytes = Buffer.from(value.reveal(), 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_CREDENTIAL_BYTES) {
    bytes.fill(0);
    throw badInput(`Invalid value: must be 1 to ${MAX_CREDENTIAL_BYTES} bytes`, 'value');
  }
  return bytes;
}

/** A running agent gets its new credentials through a restart (its container recreated, workspace kept). */
async function restartIfRunning(scope: RequestScope, agent: Agent): Promise<void> {
  if (agent.desiredState !== 'RUNNING') return;
  agent.status = 'PROVISIONING';
  agent.statusReason = null;
  await scope.em.flush();
  await enqueueJob(scope.em, { tenantId: agent.tenantId, kind: 'agent.converge', agentId: agent.id, payload: { restart: true } });
}

async function flushConflicts(scope: RequestScope): Promise<void> {
  try {
    await scope.em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException)
      throw clientError('CONFLICT', 'This agent already has a credential with this name');
    throw error;
  }
}
