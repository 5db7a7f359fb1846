import { graphql } from '../gql/index.ts';

/** The trusted documents (schema/operations/), sent by hash: the only operations API keys may run. */
export {
  CreateAgentRecordDocument as CreateAgentRecord,
  DeleteAgentRecordDocument as DeleteAgentRecord,
  GetAgentDocument as GetAgent,
  ListAgentsDocument as ListAgents,
  UpdateAgentRecordDocument as UpdateAgentRecord,
} from '../../src/generated/operations/graphql.ts';

export const SignUp = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      token
      tenant { id name plan status memberCount agentCount }
      owner { id email role }
    }
  }
`);

export const AddMember = graphql(`
  mutation AddMember($input: AddMemberInput!) {
    addMember(input: $input) {
      token
      member { id email role }
    }
  }
`);

export const CreateAgent = graphql(`
  mutation CreateAgent($input: CreateAgentInput!) {
    createAgent(input: $input) {
      agent { id name description image config status }
    }
  }
`);

export const UpdateAgent = graphql(`
  mutation UpdateAgent($input: UpdateAgentInput!) {
    updateAgent(input: $input) {
      agent { id name description image config }
    }
  }
`);

export const DeleteAgent = graphql(`
  mutation DeleteAgent($id: ID!) {
    deleteAgent(id: $id) { deletedAgentId }
  }
`);

export const Agents = graphql(`
  query Agents($first: Int, $after: String, $last: Int, $before: String) {
    agents(first: $first, after: $after, last: $last, before: $before) {
      edges { cursor node { id name } }
      pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
    }
  }
`);

export const AgentById = graphql(`
  query AgentById($id: ID!) {
    agent(id: $id) { id name config }
  }
`);

export const NodeById = graphql(`
  query NodeById($id: ID!) {
    node(id: $id) {
      id
      __typename
      ... on Agent { name }
      ... on ApiKey { name }
      ... on User { email }
      ... on Tenant { name }
    }
  }
`);

export const CreateApiKey = graphql(`
  mutation CreateApiKey($input: CreateApiKeyInput!) {
    createApiKey(input: $input) {
      key
      apiKey { id name scopes revokedAt }
    }
  }
`);

export const RevokeApiKey = graphql(`
  mutation RevokeApiKey($id: ID!) {
    revokeApiKey(id: $id) { apiKey { id revokedAt } }
  }
`);

export const ApiKeys = graphql(`
  query ApiKeys {
    apiKeys(first: 100) { edges { node { id name scopes revokedAt } } }
  }
`);

export const OwnTenant = graphql(`
  query OwnTenant {
    tenant { id name plan region status memberCount agentCount }
  }
`);

export const Me = graphql(`
  query Me {
    me { id email role }
  }
`);

export const Members = graphql(`
  query Members {
    members(first: 100) { edges { node { id email role } } }
  }
`);

export const PlatformTenants = graphql(`
  query PlatformTenants($first: Int, $after: String) {
    platformTenants(first: $first, after: $after) {
      edges { node { id name plan region status memberCount agentCount } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const AuditEvents = graphql(`
  query AuditEvents {
    auditEvents(first: 100) { edges { node { action actorType actorId targetType targetId outcome requestId detail } } }
  }
`);

export const AuditEventsPage = graphql(`
  query AuditEventsPage($first: Int, $after: String) {
    auditEvents(first: $first, after: $after) { edges { cursor node { seq action } } pageInfo { hasNextPage endCursor } }
  }
`);

export const FreezeTenant = graphql(`
  mutation FreezeTenant($id: ID!, $reason: String!) {
    freezeTenant(id: $id, reason: $reason) { status frozenReason }
  }
`);

export const UnfreezeTenant = graphql(`
  mutation UnfreezeTenant($id: ID!) {
    unfreezeTenant(id: $id) { status }
  }
`);

export const RefreshToken = graphql(`
  mutation RefreshToken {
    refreshToken { token member { id role } }
  }
`);

export const CreateRuntimeAgent = graphql(`
  mutation CreateRuntimeAgent($input: CreateAgentInput!) {
    createAgent(input: $input) { agent { id status desiredState } }
  }
`);

export const AgentRuntimeState = graphql(`
  query AgentRuntimeState($id: ID!) {
    agent(id: $id) {
      id status statusReason desiredState
      runtime { image command startedAt exitCode memoryMb cpuMillis pidsLimit }
      sandbox { requested runtime network workspaceMb scratchMb }
    }
  }
`);

export const AuditLog = graphql(`
  query AuditLog($filter: AuditLogFilter, $first: Int, $after: String) {
    auditLog(filter: $filter, first: $first, after: $after) {
      edges { cursor node { id seq action actorType actorId targetType targetId outcome requestId detail prevHash hash } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const AgentLogs = graphql(`
  query AgentLogs($id: ID!, $tail: Int) {
    agent(id: $id) { logs(tail: $tail) }
  }
`);

export const StartAgent = graphql(`
  mutation StartAgent($id: ID!) { startAgent(id: $id) { agent { id status desiredState } } }
`);

export const StopAgent = graphql(`
  mutation StopAgent($id: ID!) { stopAgent(id: $id) { agent { id status desiredState } } }
`);

export const RestartAgent = graphql(`
  mutation RestartAgent($id: ID!) { restartAgent(id: $id) { agent { id status desiredState } } }
`);

export const RunTask = graphql(`
  mutation RunTask($agentId: ID!, $input: String!) {
    runTask(agentId: $agentId, input: $input) { task { id status input result } }
  }
`);

export const TaskById = graphql(`
  query TaskById($id: ID!) {
    task(id: $id) { id agentId status input result startedAt finishedAt }
  }
`);

export const AgentTasks = graphql(`
  query AgentTasks($id: ID!) {
    agent(id: $id) { tasks(first: 50) { edges { node { id status input result } } } }
  }
`);

export const VerifyAuditLog = graphql(`
  query VerifyAuditLog {
    verifyAuditLog { intact eventsChecked firstSeq lastSeq headHash checkpointSeq brokenAt { seq eventId reason } }
  }
`);

export const ExportAuditReport = graphql(`
  query ExportAuditReport($from: DateTime!, $to: DateTime!) {
    exportAuditReport(from: $from, to: $to) { ndjson csv signatureFile eventCount chainIntact headHash }
  }
`);

export const AuditSigningKey = graphql(`
  query AuditSigningKey {
    auditSigningKey { keyId publicKeyPem }
  }
`);

export const SetAuditRetention = graphql(`
  mutation SetAuditRetention($days: Int!) {
    setAuditRetention(days: $days) { tenant { id auditRetentionDays } }
  }
`);

export const GrantSupportAccess = graphql(`
  mutation GrantSupportAccess($input: GrantSupportAccessInput!) {
    grantSupportAccess(input: $input) { token grant { id supportPrincipal expiresAt revokedAt } }
  }
`);

export const RevokeSupportAccess = graphql(`
  mutation RevokeSupportAccess($id: ID!) {
    revokeSupportAccess(id: $id) { grant { id revokedAt } }
  }
`);

export const CreateEnterpriseTenant = graphql(`
  mutation CreateEnterpriseTenant($input: CreateEnterpriseTenantInput!) {
    createEnterpriseTenant(input: $input) {
      ownerToken
      tenant { id name plan status memberCount agentCount }
    }
  }
`);
