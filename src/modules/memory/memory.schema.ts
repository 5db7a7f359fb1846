import { type Principal, tenantOf } from '../../auth/principal.ts';
import { builder } from '../../builder.ts';
import { inTenantRegion } from '../../request/in-region.ts';
import { encodeGlobalId } from '../../shared/global-id.ts';
import { AgentRef } from '../agents/agent.schema.ts';
import { keysetConnection } from '../common/index.ts';
import { TenantRef } from '../tenants/tenant.schema.ts';
import { renewAgentToken } from './agent-tokens.ts';
import { type HandoffView, handoffInbox, sendHandoff } from './handoff.service.ts';
import { GRANT_MODES, type WorkspaceFileGrant } from './memory.entity.ts';
import {
  deleteMemory,
  exportAgentMemory,
  getMemory,
  listMemory,
  type MemoryItem,
  type PendingPurge,
  pendingMemoryPurges,
  putMemory,
  setMemoryRetention,
  setMemoryValueLimit,
  type UnreadableMemoryEntry,
  wipeAgentMemory,
} from './memory.service.ts';
import {
  createWorkspaceFile,
  grantWorkspaceFile,
  listWorkspaceFiles,
  readWorkspaceFile,
  revokeWorkspaceFileGrant,
  type WorkspaceFileView,
  writeWorkspaceFile,
} from './workspace.service.ts';

/**
 * Wall 1 for agent-owned objects: rendered only inside their tenant and, to an agent principal, only
 * when the object is that agent's own (its entry, a handoff it sent or received, its grant). An
 * object that slipped past the ORM filter and RLS is refused here rather than shown to a sibling.
 */
function rendersFor(principal: Principal, tenantId: string, agentIds: readonly string[]): boolean {
  if (tenantOf(principal) !== tenantId) return false;
  return principal.kind !== 'agent' || agentIds.includes(principal.agentId);
}

// --- Agent memory: through the agent's own token only ---

