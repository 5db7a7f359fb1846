import { graphql } from './gql/index.ts';

/** The documents of the agent memory, handoff and workspace tests. */

export const PutMemory = graphql(`
  mutation PutMemory($input: PutMemoryInput!) {
    putMemory(input: $input) { entry { key value tags expiresAt } }
  }
`);

export const GetMemory = graphql(`
  query GetMemory($key: String!) {
    memoryEntry(key: $key) { key value tags expiresAt }
  }
`);

export const DeleteMemory = graphql(`
  mutation DeleteMemory($key: String!) {
    deleteMemory(key: $key) { deleted }
  }
`);

export const ListMemory = graphql(`
  query ListMemory($prefix: String, $tag: String, $first: Int, $after: String) {
    memoryEntries(prefix: $prefix, tag: $tag, first: $first, after: $after) {
      edges { cursor node { key value tags } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const RenewAgentToken = graphql(`
  mutation RenewAgentToken {
    renewAgentToken { token expiresAt }
  }
`);

export const ExportAgentMemory = graphql(`
  query ExportAgentMemory($agentId: ID!) {
    exportAgentMemory(agentId: $agentId) { agentId entries { key value tags } }
  }
`);

export const WipeAgentMemory = graphql(`
  mutation WipeAgentMemory($agentId: ID!) {
    wipeAgentMemory(agentId: $agentId) { deletedEntries }
  }
`);

export const PendingMemoryPurges = graphql(`
  query PendingMemoryPurges {
    pendingMemoryPurges { agentId deletedAt purgeAfter entries }
  }
`);

export const SetMemoryRetention = graphql(`
  mutation SetMemoryRetention($days: Int!) {
    setMemoryRetention(days: $days) { memoryRetentionDays }
  }
`);

export const SendHandoff = graphql(`
  mutation SendHandoff($input: SendHandoffInput!) {
    sendHandoff(input: $input) { handoff { id fromAgentId toAgentId payload } }
  }
`);

export const HandoffInbox = graphql(`
  query HandoffInbox($first: Int) {
    handoffInbox(first: $first) { edges { node { id fromAgentId toAgentId payload receivedAt } } }
  }
`);

export const CreateWorkspaceFile = graphql(`
  mutation CreateWorkspaceFile($input: WorkspaceFileInput!) {
    createWorkspaceFile(input: $input) { file { id name content } }
  }
`);

export const GrantWorkspaceFile = graphql(`
  mutation GrantWorkspaceFile($input: WorkspaceGrantInput!) {
    grantWorkspaceFile(input: $input) { grant { fileId agentId mode } }
  }
`);

export const RevokeWorkspaceFileGrant = graphql(`
  mutation RevokeWorkspaceFileGrant($input: WorkspaceRevokeInput!) {
    revokeWorkspaceFileGrant(input: $input) { revoked }
  }
`);

export const ReadWorkspaceFile = graphql(`
  query ReadWorkspaceFile($name: String!) {
    workspaceFile(name: $name) { name content }
  }
`);

export const WriteWorkspaceFile = graphql(`
  mutation WriteWorkspaceFile($input: WorkspaceFileInput!) {
    writeWorkspaceFile(input: $input) { file { name content } }
  }
`);
