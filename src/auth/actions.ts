import { forbidden, unauthenticated } from '../shared/errors.ts';
import type { ApiKeyScope, Principal, UserRole } from './principal.ts';

/**
 * The action catalogue: every operation the API offers maps to one action, and this file is the
 * single place that says who may perform it. Resolver scopes (wall 1) and services both ask
 * `can()`; tenant isolation itself is not decided here but by the ORM filter and RLS.
 */
export type Action =
  | 'tenant.read'
  | 'tenant.delete'
  | 'member.read'
  | 'member.manage'
  | 'session.self'
  | 'identity.manage'
  | 'tenant.leave'
  | 'agent.read'
  | 'agent.write'
  | 'agent.egress'
  | 'apiKey.read'
  | 'apiKey.manage'
  | 'audit.read'
  | 'audit.manage'
  | 'support.manage'
  | 'platform.tenants.read'
  | 'platform.tenants.manage'
  | 'credential.read'
  | 'credential.manage'
  | 'platform.keys.manage'
  | 'memory.manage'
  | 'memory.retention'
  | 'task.retention'
  | 'workspace.manage'
  | 'agent.self.memory'
  | 'agent.self.handoff'
  | 'agent.self.workspace'
  | 'agent.self.token'
  | 'platform.enterprise.manage'
  | 'documents.read'
  | 'documents.publish'
  | 'platform.documents.manage'
  | 'isolation.read'
  | 'platform.isolation.read';

/**
 * Every member manages its own sessions (list, sign out one device or all) and may leave its
 * tenant; whether it may leave (the last owner may not) is decided in the service.
 */
const VIEWER: readonly Action[] = ['tenant.read', 'member.read', 'agent.read', 'session.self', 'tenant.leave'];
const MEMBER: readonly Action[] = [...VIEWER, 'agent.write'];
/**
 * Owners and admins decide which agents may reach the network (`agent.egress`): egress is the one
 * way data leaves an agent other than through the gateway, so members and API keys cannot grant it.
 * Agent credentials (metadata, and setting, rotating, deleting values) are for owners and admins
 * only: members run agents but cannot plant or list the secrets an agent holds; API keys and support
 * grants never reach them. No action anywhere returns a credential's value.
 */
const CREDENTIALS: readonly Action[] = ['credential.read', 'credential.manage'];
/**
 * Admins also export or wipe one agent's memory at a time (never a query across agents) and manage
 * the shared workspace files and their per-agent grants: both are the tenant's data, not a member's.
 */
const MEMORY: readonly Action[] = ['memory.manage', 'workspace.manage'];
/**
 * Owners and admins publish and retire their tenant's client apps (trusted documents): a published
 * hash becomes an operation every key and session bound to that app may run, so it is the same
 * decision as issuing an API key. Members and API keys only run what was published.
 */
const DOCUMENTS: readonly Action[] = ['documents.read', 'documents.publish'];
/**
 * Owners and admins read the isolation canary's history (`isolation.read`: when and how each run
 * ended) and how many of their tenant's data keys each key version still wraps (with
 * `credential.read`): they answer for the tenant's security and follow a rotation or an incident;
 * every member sees the canary's last run and the key versions themselves (`tenant.read`).
 */
const ISOLATION: readonly Action[] = ['isolation.read'];
const ADMIN: readonly Action[] = [
  ...MEMBER,
  'member.manage',
  'apiKey.read',
  'apiKey.manage',
  'audit.read',
  'agent.egress',
  ...CREDENTIALS,
  ...MEMORY,
  ...DOCUMENTS,
  ...ISOLATION,
];

/**
 * Only owners set the audit, memory and task history retention, grant support access to their
 * tenant, and register OpenID Connect connections (`identity.manage`): a connection decides who may
 * become a member, so it is an owner's decision like ownership itself. Only owners ask for (and
 * cancel) the erasure of the whole tenant (`tenant.delete`, see tenant-deletion.service.ts).
 */
const OWNER: readonly Action[] = [
  ...ADMIN,
  'audit.manage',
  'support.manage',
  'memory.retention',
  'task.retention',
  'identity.manage',
  'tenant.delete',
];

const roleActions: Record<UserRole, ReadonlySet<Action>> = {
  OWNER: new Set(OWNER),
  ADMIN: new Set(ADMIN),
  MEMBER: new Set(MEMBER),
  VIEWER: new Set(VIEWER),
};

/** An API key grants only the actions of its scopes; it never manages members, keys or audit. */
const apiKeyScopeActions: Record<ApiKeyScope, readonly Action[]> = {
  AGENTS_READ: ['tenant.read', 'agent.read'],
  AGENTS_WRITE: ['tenant.read', 'agent.read', 'agent.write'],
};

/**
 * Support grants are read-only: they read what an admin reads and change nothing, not even their
 * own grant. Every request under a grant is audited with the grant (see audit-trail.ts).
 */
const supportActions: ReadonlySet<Action> = new Set(['tenant.read', 'member.read', 'agent.read', 'apiKey.read', 'audit.read']);

/**
 * Operators see platform metadata only: no action here reaches a row inside a tenant. Rotating the
 * key-encryption key is theirs: it rewraps data keys and never decrypts a value. Enterprise
 * onboarding, upgrades and backups (a tier is a platform decision) move a tenant's rows between
 * schemas or into an encrypted archive; the operator sees ids and counts, never the rows. Platform
 * client apps (the console and operations every tenant may run) are published and retired by operators.
 * The isolation canary's history is theirs whole (`platform.isolation.read`: every replica by name, and
 * why a run failed), since it is about the platform's machines and walls, never a tenant's rows.
 */
const operatorActions: ReadonlySet<Action> = new Set([
  'platform.tenants.read',
  'platform.tenants.manage',
  'platform.keys.manage',
  'platform.enterprise.manage',
  'platform.documents.manage',
  'platform.isolation.read',
]);

/**
 * An agent token reaches only that agent's own memory, its handoffs, the workspace files granted to
 * it, and its own token's renewal; no action here touches the tenant, its members or other agents.
 * Which agent is always the principal's own (services, the ORM's agent filter and RLS all key on it).
 */
const agentActions: ReadonlySet<Action> = new Set(['agent.self.memory', 'agent.self.handoff', 'agent.self.workspace', 'agent.self.token']);

export function can(principal: Principal, action: Action): boolean {
  switch (principal.kind) {
    case 'user':
      return roleActions[principal.role].has(action);
    case 'apiKey':
      return principal.scopes.some((scope) => apiKeyScopeActions[scope].includes(action));
    case 'support':
      return supportActions.has(action);
    case 'operator':
      return operatorActions.has(action);
    case 'agent':
      return agentActions.has(action);
    case 'anonymous':
      return false;
  }
}

/** First line of every service method: the same catalogue the resolver scopes use, checked again. */
export function assertCan(principal: Principal, action: Action): void {
  if (!can(principal, action)) throw principal.kind === 'anonymous' ? unauthenticated('Authentication required') : forbidden();
}
