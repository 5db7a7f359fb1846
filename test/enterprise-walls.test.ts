import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ADMIN_URL } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentById, Agents, UpdateAgent } from './support/operations.ts';

/**
 * For enterprise tenants the schema is a wall of its own. With scopes off, RLS bypassed (the ORM
 * connects as a superuser) and the ORM tenant filter removed, nothing but the transaction-local
 * search_path stands between tenants, and it still holds: B's rows are not in A's schema.
 */
describe('the tenant schema holds without walls 1 (scopes), 2 (ORM filter) and 3 (RLS)', () => {
  let gw: Gateway;
  let tokenA: string;
  let tokenS: string;
  let agentB: string;

  beforeAll(async () => {
    gw = await startGateway({ disableScopeAuth: true, ormUrl: ADMIN_URL });
    for (const meta of gw.orm.getMetadata().getAll().values()) meta.filters = {};
    const operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
    const a = await gw.seed.tenant('ent-a', { enterpriseBy: operator });
    const b = await gw.seed.tenant('ent-b', { enterpriseBy: operator });
    const s = await gw.seed.tenant('std-s');
    await a.agent('a-agent');
    await s.agent('s-agent');
    await (await gw.seed.tenant('std-t')).agent('t-agent');
    agentB = (await b.agent('b-secret-agent')).id;
    tokenA = a.ownerToken;
    tokenS = s.ownerToken;
  });
  afterAll(() => gw?.close());

  test('the lower walls really are out of the way: a standard tenant’s list shows every standard tenant’s agents', async () => {
    const { agents } = expectNoErrors(await gw.execute(Agents, { first: 100 }, { token: tokenS }));
    expect(agents.edges.map((edge) => edge.node.name).sort()).toEqual(['s-agent', 't-agent']);
    // …and still nothing of the enterprise tenants, whose rows are in no shared table.
    expect(JSON.stringify(agents)).not.toContain('b-secret-agent');
    expect(JSON.stringify(agents)).not.toContain('a-agent');
  });

  test('enterprise A lists only its own agents and cannot reach B’s by id', async () => {
    const { agents } = expectNoErrors(await gw.execute(Agents, { first: 100 }, { token: tokenA }));
    expect(agents.edges.map((edge) => edge.node.name)).toEqual(['a-agent']);
    expect(errorCodes(await gw.execute(AgentById, { id: agentB }, { token: tokenA }))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await gw.execute(UpdateAgent, { input: { id: agentB, name: 'pwned' } }, { token: tokenA }))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await gw.execute(AgentById, { id: agentB }, { token: tokenS }))).toEqual(['NOT_FOUND']);
  });
});
