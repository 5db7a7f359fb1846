import { afterAll, beforeAll, expect, test } from 'vitest';
import { enterAgentRequest, forkForTenant } from '../src/db/request-scope.ts';
import { revokeAgentTokens } from '../src/modules/memory/agent-tokens.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { GetMemory, ListMemory, PutMemory, RenewAgentToken } from './memory-operations.ts';
import { agentWithToken, b64 } from './memory-support.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';

/**
 * An agent's request opens with one statement (enter_agent_request, migrations/functions/agents.sql) that sets
 * its RLS settings and checks its token's liveness, in the request's own transaction.
 */
let gw: Gateway;
let operatorToken: string;
beforeAll(async () => {
  // One connection: every request below reuses the same session, standard and enterprise alike.
  gw = await startGateway({ poolSize: 1 });
  operatorToken = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
});
afterAll(() => gw?.close());

test('a revoked token’s write is refused with 401 and writes nothing, not even an audit event', async () => {
  const acme = await gw.seed.tenant();
  const agent = await agentWithToken(gw, acme);
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'kept', value: '"before"' } }, { token: agent.token }));
  await revokeAgentTokens(forkForTenant(gw.orm, agent.tenantId), agent.id);
  const auditBefore = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from audit_events where tenant_id = $1', [
    agent.tenantId,
  ]);
  for (const attempt of [
    gw.execute(PutMemory, { input: { key: 'kept', value: '"after"' } }, { token: agent.token }),
    gw.execute(PutMemory, { input: { key: 'new', value: '1' } }, { token: agent.token }),
    gw.execute(GetMemory, { key: 'kept' }, { token: agent.token }),
    gw.execute(RenewAgentToken, {}, { token: agent.token }),
  ]) {
    const refused = await attempt;
    expect(refused.status).toBe(401);
    expect(errorCodes(refused)).toEqual(['UNAUTHENTICATED']);
    expect(refused.data ?? null).toBeNull();
  }
  const rows = await adminQuery(gw.database.adminUrl, 'select key, size_bytes from agent_memory where agent_id = $1 order by key', [
    agent.id,
  ]);
  expect(rows.rows).toEqual([{ key: 'kept', size_bytes: 8 }]);
  const auditAfter = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from audit_events where tenant_id = $1', [
    agent.tenantId,
  ]);
  expect(auditAfter.rows[0]?.n).toBe(auditBefore.rows[0]?.n);
});

test('an enterprise agent’s memory lives in its tenant schema, on the same connection as a standard agent’s; revoking works there too', async () => {
  const bank = await gw.seed.tenant(undefined, { enterpriseBy: operatorToken });
  const shop = await gw.seed.tenant();
  const banker = await agentWithToken(gw, bank);
  const shopper = await agentWithToken(gw, shop);
  // Interleaved on one pooled session (pg-pool hands out its most recently released connection): a plan
  // cached under one tenant's search_path (the agent memory statements of migrations/functions/memory.sql are static SQL) is never
  // reused for the other. Through GraphQL and through the agent channel, which run the same statements.
  for (let round = 0; round < 3; round++) {
    for (const agent of [banker, shopper]) {
      expectNoErrors(await gw.execute(PutMemory, { input: { key: `k${round}`, value: `"${agent.id}"` } }, { token: agent.token }));
      const got = expectNoErrors(await gw.execute(GetMemory, { key: `k${round}` }, { token: agent.token })).memoryEntry;
      expect(got?.value).toBe(`"${agent.id}"`);
      const self = { tenantId: agent.tenantId, agentId: agent.id };
      const channel = gw.fleetgate.memoryChannel;
      expect(await channel.handle(self, 'MEMPUT', [agent.token, b64(`c${round}`), b64(`"${agent.id}"`)])).toBe('OK');
      expect(await channel.handle(self, 'MEMGET', [agent.token, b64(`c${round}`)])).toBe(`VALUE ${b64(`"${agent.id}"`)}`);
    }
  }
  const schema = `tenant_${banker.tenantId.replace(/-/g, '')}`;
  const inSchema = await adminQuery(gw.database.adminUrl, `select count(*)::int as n from ${schema}.agent_memory where agent_id = $1`, [
    banker.id,
  ]);
  expect(inSchema.rows[0]?.n).toBe(6);
  const inShared = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from public.agent_memory where agent_id = $1', [
    banker.id,
  ]);
  expect(inShared.rows[0]?.n).toBe(0);
  await revokeAgentTokens(forkForTenant(gw.orm, banker.tenantId), banker.id);
  for (const agent of [banker, shopper]) {
    const answer = await gw.execute(GetMemory, { key: 'k0' }, { token: agent.token });
    expect(errorCodes(answer)).toEqual(agent === banker ? ['UNAUTHENTICATED'] : []);
  }
});

