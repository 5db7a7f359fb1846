/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type AddMemberInput = {
  email: string;
  name: string;
  role: UserRole;
};

export type AgentDesiredState =
  | 'RUNNING'
  | 'STOPPED';

export type AgentNetwork =
  /** Only loopback. */
  | 'NONE'
  /** The tenant's own internal network; its only way out is the gateway's egress proxy. */
  | 'TENANT';

export type AgentStatus =
  | 'CREATED'
  | 'DELETING'
  | 'FAILED'
  | 'PROVISIONING'
  | 'RUNNING'
  | 'STOPPED';

export type ApiKeyScope =
  | 'AGENTS_READ'
  | 'AGENTS_WRITE';

export type AuditBreakReason =
  | 'BAD_CHECKPOINT'
  | 'BROKEN_LINK'
  | 'HASH_MISMATCH'
  | 'MISSING_START'
  | 'SEQUENCE_GAP'
  | 'WRONG_TENANT';

export type AuditLogFilter = {
  action?: string | null | undefined;
  actorId?: string | null | undefined;
  actorType?: string | null | undefined;
  /** Inclusive. */
  from?: string | null | undefined;
  outcome?: AuditOutcome | null | undefined;
  targetId?: string | null | undefined;
  /** Exclusive. */
  to?: string | null | undefined;
};

export type AuditOutcome =
  | 'DENIED'
  | 'FAILED'
  | 'SUCCESS';

export type CreateAgentInput = {
  /** One of the allow-listed commands for the image; omitted: the image's default. */
  command?: Array<string> | null | undefined;
  config?: Record<string, unknown> | null | undefined;
  /** CPU limit, thousandths of a CPU (default 250). */
  cpuMillis?: number | null | undefined;
  description?: string | null | undefined;
  /** Owners and admins: join the tenant's own network (default: no network). */
  egress?: boolean | null | undefined;
  /** Owners and admins: the egress allow-list, `host:port` rules (`api.example.com:443`, `*.example.com:443`). */
  egressRules?: Array<string> | null | undefined;
  image: string;
  /** Memory limit, MB (default 64). */
  memoryMb?: number | null | undefined;
  name: string;
  /** Default: the tenant's plan level, else RUNC. */
  sandbox?: SandboxLevel | null | undefined;
};

export type CreateApiKeyInput = {
  /** Bind the key to this client app: it may then run only that app’s published documents. */
  clientApp?: string | null | undefined;
  name: string;
  scopes: Array<ApiKeyScope>;
};

export type CreateEnterpriseTenantInput = {
  owner: EnterpriseOwnerInput;
  /** Where the tenant’s schema and all its data will live, for good; default: the home region. */
  region?: string | null | undefined;
  tenantName: string;
};

export type EnterpriseOwnerInput = {
  email: string;
  name: string;
};

export type GrantSupportAccessInput = {
  /** 5 to 10080 (7 days). */
  durationMinutes: number;
  reason: string;
  /** Who may use the grant, e.g. ops@fleetgate.io. */
  supportPrincipal: string;
};

export type IsolationCanaryOutcome =
  /** The run failed before it could tell; the next run tries again. */
  | 'ERROR'
  /** Something leaked: the gateway locked itself down (requests of tenants are refused). */
  | 'EXPOSED'
  /** Every cross-tenant probe was refused and RLS is enabled and forced on every tenant table. */
  | 'OK';

/** Why a run was not OK, as a fixed code (the finding itself goes to the operators’ logs and audit). */
export type IsolationCanaryReason =
  /** EXPOSED: one tenant listed another’s agent through the API. */
  | 'API_CROSS_TENANT_LIST'
  /** EXPOSED: one tenant read another’s agent by id through the API. */
  | 'API_CROSS_TENANT_READ'
  /** EXPOSED: one tenant’s update of another’s agent was not refused as not found. */
  | 'API_CROSS_TENANT_WRITE'
  /** ERROR: the API probes could not run. */
  | 'API_PROBE_FAILED'
  /** EXPOSED: the gateway’s database role bypasses row-level security. */
  | 'APP_ROLE_BYPASSES_RLS'
  /** EXPOSED: the gateway’s database role is a superuser. */
  | 'APP_ROLE_SUPERUSER'
  /** ERROR: the database catalog could not be read. */
  | 'CATALOG_CHECK_FAILED'
  /** EXPOSED: one tenant read another’s rows in the database under its own setting. */
  | 'DATABASE_CROSS_TENANT_READ'
  /** EXPOSED: one tenant wrote a row into another in the database under its own setting. */
  | 'DATABASE_CROSS_TENANT_WRITE'
  /** ERROR: the database probes could not run. */
  | 'DATABASE_PROBE_FAILED'
  /** EXPOSED: row-level security is not enabled and forced on a tenant table. */
  | 'RLS_NOT_FORCED'
  /** ERROR: the agents’ containers could not be compared with the database. */
  | 'SANDBOX_CHECK_FAILED'
  /** EXPOSED: an agent’s container runs under another sandbox than the agent requires. */
  | 'SANDBOX_DOWNGRADED'
  /** EXPOSED: an agent’s container runs under another sandbox than the API shows. */
  | 'SANDBOX_MISREPORTED'
  /** ERROR: the canary tenants could not be found or created. */
  | 'SETUP_FAILED';

