import { forbidden, unauthenticated } from '../shared/errors.ts';
import type { ApiKeyScope, Principal, UserRole } from './principal.ts';

/**
 * The action catalogue: every operation the API offers maps to one action, and this file is the
 * single place that says who may perform it. Resolver scopes (wall 1) and services both ask
 * `can()`; tenant isolation itself is not decided here but by the ORM filter and RLS.
 */
export type Action =
  | 'tenant.read'
  | 'member.read'
  | 'member.manage'
  | 'agent.read'
  | 'agent.write'
  | 'apiKey.read'
  | 'apiKey.manage'
  | 'audit.read'
  | 'audit.manage'
  | 'support.manage'
  | 'platform.tenants.read'
  | 'platform.tenants.manage';

const VIEWER: readonly Action[] = ['tenant.read', 'member.read', 'agent.read'];
const MEMBER: readonly Action[] = [...VIEWER, 'agent.write'];
const ADMIN: readonly Action[] = [...MEMBER, 'member.manage', 'apiKey.read', 'apiKey.manage', 'audit.read'];

/** Only owners set the audit retention and grant support access to their tenant. */
const OWNER: readonly Action[] = [...ADMIN, 'audit.manage', 'support.manage'];

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

/** Operators see platform metadata only: no action here reaches a row inside a tenant. */
const operatorActions: ReadonlySet<Action> = new Set(['platform.tenants.read', 'platform.tenants.manage']);

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
    case 'anonymous':
      return false;
  }
}

/** First line of every service method: the same catalogue the resolver scopes use, checked again. */
export function assertCan(principal: Principal, action: Action): void {
  if (!can(principal, action)) throw principal.kind === 'anonymous' ? unauthenticated('Authentication required') : forbidden();
}
