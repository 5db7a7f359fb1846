import { defineEntity, p } from '@mikro-orm/core';
import { agentFilter, tenantFilter } from '../../db/tenant-filter.ts';

/** Entries are invisible once expired, whoever asks; the maintenance job deletes them. */
const liveFilter = {
  live: { name: 'live', cond: () => ({ $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }] }), default: true },
};

const MemoryEntrySchema = defineEntity({
  name: 'MemoryEntry',
  tableName: 'agent_memory',
  filters: { ...tenantFilter, ...agentFilter, ...liveFilter },
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    agentId: p.uuid(),
    key: p.string(),
    tags: p.array(),
    /** iv (12) || tag (16) || AES-256-GCM(JSON text), under the agent's data key; see memory-crypto.ts. */
    ciphertext: p.blob(),
    /** The data key it is sealed under (`agent_memory_keys.key_id`): readable only while that key lives. */
    keyId: p.uuid(),
    sizeBytes: p.integer(),
    expiresAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class MemoryEntry extends MemoryEntrySchema.class {}
MemoryEntrySchema.setClass(MemoryEntry);

const MemoryKeySchema = defineEntity({
  name: 'MemoryKey',
  tableName: 'agent_memory_keys',
  filters: { ...tenantFilter, ...agentFilter },
  properties: {
    agentId: p.uuid().primary(),
    tenantId: p.uuid(),
    provider: p.enum(['local', 'vault'] as const),
    /** The agent's data key wrapped by the key provider; its plaintext never reaches the database. */
    wrappedKey: p.string(),
    /** The key's identity: made with it, kept through KEK rewraps; memory rows name it. */
    keyId: p.uuid(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class MemoryKey extends MemoryKeySchema.class {}
MemoryKeySchema.setClass(MemoryKey);

const MemoryPurgeSchema = defineEntity({
  name: 'MemoryPurge',
  tableName: 'memory_purges',
  filters: tenantFilter,
  properties: {
    agentId: p.uuid().primary(),
    tenantId: p.uuid(),
    deletedAt: p.datetime(),
    purgeAfter: p.datetime(),
  },
});
export class MemoryPurge extends MemoryPurgeSchema.class {}
MemoryPurgeSchema.setClass(MemoryPurge);

const HandoffSchema = defineEntity({
  name: 'Handoff',
  tableName: 'handoffs',
  filters: {
    ...tenantFilter,
    // Both ends of a handoff are its agents: the recipient (agent_id) and the sender.
    agent: {
      name: 'agent',
      cond: (args: Record<string, unknown>) => ({ $or: [{ agentId: args.agentId }, { fromAgentId: args.agentId }] }),
      default: true,
    },
  },
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    /** The recipient. */
    agentId: p.uuid(),
    fromAgentId: p.uuid(),
    /** Written before migrations/0017 only: the payload in plaintext. */
    payload: p.json<unknown>().nullable(),
    /** The payload, canonical JSON text sealed under the tenant's sharing key (sharing-keys.ts). */
    sealedPayload: p.blob().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    receivedAt: p.datetime().nullable(),
  },
});
export class Handoff extends HandoffSchema.class {}
HandoffSchema.setClass(Handoff);

const WorkspaceFileSchema = defineEntity({
  name: 'WorkspaceFile',
  tableName: 'workspace_files',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    name: p.string(),
    /** Written before migrations/0017 only: the content in plaintext. */
    content: p.text().nullable(),
    /** The content, sealed under the tenant's sharing key (sharing-keys.ts). */
    sealedContent: p.blob().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
});
export class WorkspaceFile extends WorkspaceFileSchema.class {}
WorkspaceFileSchema.setClass(WorkspaceFile);

export const GRANT_MODES = ['READ', 'WRITE'] as const;

const WorkspaceFileGrantSchema = defineEntity({
  name: 'WorkspaceFileGrant',
  tableName: 'workspace_file_grants',
  filters: { ...tenantFilter, ...agentFilter },
  properties: {
    fileId: p.uuid().primary(),
    agentId: p.uuid().primary(),
    tenantId: p.uuid(),
    mode: p.enum(GRANT_MODES),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class WorkspaceFileGrant extends WorkspaceFileGrantSchema.class {}
WorkspaceFileGrantSchema.setClass(WorkspaceFileGrant);

export const memoryEntities = [MemoryEntry, MemoryKey, MemoryPurge, Handoff, WorkspaceFile, WorkspaceFileGrant];
