/**
 * Wall 2: the ORM's tenant filter. On by default for every tenant-owned entity, so every find,
 * count, update and delete carries `tenant_id = <principal's tenant>` in its WHERE clause.
 * Its parameter is set per request from the principal (forkForRequest and its siblings in request-scope.ts); a request
 * without a tenant has no parameter and MikroORM refuses the query ("No arguments provided for
 * filter"): fail closed.
 */
export const TENANT_FILTER = 'tenant';

export const tenantFilter = {
  [TENANT_FILTER]: {
    name: TENANT_FILTER,
    cond: (args: Record<string, unknown>) => ({ tenantId: args.tenantId }),
    default: true,
  },
};

/** The tenants table keys tenants by `id`; same filter name, so one parameter drives both. */
export const ownTenantFilter = {
  [TENANT_FILTER]: {
    name: TENANT_FILTER,
    cond: (args: Record<string, unknown>) => ({ id: args.tenantId }),
    default: true,
  },
};

/**
 * Wall 2 for agent-owned rows (memory, handoffs, file grants): on by default, so a query on them
 * carries `agent_id = <agent>`. An agent principal's fork sets the parameter to its own agent; a
 * tenant member must name the one agent it acts on (`filters: { agent: { agentId } }`), and a query
 * that names none is refused by MikroORM ("No arguments provided for filter"): no query spans agents.
 */
export const AGENT_FILTER = 'agent';

export const agentFilter = {
  [AGENT_FILTER]: {
    name: AGENT_FILTER,
    cond: (args: Record<string, unknown>) => ({ agentId: args.agentId }),
    default: true,
  },
};