const MemoryEntryRef = builder.objectRef<MemoryItem>('MemoryEntry').implement({
  description: "One entry of an agent's private memory. The value is JSON text; key and tags are searchable.",
  authScopes: (entry, ctx) => rendersFor(ctx.principal, entry.tenantId, [entry.agentId]),
  fields: (t) => ({
    key: t.exposeString('key'),
    value: t.exposeString('value', { description: 'JSON text.' }),
    tags: t.exposeStringList('tags'),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const PutMemoryInput = builder.inputType('PutMemoryInput', {
  fields: (t) => ({
    key: t.string({ required: true, description: '1–256 characters.' }),
    value: t.string({ required: true, description: "JSON text, at most the tenant's per-entry limit (64 KiB by default)." }),
    tags: t.stringList({ description: 'Up to 32 tags of 1–64 characters.' }),
    expiresAt: t.field({ type: 'DateTime', description: 'After this the entry is invisible and then removed.' }),
  }),
});

builder.queryFields((t) => ({
  memoryEntry: t.field({
    description: "The calling agent's entry under this key (agent tokens only); null when absent or expired.",
    type: MemoryEntryRef,
    nullable: true,
    skipTypeScopes: true,
    authScopes: { can: 'agent.self.memory' },
    args: { key: t.arg.string({ required: true }) },
    resolve: (_root, { key }, ctx) => getMemory(ctx, key),
  }),
  memoryEntries: t.connection({
    description: "The calling agent's live entries, oldest first, by key prefix and/or tag (agent tokens only).",
    type: MemoryEntryRef,
    skipTypeScopes: true,
    authScopes: { can: 'agent.self.memory' },
    args: { prefix: t.arg.string(), tag: t.arg.string() },
    resolve: (_root, { prefix, tag, ...args }, ctx) =>
      keysetConnection(args, (page) => listMemory(ctx, { prefix: prefix ?? undefined, tag: tag ?? undefined }, page)),
  }),
}));

const PutMemoryPayload = builder.objectRef<{ entry: MemoryItem }>('PutMemoryPayload').implement({
  fields: (t) => ({ entry: t.expose('entry', { type: MemoryEntryRef }) }),
});
const DeleteMemoryPayload = builder.objectRef<{ deleted: boolean }>('DeleteMemoryPayload').implement({
  fields: (t) => ({ deleted: t.exposeBoolean('deleted', { description: 'False when there was no such entry.' }) }),
});
const AgentTokenPayload = builder.objectRef<{ token: string; expiresAt: Date }>('AgentTokenPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token', {
      description: 'The renewed agent token; the one used for this call stays valid until its own expiry.',
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

builder.mutationFields((t) => ({
  putMemory: t.field({
    description: 'Writes or replaces an entry of the calling agent (agent tokens only).',
    type: PutMemoryPayload,
    skipTypeScopes: true,
    authScopes: { can: 'agent.self.memory' },
    args: { input: t.arg({ type: PutMemoryInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      entry: await putMemory(ctx, {
        key: input.key,
        value: input.value,
        tags: input.tags ?? undefined,
        expiresAt: input.expiresAt ?? null,
      }),
    }),
  }),
  deleteMemory: t.field({
    type: DeleteMemoryPayload,
    skipTypeScopes: true,
    authScopes: { can: 'agent.self.memory' },
    args: { key: t.arg.string({ required: true }) },
    resolve: async (_root, { key }, ctx) => ({ deleted: await deleteMemory(ctx, key) }),
  }),
  renewAgentToken: t.field({
    description: 'A fresh token for the calling agent (agent tokens only); stops working when the agent stops or is deleted.',
    type: AgentTokenPayload,
    skipTypeScopes: true,
    authScopes: { can: 'agent.self.token' },
    resolve: async (_root, _args, ctx) => {
      const { token, expiresAt } = await renewAgentToken(ctx);
      return { token: token.reveal(), expiresAt };
    },
  }),
}));

// --- One agent's memory, for owners and admins ---

const UnreadableMemoryEntryRef = builder.objectRef<UnreadableMemoryEntry>('UnreadableMemoryEntry').implement({
  description:
    'A memory row that could not be decrypted (altered in the database, or sealed under another key); its value is not returned.',
  fields: (t) => ({
    key: t.exposeString('key'),
    reason: t.exposeString('reason', { description: 'DECRYPTION_FAILED.' }),
  }),
});

const MemoryExportRef = builder
  .objectRef<{ agentId: string; entries: MemoryItem[]; unreadable: UnreadableMemoryEntry[] }>('MemoryExport')
  .implement({
    fields: (t) => ({
      agentId: t.id({ resolve: (value) => encodeGlobalId('Agent', value.agentId) }),
      entries: t.field({ type: [MemoryEntryRef], description: 'Every entry that decrypted.', resolve: (value) => value.entries }),
      unreadable: t.field({
        type: [UnreadableMemoryEntryRef],
        description: 'Entries that did not decrypt: left out of `entries`, and recorded in the audit log.',
        resolve: (value) => value.unreadable,
      }),
    }),
  });

const MemoryPurgeRef = builder.objectRef<PendingPurge>('PendingMemoryPurge').implement({
  description: 'A deleted agent whose memory is already unreadable (its data key is destroyed); its rows are removed after purgeAfter.',
  fields: (t) => ({
    agentId: t.id({ resolve: (purge) => encodeGlobalId('Agent', purge.agentId) }),
    deletedAt: t.expose('deletedAt', { type: 'DateTime' }),
    purgeAfter: t.expose('purgeAfter', { type: 'DateTime' }),
    entries: t.exposeInt('entries', { description: 'Encrypted rows still stored.' }),
  }),
});

builder.queryFields((t) => ({
  exportAgentMemory: t.field({
    description: "One agent's memory, decrypted (owners and admins; audited). There is no query across agents.",
    type: MemoryExportRef,
    skipTypeScopes: true,
    authScopes: { can: 'memory.manage' },
    args: { agentId: t.arg.globalID({ required: true, for: AgentRef }) },
    resolve: (_root, { agentId }, ctx) => exportAgentMemory(ctx, agentId.id),
  }),
  pendingMemoryPurges: t.field({
    description: 'Deleted agents whose memory rows await the purge, soonest first (owners and admins).',
    type: [MemoryPurgeRef],
    skipTypeScopes: true,
    authScopes: { can: 'memory.manage' },
    resolve: (_root, _args, ctx) => pendingMemoryPurges(ctx),
  }),
}));

const WipeAgentMemoryPayload = builder.objectRef<{ deletedEntries: number }>('WipeAgentMemoryPayload').implement({
  fields: (t) => ({ deletedEntries: t.exposeInt('deletedEntries') }),
});
const SetMemoryRetentionPayload = builder.objectRef<{ memoryRetentionDays: number }>('SetMemoryRetentionPayload').implement({
  fields: (t) => ({ memoryRetentionDays: t.exposeInt('memoryRetentionDays') }),
});

builder.mutationFields((t) => ({
  wipeAgentMemory: t.field({
    description: "Deletes one agent's memory and its data key (owners and admins; audited).",
    type: WipeAgentMemoryPayload,
    skipTypeScopes: true,
    authScopes: { can: 'memory.manage' },
    args: { agentId: t.arg.globalID({ required: true, for: AgentRef }) },
    resolve: async (_root, { agentId }, ctx) => ({ deletedEntries: await wipeAgentMemory(ctx, agentId.id) }),
  }),
  setMemoryRetention: t.field({
    description: "Days a deleted agent's memory rows are kept before the purge, 1–3650 (owners).",
    type: SetMemoryRetentionPayload,
    skipTypeScopes: true,
    authScopes: { can: 'memory.retention' },
    args: { days: t.arg.int({ required: true }) },
    resolve: async (_root, { days }, ctx) => ({ memoryRetentionDays: await setMemoryRetention(ctx, { days }) }),
  }),
  setMemoryValueLimit: t.field({
    description:
      "Operators: the largest value one memory entry or handoff payload of the tenant may hold, 1–1048576 bytes (64 KiB by default). Stored entries stay; later writes above it are refused. Audited in the tenant's log.",
    type: TenantRef,
    skipTypeScopes: true,
    authScopes: { can: 'platform.tenants.manage' },
    args: { id: t.arg.globalID({ required: true, for: TenantRef }), maxValueBytes: t.arg.int({ required: true }) },
    resolve: (_root, { id, maxValueBytes }, ctx) =>
      inTenantRegion(ctx, id.id, (scope) => setMemoryValueLimit(scope, id.id, { maxValueBytes })),
  }),
}));

builder.objectField(TenantRef, 'memoryRetentionDays', (t) =>
  t.exposeInt('memoryRetentionDays', { description: "Days a deleted agent's memory rows are kept before the purge." }),
);
builder.objectField(TenantRef, 'memoryMaxValueBytes', (t) =>
  t.exposeInt('memoryMaxValueBytes', {
    description: 'Largest value one memory entry or handoff payload may hold, bytes (operators set it).',
  }),
);

// --- Handoffs: explicit sharing between two agents of one tenant ---

const HandoffRef = builder.objectRef<HandoffView>('Handoff').implement({
  authScopes: (handoff, ctx) => rendersFor(ctx.principal, handoff.tenantId, [handoff.agentId, handoff.fromAgentId]),
  fields: (t) => ({
    id: t.id({ resolve: (handoff) => encodeGlobalId('Handoff', handoff.id) }),
    fromAgentId: t.id({ resolve: (handoff) => encodeGlobalId('Agent', handoff.fromAgentId) }),
    toAgentId: t.id({ resolve: (handoff) => encodeGlobalId('Agent', handoff.agentId) }),
    payload: t.exposeString('payload', { description: 'JSON text.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    receivedAt: t.expose('receivedAt', { type: 'DateTime', nullable: true }),
  }),
});

const SendHandoffInput = builder.inputType('SendHandoffInput', {
  fields: (t) => ({
    toAgentId: t.globalID({ required: true, for: AgentRef }),
    payload: t.string({ required: true, description: "JSON text, at most the tenant's per-entry memory limit." }),
  }),
});

builder.queryField('handoffInbox', (t) =>
  t.connection({
    description: 'Handoffs sent to the calling agent, oldest first; first sight marks them received (agent tokens only; audited).',
    type: HandoffRef,
    skipTypeScopes: true,
    authScopes: { can: 'agent.self.handoff' },
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => handoffInbox(ctx, page)),
  }),
);

builder.mutationField('sendHandoff', (t) =>
  t.field({
    description: 'Hands a JSON payload to another agent of the same tenant (agent tokens only; audited).',
    type: builder.objectRef<{ handoff: HandoffView }>('SendHandoffPayload').implement({
      fields: (f) => ({ handoff: f.expose('handoff', { type: HandoffRef }) }),
    }),
    skipTypeScopes: true,
    authScopes: { can: 'agent.self.handoff' },
    args: { input: t.arg({ type: SendHandoffInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      handoff: await sendHandoff(ctx, { toAgentId: input.toAgentId.id, payload: input.payload }),
    }),
  }),
);

// --- Shared workspace files: tenant-level, reached by an agent only through its grant ---

const WorkspaceGrantMode = builder.enumType('WorkspaceGrantMode', { values: GRANT_MODES });

const WorkspaceFileRef = builder.objectRef<WorkspaceFileView>('WorkspaceFile').implement({
  authScopes: (file) => ({ sameTenant: file.tenantId }),
  fields: (t) => ({
    id: t.id({ resolve: (file) => encodeGlobalId('WorkspaceFile', file.id) }),
    name: t.exposeString('name'),
    content: t.exposeString('content'),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const WorkspaceFileGrantRef = builder.objectRef<WorkspaceFileGrant>('WorkspaceFileGrant').implement({
  authScopes: (grant, ctx) => rendersFor(ctx.principal, grant.tenantId, [grant.agentId]),
  fields: (t) => ({
    fileId: t.id({ resolve: (grant) => encodeGlobalId('WorkspaceFile', grant.fileId) }),
    agentId: t.id({ resolve: (grant) => encodeGlobalId('Agent', grant.agentId) }),
    mode: t.field({ type: WorkspaceGrantMode, resolve: (grant) => grant.mode }),
  }),
});

const WorkspaceFileInput = builder.inputType('WorkspaceFileInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1–200 characters of letters, digits, . _ - /' }),
    content: t.string({ required: true, description: 'At most 1 MiB.' }),
  }),
});
const WorkspaceGrantInput = builder.inputType('WorkspaceGrantInput', {
  fields: (t) => ({
    fileId: t.id({ required: true }),
    agentId: t.globalID({ required: true, for: AgentRef }),
    mode: t.field({ type: WorkspaceGrantMode, required: true }),
  }),
});
const WorkspaceRevokeInput = builder.inputType('WorkspaceRevokeInput', {
  fields: (t) => ({
    fileId: t.id({ required: true }),
    agentId: t.globalID({ required: true, for: AgentRef }),
  }),
});

const WorkspaceFilePayload = builder.objectRef<{ file: WorkspaceFileView }>('WorkspaceFilePayload').implement({
  fields: (t) => ({ file: t.expose('file', { type: WorkspaceFileRef }) }),
});

builder.queryFields((t) => ({
  workspaceFiles: t.connection({
    description: "The tenant's shared files (owners and admins).",
    type: WorkspaceFileRef,
    skipTypeScopes: true,
    authScopes: { can: 'workspace.manage' },
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => listWorkspaceFiles(ctx, page)),
  }),
  workspaceFile: t.field({
    description: 'A shared file granted to the calling agent (agent tokens only); NOT_FOUND without a grant.',
    type: WorkspaceFileRef,
    skipTypeScopes: true,
    authScopes: { can: 'agent.self.workspace' },
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, { name }, ctx) => readWorkspaceFile(ctx, name),
  }),
}));

builder.mutationFields((t) => ({
  createWorkspaceFile: t.field({
    type: WorkspaceFilePayload,
    skipTypeScopes: true,
    authScopes: { can: 'workspace.manage' },
    args: { input: t.arg({ type: WorkspaceFileInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ file: await createWorkspaceFile(ctx, input) }),
  }),
  writeWorkspaceFile: t.field({
    description: 'Replaces the content of a file granted WRITE to the calling agent (agent tokens only; audited).',
    type: WorkspaceFilePayload,
    skipTypeScopes: true,
    authScopes: { can: 'agent.self.workspace' },
    args: { input: t.arg({ type: WorkspaceFileInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ file: await writeWorkspaceFile(ctx, input) }),
  }),
  grantWorkspaceFile: t.field({
    type: builder.objectRef<{ grant: WorkspaceFileGrant }>('GrantWorkspaceFilePayload').implement({
      fields: (f) => ({ grant: f.expose('grant', { type: WorkspaceFileGrantRef }) }),
    }),
    skipTypeScopes: true,
    authScopes: { can: 'workspace.manage' },
    args: { input: t.arg({ type: WorkspaceGrantInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      grant: await grantWorkspaceFile(ctx, { fileId: fileIdOf(input.fileId), agentId: input.agentId.id, mode: input.mode }),
    }),
  }),
  revokeWorkspaceFileGrant: t.field({
    type: builder.objectRef<{ revoked: boolean }>('RevokeWorkspaceFileGrantPayload').implement({
      fields: (f) => ({ revoked: f.exposeBoolean('revoked') }),
    }),
    skipTypeScopes: true,
    authScopes: { can: 'workspace.manage' },
    args: { input: t.arg({ type: WorkspaceRevokeInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      revoked: await revokeWorkspaceFileGrant(ctx, { fileId: fileIdOf(input.fileId), agentId: input.agentId.id }),
    }),
  }),
}));

/** A WorkspaceFile global ID to its uuid; anything else fails validation as an invalid fileId. */
function fileIdOf(globalId: string): string {
  const decoded = Buffer.from(globalId.slice(0, 200), 'base64').toString('utf8');
  return decoded.startsWith('WorkspaceFile:') ? decoded.slice('WorkspaceFile:'.length) : '';
}
