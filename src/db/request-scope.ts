import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { type Principal, tenantOf } from '../auth/principal.ts';
import type { TokenLiveness } from '../auth/token-liveness.ts';
import { AGENT_FILTER, TENANT_FILTER } from './tenant-filter.ts';

/** Transaction-local settings the RLS policies read (app_current_tenant and app_is_operator, migrations/functions/walls.sql). */
export const TENANT_SETTING = 'app.tenant_id';
export const OPERATOR_SETTING = 'app.operator';
/** Set only when the principal is an agent: the agent wall (app_current_agent, enable_agent_rls, migrations/functions/walls.sql). */
export const AGENT_SETTING = 'app.agent_id';

/** Where an enterprise tenant's tables live (tenant_schema_name(), migrations/functions/enterprise.sql). */
export function tenantSchemaName(tenantId: string): string {
  return `tenant_${tenantId.replace(/-/g, '').toLowerCase()}`;
}

/**
 * Routes a tenant's unqualified SQL: its own schema first, then the shared one. Set transaction-locally
 * with the tenant setting, so it ends with the transaction like the RLS setting does. A standard
 * tenant has no such schema and Postgres skips a missing schema in the path, so no plan lookup is
 * needed per request; only the owner creates tenant schemas, and only for enterprise tenants.
 */
export function tenantSearchPath(tenantId: string): string {
  return `${tenantSchemaName(tenantId)}, public`;
}

/**
 * A fresh EntityManager for one request, bound to its principal's tenant twice over:
 * - wall 2, the ORM filter parameter: every query on a tenant-owned entity gets `tenant_id = …`;
 * - wall 3, the RLS session variable: applied with `set_config(…, true)` at the start of every
 *   transaction this EntityManager opens, so it ends with the transaction and never leaks into the
 *   next request on the same pooled connection.
 * Anonymous and operator principals get no tenant: the filter has no parameter (tenant-owned
 * queries are refused) and the policies match no tenant row.
 */
export function forkForPrincipal(orm: MikroORM, principal: Principal): EntityManager {
  return forkWith(orm, {
    tenantId: tenantOf(principal),
    operator: principal.kind === 'operator',
    agentId: principal.kind === 'agent' ? principal.agentId : undefined,
  });
}

/**
 * The request's EntityManager (src/request/context.ts). For operators, API keys, support and anonymous
 * callers, forkForPrincipal. A user's or an agent's fork carries the ORM filter parameters but no
 * session variables: its transaction's first statement (`enterUserRequest`, `enterAgentRequest`)
 * sets the same settings and checks the token's liveness in one round trip. Until then RLS matches
 * no row (fail closed).
 */
export function forkForRequest(orm: MikroORM, principal: Principal): EntityManager {
  if (principal.kind !== 'agent' && principal.kind !== 'user') return forkForPrincipal(orm, principal);
  const em = orm.em.fork({ clear: true });
  em.setFilterParams(TENANT_FILTER, { tenantId: principal.tenantId });
  if (principal.kind === 'agent') em.setFilterParams(AGENT_FILTER, { agentId: principal.agentId });
  return em;
}

/**
 * First statement of an agent's request transaction (enter_agent_request): sets app.tenant_id,
 * search_path and app.agent_id transaction-locally, then answers whether the agent still exists in
 * its tenant with the token's generation (stop, restart and delete revoke at once). The caller
 * rolls back and answers UNAUTHENTICATED when it does not.
 */
export async function enterAgentRequest(em: EntityManager, principal: Extract<Principal, { kind: 'agent' }>): Promise<boolean> {
  const [row] = await em.execute<{ live: boolean }[]>('select enter_agent_request(?, ?, ?, ?) as live', agentRequestEntry(principal));
  return row?.live === true;
}

/**
 * First statement of a user's request transaction: sets app.tenant_id and search_path
 * transaction-locally and, unless this replica's memory vouches for the token (TokenLiveness: the
 * database found it live since the last change to the user the liveness feed announced), checks in
 * the same statement that the user is still an ACTIVE member at the token's version and the token's
 * session is live (enter_user_request). Removing the member, changing its role, suspending it or
 * revoking the session ends its tokens at the next request on the replica that made the change and
 * within the feed's delay (milliseconds) on every other.
 */
export async function enterUserRequest(
  em: EntityManager,
  principal: Extract<Principal, { kind: 'user' }>,
  liveness: TokenLiveness,
): Promise<boolean> {
  const searchPath = tenantSearchPath(principal.tenantId);
  if (liveness.vouchesFor(principal)) {
    await em.execute('select set_config(?, ?, true), set_config(?, ?, true)', [
      TENANT_SETTING,
      principal.tenantId,
      'search_path',
      searchPath,
    ]);
    return true;
  }
  const generation = liveness.generation;
  const [row] = await em.execute<{ live: boolean }[]>('select enter_user_request(?, ?, ?, ?, ?) as live', [
    principal.tenantId,
    principal.userId,
    searchPath,
    principal.tokenVersion ?? 1,
    principal.sessionId ?? null,
  ]);
  const live = row?.live === true;
  if (live) liveness.remember(principal, generation);
  return live;
}

/**
 * The first four arguments of every SQL function that enters an agent's request (enter_agent_request
 * and the memory statements, migrations/functions/agents.sql and memory.sql): all from the verified principal, none from input.
 */
export function agentRequestEntry(principal: Extract<Principal, { kind: 'agent' }>): [string, string, string, number] {
  return [principal.tenantId, principal.agentId, tenantSearchPath(principal.tenantId), principal.generation];
}

/**
 * A fork bound to one tenant for the gateway's own work in it (jobs, audit retention, the isolation
 * canary), which acts for no principal. The tenant id comes from the tenants table, never from a client.
 */
export function forkForTenant(orm: MikroORM, tenantId: string): EntityManager {
  return forkWith(orm, { tenantId, operator: false });
}

/**
 * An agent principal is bound to its agent as well (RLS setting and the ORM's agent filter), so
 * a sibling agent's memory, handoffs and grants are out of reach at walls 2 and 3 too.
 */
function forkWith(
  orm: MikroORM,
  { tenantId, operator, agentId }: { tenantId: string | undefined; operator: boolean; agentId?: string },
): EntityManager {
  const variables: Record<string, string> = {};
  if (tenantId) {
    variables[TENANT_SETTING] = tenantId;
    variables.search_path = tenantSearchPath(tenantId);
  }
  if (operator) variables[OPERATOR_SETTING] = 'on';
  if (tenantId && agentId) variables[AGENT_SETTING] = agentId;
  const em = orm.em.fork({ clear: true, session: { variables } });
  if (tenantId) em.setFilterParams(TENANT_FILTER, { tenantId });
  if (tenantId && agentId) em.setFilterParams(AGENT_FILTER, { agentId });
  return em;
}

/**
 * Enters a tenant for the rest of the current transaction (RLS setting and filter parameter) when
 * the principal has none: self-service onboarding (a tenant just created, its id generated here)
 * and operator lifecycle actions (to write the tenant's own audit event). Never with client input
 * that has not been resolved to an existing tenant first.
 */
export async function enterTenant(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute('select set_config(?, ?, true), set_config(?, ?, true)', [
    TENANT_SETTING,
    tenantId,
    'search_path',
    tenantSearchPath(tenantId),
  ]);
  em.setFilterParams(TENANT_FILTER, { tenantId });
}

/** An operator-bound EntityManager (tenant metadata only) for platform jobs. */
export function forkForOperator(orm: MikroORM): EntityManager {
  return forkWith(orm, { tenantId: undefined, operator: true });
}