export type RestoreTarget =
  /** A fresh schema beside the live one, to inspect or compare. */
  | 'NEW'
  /** The tenant’s own (enterprise) schema, which must be empty: after a loss. */
  | 'SAME';

export type RetireDocumentsVersionInput = {
  app: string;
  /** Retire a platform app’s version (operators). */
  platform?: boolean | null | undefined;
  version: string;
};

/** RUNC: a hardened container on the host kernel. GVISOR: the same container under gVisor, a user-space kernel (no network). See docs/security-model.md. */
export type SandboxLevel =
  | 'GVISOR'
  | 'RUNC';

export type SessionMethod =
  | 'OIDC'
  | 'SIGN_IN_LINK'
  | 'SIGN_UP';

export type SignInInput = {
  /** Names the session (e.g. “laptop”). */
  deviceLabel?: string | null | undefined;
  /** An ID token from an issuer your tenant registered. */
  idToken: string;
  /** The nonce your app sent in its authorization request: the token must carry it. */
  nonce?: string | null | undefined;
  /** Which tenant, when the identity belongs to several. */
  tenant?: string | null | undefined;
};

export type TaskStatus =
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'TIMED_OUT';

export type TenantPlan =
  | 'ENTERPRISE'
  | 'STANDARD';

export type TenantStatus =
  | 'ACTIVE'
  | 'DELETED'
  | 'DELETION_PENDING'
  | 'FROZEN';

export type UserRole =
  | 'ADMIN'
  | 'MEMBER'
  | 'OWNER'
  | 'VIEWER';

export type UserStatus =
  | 'ACTIVE'
  | 'SUSPENDED';

export type ConsoleCanaryRunsQueryVariables = Exact<{
  first: number;
}>;


export type ConsoleCanaryRunsQuery = { isolationCanaryRuns: { edges: Array<{ node: { ranAt: string, outcome: IsolationCanaryOutcome, durationMs: number } }> } };

export type ConsoleOperatorCanaryRunsQueryVariables = Exact<{
  first: number;
  region?: string | null | undefined;
}>;


export type ConsoleOperatorCanaryRunsQuery = { regions: Array<string>, isolationCanaryRuns: { edges: Array<{ node: { ranAt: string, outcome: IsolationCanaryOutcome, durationMs: number, replica: string | null, reason: IsolationCanaryReason | null } }> } };

