/**
 * The write `npm run bench` compares: rename one of the caller's agents. Fleetgate's `updateAgent`
 * (in the ORM request transaction, with its audit event appended to the tenant's hash chain in the
 * same transaction) against PostGraphile's generated `updateAgentByRowIdAndTenantId` on the same table under
 * the same RLS policy (no audit: PostGraphile has none to write). Every answer is checked: the
 * renamed agent is the one asked for, belongs to the caller's tenant and carries the new name.
 */
import { type AnswerCheck, agentIdOf, type RequestBody } from './load.ts';
import type { Fixtures, TenantFixture } from './seed.ts';

export const FLEETGATE_UPDATE =
  'mutation BenchRenameAgent($id: ID!, $name: String!) { updateAgent(input: { id: $id, name: $name }) { agent { id name } } }';
/** The agents table's primary key is `(id, tenant_id)` (Citus-ready), so PostGraphile's mutation by key names both. */
const POSTGRAPHILE_UPDATE =
  'mutation ($id: UUID!, $tenantId: UUID!, $name: String!) { updateAgentByRowIdAndTenantId(input: { rowId: $id, tenantId: $tenantId, agentPatch: { name: $name } }) { agent { id: rowId name } } }';

/** Names are unique per tenant: every rename in the run gets a name no other has had. */
let renames = 0;

/**
 * Request bodies renaming a random agent of the tenant sent as: Fleetgate's by trusted document
 * (`documentId`, or the raw query when it is null), PostGraphile's raw.
 */
export function renameBodies(
  fixtures: Fixtures,
  fleetgateDocumentId: string | null,
): { fleetgate: RequestBody; postgraphile: RequestBody } {
  const agentsOf = new Map<string, string[]>();
  for (const [agent, tenant] of fixtures.agentOwner) agentsOf.set(tenant, [...(agentsOf.get(tenant) ?? []), agent]);
  const target = (tenant: TenantFixture) => {
    const agents = agentsOf.get(tenant.tenantId) ?? [];
    renames += 1;
    return { id: agents[Math.floor(Math.random() * agents.length)] ?? '', name: `renamed-${renames}` };
  };
  return {
    fleetgate: (tenant) => {
      const { id, name } = target(tenant);
      const variables = { id: Buffer.from(`Agent:${id}`).toString('base64'), name };
      return JSON.stringify(fleetgateDocumentId ? { documentId: fleetgateDocumentId, variables } : { query: FLEETGATE_UPDATE, variables });
    },
    postgraphile: (tenant) => JSON.stringify({ query: POSTGRAPHILE_UPDATE, variables: { ...target(tenant), tenantId: tenant.tenantId } }),
  };
}

interface RenameAnswer {
  data?: Record<string, { agent?: { id?: unknown; name?: unknown } } | null>;
  errors?: { message?: string }[];
}

/** A good answer: HTTP 200, no errors, the agent asked for (the caller's own) with its new name. */
export const checkRename: AnswerCheck = (status, body, { tenantId }, agentOwner, sent) => {
  let parsed: RenameAnswer;
  try {
    parsed = JSON.parse(body) as RenameAnswer;
  } catch {
    return { foreignRows: 0, problem: `HTTP ${status}, not JSON: ${body.slice(0, 200)}` };
  }
  const agent = Object.values(parsed.data ?? {})[0]?.agent;
  const id = typeof agent?.id === 'string' ? agent.id : '';
  if (agent && agentOwner.get(agentIdOf(id, agentOwner)) !== tenantId)
    return { foreignRows: 1, problem: `tenant ${tenantId} renamed a foreign agent` };
  if (status !== 200 || parsed.errors?.length) {
    return { foreignRows: 0, problem: `HTTP ${status}: ${parsed.errors?.map((e) => e.message).join('; ') ?? body.slice(0, 200)}` };
  }
  const asked = (JSON.parse(sent) as { variables: { id: string; name: string } }).variables;
  if (agent?.name !== asked.name || id !== asked.id)
    return { foreignRows: 0, problem: `asked ${JSON.stringify(asked)}, got ${body.slice(0, 200)}` };
  return { foreignRows: 0 };
};
