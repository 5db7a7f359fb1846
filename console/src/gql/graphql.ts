/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type AgentDesiredState =
  | 'RUNNING'
  | 'STOPPED';

export type AgentNetwork =
  /** Only loopback. */
  | 'NONE'
  /** The tenant's own bridge network (egress). */
  | 'TENANT';

export type AgentStatus =
  | 'CREATED'
  | 'DELETING'
  | 'FAILED'
  | 'PROVISIONING'
  | 'RUNNING'
  | 'STOPPED';

export type AuditBreakReason =
  | 'BAD_CHECKPOINT'
  | 'BROKEN_LINK'
  | 'HASH_MISMATCH'
  | 'MISSING_START'
  | 'SEQUENCE_GAP'
  | 'WRONG_TENANT';

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
  image: string;
  /** Memory limit, MB (default 64). */
  memoryMb?: number | null | undefined;
  name: string;
  /** Default: the tenant's plan level, else RUNC. */
  sandbox?: SandboxLevel | null | undefined;
};

export type IsolationCanaryOutcome =
  /** The run failed before it could tell; the next run tries again. */
  | 'ERROR'
  /** Something leaked: the gateway locked itself down (requests of tenants are refused). */
  | 'EXPOSED'
  /** Every cross-tenant probe was refused and RLS is enabled and forced on every tenant table. */
  | 'OK';

/** RUNC: a hardened container on the host kernel. GVISOR: the same container under gVisor, a user-space kernel (no network). See docs/security-model.md. */
export type SandboxLevel =
  | 'GVISOR'
  | 'RUNC';

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

export type ConsoleIsolationQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleIsolationQuery = { me: { id: string, name: string, email: string, role: UserRole }, tenant: { id: string, name: string, status: TenantStatus, frozenReason: string | null, plan: TenantPlan, region: string, createdAt: string, memberCount: number, agentCount: number, quotas: { sandbox: SandboxLevel | null, maxAgents: number } }, agents: { edges: Array<{ node: { id: string, name: string, status: AgentStatus, sandbox: { requested: SandboxLevel | null, runtime: SandboxLevel | null, network: AgentNetwork } } }> }, isolationCanary: { ranAt: string, outcome: IsolationCanaryOutcome } | null };

export type ConsoleKeyStatusQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleKeyStatusQuery = { tenantKeyStatus: { provider: string, latestVersion: number, minDecryptionVersion: number } };

export type ConsoleAgentsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleAgentsQuery = { agents: { edges: Array<{ node: { id: string, name: string, image: string, status: AgentStatus, statusReason: string | null, updatedAt: string, sandbox: { runtime: SandboxLevel | null, network: AgentNetwork } } }> } };

export type ConsoleAgentQueryVariables = Exact<{
  id: string;
}>;


export type ConsoleAgentQuery = { agent: { id: string, name: string, description: string, image: string, status: AgentStatus, statusReason: string | null, desiredState: AgentDesiredState, egress: boolean, createdAt: string, updatedAt: string, sandbox: { requested: SandboxLevel | null, runtime: SandboxLevel | null, network: AgentNetwork, scratchMb: number }, runtime: { cpuMillis: number, memoryMb: number, pidsLimit: number, startedAt: string | null, crashCount: number } } };

export type ConsoleAgentCredentialsQueryVariables = Exact<{
  id: string;
}>;


export type ConsoleAgentCredentialsQuery = { agent: { id: string, credentials: Array<{ name: string, version: number, createdAt: string }> } };

export type ConsoleCreateAgentMutationVariables = Exact<{
  input: CreateAgentInput;
}>;


export type ConsoleCreateAgentMutation = { createAgent: { agent: { id: string, name: string, status: AgentStatus } } };

export type ConsoleDeleteAgentMutationVariables = Exact<{
  id: string;
}>;


export type ConsoleDeleteAgentMutation = { deleteAgent: { deletedAgentId: string } };