export type ConsolePlatformTenantsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ConsolePlatformTenantsQuery = { regions: Array<string>, platformTenants: { edges: Array<{ node: { id: string, name: string, plan: TenantPlan, region: string, status: TenantStatus, frozenReason: string | null, memberCount: number, agentCount: number, createdAt: string } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleFreezeTenantMutationVariables = Exact<{
  id: string;
  reason: string;
}>;


export type ConsoleFreezeTenantMutation = { freezeTenant: { id: string, status: TenantStatus, frozenReason: string | null } };

export type ConsoleUnfreezeTenantMutationVariables = Exact<{
  id: string;
}>;


export type ConsoleUnfreezeTenantMutation = { unfreezeTenant: { id: string, status: TenantStatus, frozenReason: string | null } };

export type ConsoleCreateSignUpInviteMutationVariables = Exact<{
  email: string;
}>;


export type ConsoleCreateSignUpInviteMutation = { createSignUpInvite: string };

export type ConsoleCreateEnterpriseTenantMutationVariables = Exact<{
  input: CreateEnterpriseTenantInput;
}>;


export type ConsoleCreateEnterpriseTenantMutation = { createEnterpriseTenant: { tenant: { id: string, name: string, plan: TenantPlan, region: string }, ownerSignInLink: { token: string, expiresAt: string } } };

export type ConsoleBackupTenantMutationVariables = Exact<{
  id: string;
}>;


export type ConsoleBackupTenantMutation = { backupTenant: { backupId: string, bytes: number, sha256: string, rows: Record<string, unknown> } };

export type ConsoleRestoreTenantMutationVariables = Exact<{
  backupId: string;
  into: RestoreTarget;
}>;


export type ConsoleRestoreTenantMutation = { restoreTenant: { schema: string, rows: Record<string, unknown>, memoryShreddedAgents: number, memoryShreddedEntries: number, tenant: { id: string, name: string } } };

export type ConsolePlatformClientAppsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsolePlatformClientAppsQuery = { clientApps: Array<{ name: string, platform: boolean, createdAt: string, versions: Array<{ version: string, documentCount: number, publishedAt: string, retiredAt: string | null }> }> };

export type ConsoleTenantRetentionQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleTenantRetentionQuery = { tenant: { id: string, name: string, status: TenantStatus, deletionDueAt: string | null, retention: { auditDays: number, memoryPurgeDays: number, taskHistoryDays: number } } };

export type ConsolePendingPurgesQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsolePendingPurgesQuery = { pendingMemoryPurges: Array<{ agentId: string, deletedAt: string, entries: number, purgeAfter: string }> };

export type ConsoleRequestTenantDeletionMutationVariables = Exact<{ [key: string]: never; }>;


export type ConsoleRequestTenantDeletionMutation = { requestTenantDeletion: { id: string, status: TenantStatus, deletionDueAt: string | null } };

export type ConsoleCancelTenantDeletionMutationVariables = Exact<{ [key: string]: never; }>;


export type ConsoleCancelTenantDeletionMutation = { cancelTenantDeletion: { id: string, status: TenantStatus, deletionDueAt: string | null } };

export type ConsoleRetentionRoleQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleRetentionRoleQuery = { me: { id: string, role: UserRole } };

export type ConsoleSetAuditRetentionMutationVariables = Exact<{
  days: number;
}>;


export type ConsoleSetAuditRetentionMutation = { setAuditRetention: { tenant: { id: string, retention: { auditDays: number, memoryPurgeDays: number, taskHistoryDays: number } } } };

export type ConsoleSetMemoryRetentionMutationVariables = Exact<{
  days: number;
}>;


export type ConsoleSetMemoryRetentionMutation = { setMemoryRetention: { memoryRetentionDays: number } };

export type ConsoleSetTaskRetentionMutationVariables = Exact<{
  days: number;
}>;


export type ConsoleSetTaskRetentionMutation = { setTaskRetention: { tenant: { id: string, retention: { auditDays: number, memoryPurgeDays: number, taskHistoryDays: number } } } };

export type ConsoleRedeemSignInLinkMutationVariables = Exact<{
  token: string;
  deviceLabel?: string | null | undefined;
}>;


export type ConsoleRedeemSignInLinkMutation = { redeemSignInLink: { accessToken: string, refreshToken: string, session: { id: string, expiresAt: string } } };

export type ConsoleRefreshSessionMutationVariables = Exact<{
  refreshToken: string;
}>;


export type ConsoleRefreshSessionMutation = { refreshSession: { accessToken: string, refreshToken: string, session: { id: string, expiresAt: string } } };

export type ConsoleEndSessionMutationVariables = Exact<{
  id: string;
}>;


export type ConsoleEndSessionMutation = { revokeSession: { id: string } };

export type ConsoleSignInWithIdTokenMutationVariables = Exact<{
  input: SignInInput;
}>;


export type ConsoleSignInWithIdTokenMutation = { signIn: { accessToken: string, refreshToken: string, session: { id: string, expiresAt: string } } };

export type ConsoleMembersQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleMembersQuery = { me: { id: string, role: UserRole }, members: { edges: Array<{ node: { id: string, name: string, email: string, role: UserRole, status: UserStatus, createdAt: string } }> } };

export type ConsoleAddMemberMutationVariables = Exact<{
  input: AddMemberInput;
}>;


export type ConsoleAddMemberMutation = { addMember: { signInToken: string | null, member: { id: string, name: string } } };

export type ConsoleChangeMemberRoleMutationVariables = Exact<{
  userId: string;
  role: UserRole;
}>;


export type ConsoleChangeMemberRoleMutation = { changeMemberRole: { id: string, role: UserRole } };

export type ConsoleSuspendMemberMutationVariables = Exact<{
  userId: string;
}>;


export type ConsoleSuspendMemberMutation = { suspendMember: { id: string, status: UserStatus } };

export type ConsoleReinstateMemberMutationVariables = Exact<{
  userId: string;
}>;


export type ConsoleReinstateMemberMutation = { reinstateMember: { id: string, status: UserStatus } };

export type ConsoleRemoveMemberMutationVariables = Exact<{
  userId: string;
}>;


export type ConsoleRemoveMemberMutation = { removeMember: string };

export type ConsoleMySessionsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleMySessionsQuery = { mySessions: { edges: Array<{ node: { id: string, deviceLabel: string, method: SessionMethod, createdAt: string, lastUsedAt: string, expiresAt: string, revokedAt: string | null } }> } };

export type ConsoleMemberSessionsQueryVariables = Exact<{
  userId: string;
}>;


export type ConsoleMemberSessionsQuery = { memberSessions: { edges: Array<{ node: { id: string, deviceLabel: string, method: SessionMethod, createdAt: string, lastUsedAt: string, expiresAt: string, revokedAt: string | null } }> } };

export type ConsoleApiKeysQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleApiKeysQuery = { apiKeys: { edges: Array<{ node: { id: string, name: string, scopes: Array<ApiKeyScope>, clientApp: string | null, createdAt: string, revokedAt: string | null } }> } };

export type ConsoleCreateApiKeyMutationVariables = Exact<{
  input: CreateApiKeyInput;
}>;


export type ConsoleCreateApiKeyMutation = { createApiKey: { key: string, apiKey: { id: string, name: string } } };

export type ConsoleRevokeApiKeyMutationVariables = Exact<{
  id: string;
}>;


export type ConsoleRevokeApiKeyMutation = { revokeApiKey: { apiKey: { id: string, revokedAt: string | null } } };

export type ConsoleClientAppsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleClientAppsQuery = { clientApps: Array<{ name: string, platform: boolean, createdAt: string, versions: Array<{ version: string, documentCount: number, publishedAt: string, retiredAt: string | null }> }> };

export type ConsoleRetireVersionMutationVariables = Exact<{
  input: RetireDocumentsVersionInput;
}>;


export type ConsoleRetireVersionMutation = { retireDocumentsVersion: { app: { name: string } } };

export type ConsoleSupportGrantsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleSupportGrantsQuery = { supportGrants: { edges: Array<{ node: { id: string, supportPrincipal: string, reason: string, createdAt: string, expiresAt: string, revokedAt: string | null } }> } };

export type ConsoleGrantSupportMutationVariables = Exact<{
  input: GrantSupportAccessInput;
}>;


export type ConsoleGrantSupportMutation = { grantSupportAccess: { token: string, grant: { id: string } } };

export type ConsoleRevokeSupportMutationVariables = Exact<{
  id: string;
}>;


export type ConsoleRevokeSupportMutation = { revokeSupportAccess: { grant: { id: string, revokedAt: string | null } } };

export type ConsoleIsolationQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleIsolationQuery = { me: { id: string, name: string, email: string, role: UserRole }, tenant: { id: string, name: string, status: TenantStatus, frozenReason: string | null, plan: TenantPlan, region: string, createdAt: string, memberCount: number, agentCount: number, quotas: { sandbox: SandboxLevel | null, maxAgents: number } }, agents: { edges: Array<{ node: { id: string, name: string, status: AgentStatus, sandbox: { requested: SandboxLevel | null, runtime: SandboxLevel | null, network: AgentNetwork } } }> }, isolationCanary: { ranAt: string, outcome: IsolationCanaryOutcome } | null };

export type ConsoleKeyStatusQueryVariables = Exact<{
  withCounts: boolean;
}>;


export type ConsoleKeyStatusQuery = { tenantKeyStatus: { provider: string, latestVersion: number, minDecryptionVersion: number, dataKeys?: Array<{ version: number, total: number, credentials: number, agentMemory: number, sharing: number }> | null } };

export type ConsoleAgentsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleAgentsQuery = { agents: { edges: Array<{ node: { id: string, name: string, image: string, status: AgentStatus, statusReason: string | null, updatedAt: string, sandbox: { runtime: SandboxLevel | null, network: AgentNetwork } } }> } };

export type ConsoleAgentQueryVariables = Exact<{
  id: string;
}>;


export type ConsoleAgentQuery = { agent: { id: string, name: string, description: string, image: string, status: AgentStatus, statusReason: string | null, desiredState: AgentDesiredState, egress: boolean, createdAt: string, updatedAt: string, sandbox: { requested: SandboxLevel | null, runtime: SandboxLevel | null, network: AgentNetwork, scratchMb: number }, runtime: { cpuMillis: number, memoryMb: number, pidsLimit: number, startedAt: string | null, crashCount: number }, tasks: { edges: Array<{ node: { id: string, status: TaskStatus, createdAt: string, finishedAt: string | null } }> } } };

export type ConsoleAgentCredentialsQueryVariables = Exact<{
  id: string;
}>;


export type ConsoleAgentCredentialsQuery = { agent: { id: string, credentials: Array<{ name: string, version: number, createdAt: string }> } };

export type ConsoleCreateAgentMutationVariables = Exact<{
  input: CreateAgentInput;
}>;


export type ConsoleCreateAgentMutation = { createAgent: { agent: { id: string, name: string, status: AgentStatus } } };

export type ConsoleStopAgentMutationVariables = Exact<{
  id: string;
}>;


export type ConsoleStopAgentMutation = { stopAgent: { agent: { id: string, status: AgentStatus, statusReason: string | null } } };

export type ConsoleStartAgentMutationVariables = Exact<{
  id: string;
}>;


export type ConsoleStartAgentMutation = { startAgent: { agent: { id: string, status: AgentStatus, statusReason: string | null } } };

export type ConsoleRestartAgentMutationVariables = Exact<{
  id: string;
}>;


export type ConsoleRestartAgentMutation = { restartAgent: { agent: { id: string, status: AgentStatus, statusReason: string | null } } };

export type ConsoleAgentStatusSubscriptionVariables = Exact<{
  agentId: string;
}>;


export type ConsoleAgentStatusSubscription = { agentStatusChanged: { agentId: string, status: AgentStatus, at: string } };

export type ConsoleDeleteAgentMutationVariables = Exact<{
  id: string;
}>;


export type ConsoleDeleteAgentMutation = { deleteAgent: { deletedAgentId: string } };

export type ConsoleAuditLogQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: AuditLogFilter | null | undefined;
}>;


export type ConsoleAuditLogQuery = { auditLog: { edges: Array<{ node: { id: string, seq: string, action: string, actorType: string, actorId: string, outcome: AuditOutcome, targetType: string | null, targetId: string | null, createdAt: string } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleVerifyAuditLogQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleVerifyAuditLogQuery = { verifyAuditLog: { intact: boolean, eventsChecked: number, firstSeq: string | null, lastSeq: string | null, headHash: string, checkpointSeq: string | null, brokenAt: { seq: string, reason: AuditBreakReason } | null } };

export type ConsoleAuditReportQueryVariables = Exact<{
  from: string;
  to: string;
}>;


export type ConsoleAuditReportQuery = { exportAuditReport: { eventCount: number, chainIntact: boolean, headHash: string | null, ndjson: string, csv: string, signatureFile: string }, auditSigningKey: { keyId: string, publicKeyPem: string } };

export type ConsoleAgentsChangedSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type ConsoleAgentsChangedSubscription = { agentsChanged: { agentId: string | null, status: AgentStatus | null, at: string } };

export type ConsoleTenantStatusSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type ConsoleTenantStatusSubscription = { tenantStatus: { status: TenantStatus, at: string } };


export const ConsoleCanaryRunsDocument = {"__meta__":{"hash":"sha256:2971fe6c46cb0cbe1f0993491e6b706cc0b17d84bc10e171e2967c4609d817f1"}} as unknown as DocumentNode<ConsoleCanaryRunsQuery, ConsoleCanaryRunsQueryVariables>;
export const ConsoleOperatorCanaryRunsDocument = {"__meta__":{"hash":"sha256:5b5721dd1f9640d0bf03fce300ff8a672b7f4783b109464e3d5b7a92b922109b"}} as unknown as DocumentNode<ConsoleOperatorCanaryRunsQuery, ConsoleOperatorCanaryRunsQueryVariables>;
export const ConsolePlatformTenantsDocument = {"__meta__":{"hash":"sha256:55c03c4ce9193469aeb2c3aed716d2892ec308d807ae914994b2b04429a2bd15"}} as unknown as DocumentNode<ConsolePlatformTenantsQuery, ConsolePlatformTenantsQueryVariables>;
export const ConsoleFreezeTenantDocument = {"__meta__":{"hash":"sha256:36e73e2262343a24379f6a5427c8a755d213e8da70462ace942f68a721c92575"}} as unknown as DocumentNode<ConsoleFreezeTenantMutation, ConsoleFreezeTenantMutationVariables>;
export const ConsoleUnfreezeTenantDocument = {"__meta__":{"hash":"sha256:e71e608b1f0435c281074e2ef839a53e5258cce9bd8ebd67f7f3e8f280e223d1"}} as unknown as DocumentNode<ConsoleUnfreezeTenantMutation, ConsoleUnfreezeTenantMutationVariables>;
export const ConsoleCreateSignUpInviteDocument = {"__meta__":{"hash":"sha256:0c5082cdebfee17a056ac4b6ca9f675ac77f7c9964ba600f15e5b996da77ac55"}} as unknown as DocumentNode<ConsoleCreateSignUpInviteMutation, ConsoleCreateSignUpInviteMutationVariables>;
export const ConsoleCreateEnterpriseTenantDocument = {"__meta__":{"hash":"sha256:25e5f7025e924b58cd49b25d47ecf7d081e5b15846933aeda0266bcfe574c658"}} as unknown as DocumentNode<ConsoleCreateEnterpriseTenantMutation, ConsoleCreateEnterpriseTenantMutationVariables>;
export const ConsoleBackupTenantDocument = {"__meta__":{"hash":"sha256:18a7ce69bddd1536543c9b741352c1dc2dc303d957f8655a93e91e97a6c3b73c"}} as unknown as DocumentNode<ConsoleBackupTenantMutation, ConsoleBackupTenantMutationVariables>;
export const ConsoleRestoreTenantDocument = {"__meta__":{"hash":"sha256:4bfd8ffbaaf0709b46dd7dfc2bd532c50f54dd7c1acc2926426a3359a183f855"}} as unknown as DocumentNode<ConsoleRestoreTenantMutation, ConsoleRestoreTenantMutationVariables>;
export const ConsolePlatformClientAppsDocument = {"__meta__":{"hash":"sha256:06256575bc52b9c109c9ee00b88b3a697169f1846b2283dc080737b7b4a30f7e"}} as unknown as DocumentNode<ConsolePlatformClientAppsQuery, ConsolePlatformClientAppsQueryVariables>;
export const ConsoleTenantRetentionDocument = {"__meta__":{"hash":"sha256:2d3b63b0ce35dc413af83b747909a7d250365b59787194698bf8eb2f08a7d2cf"}} as unknown as DocumentNode<ConsoleTenantRetentionQuery, ConsoleTenantRetentionQueryVariables>;
export const ConsolePendingPurgesDocument = {"__meta__":{"hash":"sha256:5f73510d8352814092cf63d9fa600ce2d30b89fc3593790cdbfae134a015e805"}} as unknown as DocumentNode<ConsolePendingPurgesQuery, ConsolePendingPurgesQueryVariables>;
export const ConsoleRequestTenantDeletionDocument = {"__meta__":{"hash":"sha256:9ef5d734416ad1b12e0040784c3717f05c6e91c00b7b768d89cccfdc651e7c74"}} as unknown as DocumentNode<ConsoleRequestTenantDeletionMutation, ConsoleRequestTenantDeletionMutationVariables>;
export const ConsoleCancelTenantDeletionDocument = {"__meta__":{"hash":"sha256:15783513df779327dffc3be001d7285680d93c4075b7b3a58b20ad998d9d1932"}} as unknown as DocumentNode<ConsoleCancelTenantDeletionMutation, ConsoleCancelTenantDeletionMutationVariables>;
export const ConsoleRetentionRoleDocument = {"__meta__":{"hash":"sha256:de9adf2d05c094c50a9533d557a39ac3e8b45509ae6119837bcda8b79cf09274"}} as unknown as DocumentNode<ConsoleRetentionRoleQuery, ConsoleRetentionRoleQueryVariables>;
export const ConsoleSetAuditRetentionDocument = {"__meta__":{"hash":"sha256:7343b438d5eda9b3495a21d2f27094a617fc836f4edd67785c47a28b5ce1491f"}} as unknown as DocumentNode<ConsoleSetAuditRetentionMutation, ConsoleSetAuditRetentionMutationVariables>;
export const ConsoleSetMemoryRetentionDocument = {"__meta__":{"hash":"sha256:4c216dc6dc191aa74c81f847a9adaac4e4291b7a81019dbc9dbecf3fa4071bc3"}} as unknown as DocumentNode<ConsoleSetMemoryRetentionMutation, ConsoleSetMemoryRetentionMutationVariables>;
export const ConsoleSetTaskRetentionDocument = {"__meta__":{"hash":"sha256:fa57d46047c3ef559f405614e030036c85f6c3364dfcceff53e2595defeb0521"}} as unknown as DocumentNode<ConsoleSetTaskRetentionMutation, ConsoleSetTaskRetentionMutationVariables>;
export const ConsoleRedeemSignInLinkDocument = {"__meta__":{"hash":"sha256:42201b75b9127894f92cb510db05112466356445683ae172321043a6ccc8b722"}} as unknown as DocumentNode<ConsoleRedeemSignInLinkMutation, ConsoleRedeemSignInLinkMutationVariables>;
export const ConsoleRefreshSessionDocument = {"__meta__":{"hash":"sha256:001a702868f4d7add9eaeb40ce13331bedf0976756827ac4b879239bc372ceaa"}} as unknown as DocumentNode<ConsoleRefreshSessionMutation, ConsoleRefreshSessionMutationVariables>;
export const ConsoleEndSessionDocument = {"__meta__":{"hash":"sha256:7181e742c4e8bad62957855fac568e05e9e500e6dcbd9e58ac38ff912146cb0d"}} as unknown as DocumentNode<ConsoleEndSessionMutation, ConsoleEndSessionMutationVariables>;
export const ConsoleSignInWithIdTokenDocument = {"__meta__":{"hash":"sha256:39ae36dc336e252ebf7eb4e12ad2d82eee1a6611a3cf978fe65bf4bd4fadcb76"}} as unknown as DocumentNode<ConsoleSignInWithIdTokenMutation, ConsoleSignInWithIdTokenMutationVariables>;
export const ConsoleMembersDocument = {"__meta__":{"hash":"sha256:2f535443a2c8e3ea37227bb458dced37fe29baabf20bf5ed3d903fa72d00147d"}} as unknown as DocumentNode<ConsoleMembersQuery, ConsoleMembersQueryVariables>;
export const ConsoleAddMemberDocument = {"__meta__":{"hash":"sha256:c1186997f9dbaa55803675400a55b2cb0ccc03c37741d5374b6a67d797f44e54"}} as unknown as DocumentNode<ConsoleAddMemberMutation, ConsoleAddMemberMutationVariables>;
export const ConsoleChangeMemberRoleDocument = {"__meta__":{"hash":"sha256:819e3a08cb5e81af40b055218dfe55e33f9262f9ee1e5732fdc8efa77c31f4f5"}} as unknown as DocumentNode<ConsoleChangeMemberRoleMutation, ConsoleChangeMemberRoleMutationVariables>;
export const ConsoleSuspendMemberDocument = {"__meta__":{"hash":"sha256:abc8b95fe03c616085fcd7f00c5175a7770b573b221d86ef9f1e99f9c3cb295d"}} as unknown as DocumentNode<ConsoleSuspendMemberMutation, ConsoleSuspendMemberMutationVariables>;
export const ConsoleReinstateMemberDocument = {"__meta__":{"hash":"sha256:ea0b1d8f8884deacd283bb34b588d4f86c36f19523b82f636f5b0193f088e877"}} as unknown as DocumentNode<ConsoleReinstateMemberMutation, ConsoleReinstateMemberMutationVariables>;
export const ConsoleRemoveMemberDocument = {"__meta__":{"hash":"sha256:9bc609bb47246481c9155f616ac4eae29e384e06905ef9b1ea1b25717e800994"}} as unknown as DocumentNode<ConsoleRemoveMemberMutation, ConsoleRemoveMemberMutationVariables>;
export const ConsoleMySessionsDocument = {"__meta__":{"hash":"sha256:d644333265239616d1a5ae6e21b825a2b80ee79de2b8f6e0a7f52e4744dfaba7"}} as unknown as DocumentNode<ConsoleMySessionsQuery, ConsoleMySessionsQueryVariables>;
export const ConsoleMemberSessionsDocument = {"__meta__":{"hash":"sha256:d6e171b14fc498600b2530a2a0a4756394bc717ec632dabb6d9e47617bd4eebe"}} as unknown as DocumentNode<ConsoleMemberSessionsQuery, ConsoleMemberSessionsQueryVariables>;
export const ConsoleApiKeysDocument = {"__meta__":{"hash":"sha256:e2f8cacf2329c3f9e2a77febcda0fe35e5d82ed8baf5ca8a23135a883feeda73"}} as unknown as DocumentNode<ConsoleApiKeysQuery, ConsoleApiKeysQueryVariables>;
export const ConsoleCreateApiKeyDocument = {"__meta__":{"hash":"sha256:bc5f819f19a1c577ba90472b604320257bdb0d620b432732928a3fdf58366d84"}} as unknown as DocumentNode<ConsoleCreateApiKeyMutation, ConsoleCreateApiKeyMutationVariables>;
export const ConsoleRevokeApiKeyDocument = {"__meta__":{"hash":"sha256:ab6916cf35062d10a65f13f2419a61f6451d62e4a2cc97ce1da4efa0f0059a89"}} as unknown as DocumentNode<ConsoleRevokeApiKeyMutation, ConsoleRevokeApiKeyMutationVariables>;
export const ConsoleClientAppsDocument = {"__meta__":{"hash":"sha256:e6af690b5db0f77affae0dc9de4f08f17ce047f299dfca88a587e65aca41794d"}} as unknown as DocumentNode<ConsoleClientAppsQuery, ConsoleClientAppsQueryVariables>;
export const ConsoleRetireVersionDocument = {"__meta__":{"hash":"sha256:6446f6fc487d009b47134bc1c792320ce9bc28f3546dc72a25520c21540f85ba"}} as unknown as DocumentNode<ConsoleRetireVersionMutation, ConsoleRetireVersionMutationVariables>;
export const ConsoleSupportGrantsDocument = {"__meta__":{"hash":"sha256:eb1bee913fce0084769c94a5ab984405440feb7378bc5234c297f966036724de"}} as unknown as DocumentNode<ConsoleSupportGrantsQuery, ConsoleSupportGrantsQueryVariables>;
export const ConsoleGrantSupportDocument = {"__meta__":{"hash":"sha256:67dbab5e038ffe35458dd912098d363c42e05d77d97d156a8a0378f238e6c960"}} as unknown as DocumentNode<ConsoleGrantSupportMutation, ConsoleGrantSupportMutationVariables>;
export const ConsoleRevokeSupportDocument = {"__meta__":{"hash":"sha256:a4a9662476234645ba897bb9525c45cbf2e0ff66890ba16532121d7c0660d6be"}} as unknown as DocumentNode<ConsoleRevokeSupportMutation, ConsoleRevokeSupportMutationVariables>;
export const ConsoleIsolationDocument = {"__meta__":{"hash":"sha256:d99b3d505a883a0f069f54ae008089cd7511782348656b3e31c3c004b42d2427"}} as unknown as DocumentNode<ConsoleIsolationQuery, ConsoleIsolationQueryVariables>;
export const ConsoleKeyStatusDocument = {"__meta__":{"hash":"sha256:ad69f203eb30707cad43b0e7212bac3683546b77408ce2255dfbc5e857317ead"}} as unknown as DocumentNode<ConsoleKeyStatusQuery, ConsoleKeyStatusQueryVariables>;
export const ConsoleAgentsDocument = {"__meta__":{"hash":"sha256:ea90294e54bd190d2d9077c40a76be84cdeac3ea5c428cac4d04f55a748ef7af"}} as unknown as DocumentNode<ConsoleAgentsQuery, ConsoleAgentsQueryVariables>;
export const ConsoleAgentDocument = {"__meta__":{"hash":"sha256:93d46b11c7e4e4d662b76119b7f829292d05d966132f210f15315eeb7f32cc6a"}} as unknown as DocumentNode<ConsoleAgentQuery, ConsoleAgentQueryVariables>;
export const ConsoleAgentCredentialsDocument = {"__meta__":{"hash":"sha256:068b4196bce4f45df05a844463f1087fc34ddff63bc8c895a0a36decc8746fc4"}} as unknown as DocumentNode<ConsoleAgentCredentialsQuery, ConsoleAgentCredentialsQueryVariables>;
export const ConsoleCreateAgentDocument = {"__meta__":{"hash":"sha256:4c7426574b073f2cbb93cd1bc8387f9b237b15ddf18f2e2eff4c4844cf041c92"}} as unknown as DocumentNode<ConsoleCreateAgentMutation, ConsoleCreateAgentMutationVariables>;
export const ConsoleStopAgentDocument = {"__meta__":{"hash":"sha256:755463e4b4eee49ab5340ddf2cc681ceb53d340405ba194519c92b5b467b747f"}} as unknown as DocumentNode<ConsoleStopAgentMutation, ConsoleStopAgentMutationVariables>;
export const ConsoleStartAgentDocument = {"__meta__":{"hash":"sha256:535b8358779ab12060c8dc7e053baf12fea1120e8d117b94e34aef9c4918386e"}} as unknown as DocumentNode<ConsoleStartAgentMutation, ConsoleStartAgentMutationVariables>;
export const ConsoleRestartAgentDocument = {"__meta__":{"hash":"sha256:2266f0b5b5a0ff0b75de6dd6513842f3958b15c2b78f546eac4b9cb4537e654c"}} as unknown as DocumentNode<ConsoleRestartAgentMutation, ConsoleRestartAgentMutationVariables>;
export const ConsoleAgentStatusDocument = {"__meta__":{"hash":"sha256:fb60ef5ce0c6514c5a9a18931428cd806e5c714c556223d8f53bf686bea8ab9b"}} as unknown as DocumentNode<ConsoleAgentStatusSubscription, ConsoleAgentStatusSubscriptionVariables>;
export const ConsoleDeleteAgentDocument = {"__meta__":{"hash":"sha256:f3b861abd66c5d96f88cda9092a827664b9c9f9b5361f656d68e3da8eeb59a1b"}} as unknown as DocumentNode<ConsoleDeleteAgentMutation, ConsoleDeleteAgentMutationVariables>;
export const ConsoleAuditLogDocument = {"__meta__":{"hash":"sha256:21b305e566c961aa01e6f83cfae9b200897035ae59f56365524263f8c4d5ddf2"}} as unknown as DocumentNode<ConsoleAuditLogQuery, ConsoleAuditLogQueryVariables>;
export const ConsoleVerifyAuditLogDocument = {"__meta__":{"hash":"sha256:7d4c649ec144636b95f41218783e8973ecc174836ef724efc3b895b6e1a2de36"}} as unknown as DocumentNode<ConsoleVerifyAuditLogQuery, ConsoleVerifyAuditLogQueryVariables>;
export const ConsoleAuditReportDocument = {"__meta__":{"hash":"sha256:0591dbdb4dea3114b16bd0c3adec7cd5806f68535243f2571190af8095cb61cd"}} as unknown as DocumentNode<ConsoleAuditReportQuery, ConsoleAuditReportQueryVariables>;
export const ConsoleAgentsChangedDocument = {"__meta__":{"hash":"sha256:cc5aab87d994a2d75ee754a3c7ba93d0d597084cbba79cc21cf1094f80b57599"}} as unknown as DocumentNode<ConsoleAgentsChangedSubscription, ConsoleAgentsChangedSubscriptionVariables>;
export const ConsoleTenantStatusDocument = {"__meta__":{"hash":"sha256:ccbb63085992f7f47d508c01fcfee3ff3a28635c578a1d28a00f35f222020048"}} as unknown as DocumentNode<ConsoleTenantStatusSubscription, ConsoleTenantStatusSubscriptionVariables>;