test('a token of one tenant’s agent claiming another tenant is not live there', async () => {
  const acme = await gw.seed.tenant();
  const other = await gw.seed.tenant();
  const agent = await agentWithToken(gw, acme);
  // Signed by the gateway (as if its key had minted it) but naming the wrong tenant: the agent is not found under it.
  const crossed = (
    await gw.tokens.issue({ kind: 'agent', tenantId: decodeGlobalId(other.id).id, agentId: agent.id, generation: 1 }, '5m')
  ).reveal();
  const answer = await gw.execute(GetMemory, { key: 'x' }, { token: crossed });
  expect(answer.status).toBe(401);
  expect(errorCodes(answer)).toEqual(['UNAUTHENTICATED']);
});

test('the entry statement sets the agent wall itself: RLS alone keeps a sibling’s rows out of an agent’s request', async () => {
  const acme = await gw.seed.tenant();
  const a = await agentWithToken(gw, acme);
  const b = await agentWithToken(gw, acme);
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'mine', value: '1' } }, { token: a.token }));
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'theirs', value: '2' } }, { token: b.token }));
  const tenantId = decodeGlobalId(acme.id).id;
  // The request's fork carries no session variables for an agent; only enterAgentRequest sets them.
  const principal = { kind: 'agent', tenantId, agentId: a.id, generation: 1 } as const;
  const seen = await gw.orm.em.fork().transactional(async (tx) => {
    const before = await tx.execute<{ agent_id: string }[]>('select agent_id from agent_memory');
    const live = await enterAgentRequest(tx, principal);
    const after = await tx.execute<{ agent_id: string }[]>('select agent_id from agent_memory');
    const settings = await tx.execute<{ tenant: string; agent: string }[]>(
      "select current_setting('app.tenant_id') as tenant, current_setting('app.agent_id') as agent",
    );
    return { before, live, after, settings };
  });
  expect(seen.before).toEqual([]); // no settings yet: RLS matches nothing
  expect(seen.live).toBe(true);
  expect(seen.after).toEqual([{ agent_id: a.id }]);
  expect(seen.settings).toEqual([{ tenant: tenantId, agent: a.id }]);
  // Through the gateway: A lists only its own entry.
  const list = expectNoErrors(await gw.execute(ListMemory, { first: 10 }, { token: a.token })).memoryEntries.edges;
  expect(list.map((edge) => edge.node.key)).toEqual(['mine']);
  // A stale generation is refused by the same statement.
  const stale = await gw.orm.em.fork().transactional((tx) => enterAgentRequest(tx, { ...principal, generation: 0 }));
  expect(stale).toBe(false);
});

test('the lean put/get keep keys, tags, values and expiry exactly, quotes and backslashes included', async () => {
  const acme = await gw.seed.tenant();
  const agent = await agentWithToken(gw, acme);
  const key = `it's a "key" \\ with ? and $1`;
  const tags = ['a\\b', "it's", 'x"y', 'NULL', ' padded ', '{brace}', 'comma,tag', 'ünï'];
  const value = JSON.stringify({ text: `back\\slash 'quote' "dq" ?`, n: 1.5 });
  const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
  const put = expectNoErrors(await gw.execute(PutMemory, { input: { key, value, tags, expiresAt } }, { token: agent.token })).putMemory
    .entry;
  const got = expectNoErrors(await gw.execute(GetMemory, { key }, { token: agent.token })).memoryEntry;
  for (const entry of [put, got]) {
    expect(entry).toEqual({ key, value, tags, expiresAt });
  }
  const stored = await adminQuery(gw.database.adminUrl, 'select key, tags from agent_memory where agent_id = $1', [agent.id]);
  expect(stored.rows).toEqual([{ key, tags }]);
});