export type ConsoleAuditLogQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ConsoleAuditLogQuery = { auditLog: { edges: Array<{ node: { id: string, seq: string, action: string, actorType: string, outcome: AuditOutcome, targetId: string | null, createdAt: string } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleVerifyAuditLogQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleVerifyAuditLogQuery = { verifyAuditLog: { intact: boolean, eventsChecked: number, firstSeq: string | null, lastSeq: string | null, headHash: string, checkpointSeq: string | null, brokenAt: { seq: string, reason: AuditBreakReason } | null } };


export const ConsolePlatformTenantsDocument = {"__meta__":{"hash":"sha256:55c03c4ce9193469aeb2c3aed716d2892ec308d807ae914994b2b04429a2bd15"}} as unknown as DocumentNode<ConsolePlatformTenantsQuery, ConsolePlatformTenantsQueryVariables>;
export const ConsoleFreezeTenantDocument = {"__meta__":{"hash":"sha256:36e73e2262343a24379f6a5427c8a755d213e8da70462ace942f68a721c92575"}} as unknown as DocumentNode<ConsoleFreezeTenantMutation, ConsoleFreezeTenantMutationVariables>;
export const ConsoleUnfreezeTenantDocument = {"__meta__":{"hash":"sha256:e71e608b1f0435c281074e2ef839a53e5258cce9bd8ebd67f7f3e8f280e223d1"}} as unknown as DocumentNode<ConsoleUnfreezeTenantMutation, ConsoleUnfreezeTenantMutationVariables>;
export const ConsoleRedeemSignInLinkDocument = {"__meta__":{"hash":"sha256:42201b75b9127894f92cb510db05112466356445683ae172321043a6ccc8b722"}} as unknown as DocumentNode<ConsoleRedeemSignInLinkMutation, ConsoleRedeemSignInLinkMutationVariables>;
export const ConsoleRefreshSessionDocument = {"__meta__":{"hash":"sha256:001a702868f4d7add9eaeb40ce13331bedf0976756827ac4b879239bc372ceaa"}} as unknown as DocumentNode<ConsoleRefreshSessionMutation, ConsoleRefreshSessionMutationVariables>;
export const ConsoleEndSessionDocument = {"__meta__":{"hash":"sha256:7181e742c4e8bad62957855fac568e05e9e500e6dcbd9e58ac38ff912146cb0d"}} as unknown as DocumentNode<ConsoleEndSessionMutation, ConsoleEndSessionMutationVariables>;
export const ConsoleSignInWithIdTokenDocument = {"__meta__":{"hash":"sha256:39ae36dc336e252ebf7eb4e12ad2d82eee1a6611a3cf978fe65bf4bd4fadcb76"}} as unknown as DocumentNode<ConsoleSignInWithIdTokenMutation, ConsoleSignInWithIdTokenMutationVariables>;
export const ConsoleIsolationDocument = {"__meta__":{"hash":"sha256:d99b3d505a883a0f069f54ae008089cd7511782348656b3e31c3c004b42d2427"}} as unknown as DocumentNode<ConsoleIsolationQuery, ConsoleIsolationQueryVariables>;
export const ConsoleKeyStatusDocument = {"__meta__":{"hash":"sha256:f4df5dc1591d8b95886f8a846111d1ed89f34dcd30146cf90409c54775efedb1"}} as unknown as DocumentNode<ConsoleKeyStatusQuery, ConsoleKeyStatusQueryVariables>;
export const ConsoleAgentsDocument = {"__meta__":{"hash":"sha256:ea90294e54bd190d2d9077c40a76be84cdeac3ea5c428cac4d04f55a748ef7af"}} as unknown as DocumentNode<ConsoleAgentsQuery, ConsoleAgentsQueryVariables>;
export const ConsoleAgentDocument = {"__meta__":{"hash":"sha256:6b259134ab9d759e6dd6a483b66e667f593d6c48d521f14680efa62bc684c9a8"}} as unknown as DocumentNode<ConsoleAgentQuery, ConsoleAgentQueryVariables>;
export const ConsoleAgentCredentialsDocument = {"__meta__":{"hash":"sha256:068b4196bce4f45df05a844463f1087fc34ddff63bc8c895a0a36decc8746fc4"}} as unknown as DocumentNode<ConsoleAgentCredentialsQuery, ConsoleAgentCredentialsQueryVariables>;
export const ConsoleCreateAgentDocument = {"__meta__":{"hash":"sha256:4c7426574b073f2cbb93cd1bc8387f9b237b15ddf18f2e2eff4c4844cf041c92"}} as unknown as DocumentNode<ConsoleCreateAgentMutation, ConsoleCreateAgentMutationVariables>;
export const ConsoleDeleteAgentDocument = {"__meta__":{"hash":"sha256:f3b861abd66c5d96f88cda9092a827664b9c9f9b5361f656d68e3da8eeb59a1b"}} as unknown as DocumentNode<ConsoleDeleteAgentMutation, ConsoleDeleteAgentMutationVariables>;
export const ConsoleAuditLogDocument = {"__meta__":{"hash":"sha256:022f483c591b319b48c7c39131a65b20f38fec2135be9aafdebece9948b63988"}} as unknown as DocumentNode<ConsoleAuditLogQuery, ConsoleAuditLogQueryVariables>;
export const ConsoleVerifyAuditLogDocument = {"__meta__":{"hash":"sha256:7d4c649ec144636b95f41218783e8973ecc174836ef724efc3b895b6e1a2de36"}} as unknown as DocumentNode<ConsoleVerifyAuditLogQuery, ConsoleVerifyAuditLogQueryVariables>;