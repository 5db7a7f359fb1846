/**
 * The write `npm run bench` compares: rename one of the caller's agents. Fleetgate's `updateAgent`
 * (its audit event appended to the tenant's hash chain in the same transaction) against yoga-pg's
 * hand-written `updateAgent` (bench/yoga-pg-server.ts, no audit: the gateway CPU goal's peer) and
 * PostGraphile's generated `updateAgentByRowIdAndTenantId` on the same table under the same RLS
 * policy, twice: as it comes (no audit: PostGraphile has none to write; the goal) and as a
 * PostGraphile user who needs the same audit log would run it (`postgraphile-audit`: the trigger
 * below writes the same event into the same chain). Every answer is checked: the renamed agent is
 * the one asked for, belongs to the caller's tenant and carries the new name.
 */
import { openKeyring } from '../src/auth/keyring.ts';
import { sqlOfClient, verifyTenantChain } from '../src/modules/audit/audit.store.ts';
import { encodeGlobalId } from '../src/shared/global-id.ts';
import { type AnswerCheck, agentIdOf, type RequestBody } from './load.ts';
import { adminQuery, type Fixtures, type TenantFixture, withClient } from './seed.ts';

/** The setting `postgraphile-server.ts --audit` maps the verified JWT's subject to; its trigger's switch. */
export const PEER_AUDIT_ACTOR = 'bench.audit_actor';

/**
 * Installs, on the bench database, the audit a PostGraphile user would add to get Fleetgate's log:
 * an AFTER UPDATE trigger on `agents` that inserts the rename's event into `audit_events`, where
 * Fleetgate's chain trigger appends it to the tenant's hash chain exactly as it appends Fleetgate's
 * own (same tier guard, foreign key, indexes and checks). It runs as the app role under the same
 * RLS. Only a transaction that set PEER_AUDIT_ACTOR fires it (the `WHEN` clause, evaluated without
 * entering the function): Fleetgate's own updates skip it, and PostGraphile without `--audit` too.
 */
export async function installPeerAudit(adminUrl: string): Promise<void> {
  await adminQuery(
    adminUrl,
    `CREATE FUNCTION bench_peer_audit() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
     BEGIN
       INSERT INTO public.audit_events (id, tenant_id, actor_type, actor_id, action, target_type, target_id, outcome, detail)
       VALUES (gen_random_uuid(), NEW.tenant_id, 'USER', current_setting('${PEER_AUDIT_ACTOR}'), 'agent.update', 'Agent',
               NEW.id::text, 'SUCCESS', jsonb_build_object('fields', jsonb_build_array('name')));
       RETURN NULL;
     END $$;
     CREATE TRIGGER bench_peer_audit AFTER UPDATE ON agents FOR EACH ROW
       WHEN (coalesce(current_setting('${PEER_AUDIT_ACTOR}', true), '') <> '') EXECUTE FUNCTION bench_peer_audit();`,
  );
}

export const FLEETGATE_UPDATE =
  'mutation BenchRenameAgent($id: ID!, $name: String!) { updateAgent(input: { id: $id, name: $name }) { agent { id name } } }';
/** The agents table's primary key is `(id, tenant_id)` (Citus-ready), so PostGraphile's mutation by key names both. */
const POSTGRAPHILE_UPDATE =
  'mutation ($id: UUID!, $tenantId: UUID!, $name: String!) { updateAgentByRowIdAndTenantId(input: { rowId: $id, tenantId: $tenantId, agentPatch: { name: $name } }) { agent { id: rowId name } } }';

/**
 * After the rounds: the audited peer did write its events (at least one per answer it was counted
 * for; the rounds' warm-ups wrote more), and the chains of the first `sample` tenants, which both
 * Fleetgate and the peer appended to, still verify from genesis. Throws otherwise; returns how many
 * events the peer wrote and how many chains were verified.
 */
export async function checkPeerAudit(
  adminUrl: string,
  keyringDir: string,
  fixtures: Fixtures,
  answered: number,
  sample = 20,
): Promise<{ written: number; verified: number }> {
  const { auditKey } = await openKeyring(keyringDir);
  return withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ n: number }>(
      `select count(*)::int as n from audit_events where action = 'agent.update' and request_id is null`,
    );
    const written = rows[0]?.n ?? 0;
    if (written < answered) throw new Error(`postgraphile-audit answered ${answered} renames but wrote ${written} audit events`);
    const sql = sqlOfClient(client);
    const tenants = fixtures.tenants.slice(0, sample);
    for (const { tenantId } of tenants) {
      const result = await verifyTenantChain(sql, tenantId, auditKey.publicKey);
      if (!result.intact) throw new Error(`tenant ${tenantId}'s audit chain does not verify after the write rounds`);
    }
    return { written, verified: tenants.length };
  });
}

/** Names are unique per tenant: every rename in the run gets a name no other has had. */
let renames = 0;

/**
 * Request bodies renaming a random agent of the tenant sent as: Fleetgate's by trusted document
 * (`documentId`, or the raw query when it is null), yoga-pg's (the same operation) and PostGraphile's raw.
 */
export function renameBodies(
  fixtures: Fixtures,
  fleetgateDocumentId: string | null,
): { fleetgate: RequestBody; yogaPg: RequestBody; postgraphile: RequestBody } {
  const agentsOf = new Map<string, string[]>();
  for (const [agent, tenant] of fixtures.agentOwner) agentsOf.set(tenant, [...(agentsOf.get(tenant) ?? []), agent]);
  const target = (tenant: TenantFixture) => {
    const agents = agentsOf.get(tenant.tenantId) ?? [];
    renames += 1;
    return { id: agents[Math.floor(Math.random() * agents.length)] ?? '', name: `renamed-${renames}` };
  };
  const variables = (tenant: TenantFixture) => {
    const { id, name } = target(tenant);
    return { id: encodeGlobalId('Agent', id), name };
  };
  return {
    fleetgate: (tenant) =>
      JSON.stringify(
        fleetgateDocumentId
          ? { documentId: fleetgateDocumentId, variables: variables(tenant) }
          : { query: FLEETGATE_UPDATE, variables: variables(tenant) },
      ),
    yogaPg: (tenant) => JSON.stringify({ query: FLEETGATE_UPDATE, variables: variables(tenant) }),
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
