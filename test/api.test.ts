import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import {
  AgentById,
  Agents,
  ApiKeys,
  AuditEvents,
  CreateAgent,
  CreateAgentRecord,
  CreateApiKey,
  DeleteAgent,
  ListAgents,
  Me,
  Members,
  OwnTenant,
  PlatformTenants,
  RefreshToken,
  RevokeApiKey,
  SignUp,
  UpdateAgent,
} from './support/operations.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.close());

describe('onboarding', () => {
  test('signUp creates a STANDARD tenant, its owner and a working token', async () => {
    const { signUp } = expectNoErrors(
      await gw.execute(SignUp, { input: { tenantName: 'Acme', owner: { email: 'Ann@Acme.io', name: 'Ann' } } }),
    );
    expect(signUp.tenant).toMatchObject({ name: 'Acme', plan: 'STANDARD', status: 'ACTIVE' });
    expect(signUp.owner).toMatchObject({ email: 'ann@acme.io', role: 'OWNER' });

    const me = expectNoErrors(await gw.execute(Me, {}, { token: signUp.token }));
    expect(me.me.id).toBe(signUp.owner.id);
    const { tenant } = expectNoErrors(await gw.execute(OwnTenant, {}, { token: signUp.token }));
    expect(tenant).toMatchObject({ id: signUp.tenant.id, memberCount: 1, agentCount: 0 });
  });

  test('a signUp with invalid input creates nothing', async () => {
    const before = expectNoErrors(await gw.execute(PlatformTenants, { first: 100 }, { token: await operatorToken() }));
    const response = await gw.execute(SignUp, { input: { tenantName: '', owner: { email: 'not-an-email', name: 'X' } } });
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    const after = expectNoErrors(await gw.execute(PlatformTenants, { first: 100 }, { token: await operatorToken() }));
    expect(after.platformTenants.edges.length).toBe(before.platformTenants.edges.length);
  });

  test('refreshToken issues a new token with the role from the database', async () => {
    const acme = await gw.seed.tenant();
    const viewer = await acme.member('VIEWER');
    const { refreshToken } = expectNoErrors(await gw.execute(RefreshToken, {}, { token: viewer.token }));
    expect(refreshToken.member).toMatchObject({ id: viewer.id, role: 'VIEWER' });
    expectNoErrors(await gw.execute(Me, {}, { token: refreshToken.token }));
  });
});

describe('agents', () => {
  test('create, read, update, delete, each with its audit event in the same transaction', async () => {
    const acme = await gw.seed.tenant();
    const token = acme.ownerToken;
    const { createAgent } = expectNoErrors(
      await gw.execute(CreateAgent, { input: { name: 'scout', image: 'fleetgate/agent:1', config: { model: 'small' } } }, { token }),
    );
    expect(createAgent.agent).toMatchObject({ name: 'scout', description: '', status: 'PROVISIONING', config: { model: 'small' } });

    const { updateAgent } = expectNoErrors(
      await gw.execute(UpdateAgent, { input: { id: createAgent.agent.id, description: 'finds things' } }, { token }),
    );
    expect(updateAgent.agent).toMatchObject({ name: 'scout', description: 'finds things', config: { model: 'small' } });

    const read = expectNoErrors(await gw.execute(AgentById, { id: createAgent.agent.id }, { token }));
    expect(read.agent.name).toBe('scout');

    const { deleteAgent } = expectNoErrors(await gw.execute(DeleteAgent, { id: createAgent.agent.id }, { token }));
    expect(deleteAgent.deletedAgentId).toBe(createAgent.agent.id);
    expect(errorCodes(await gw.execute(AgentById, { id: createAgent.agent.id }, { token }))).toEqual(['NOT_FOUND']);

    const { auditEvents } = expectNoErrors(await gw.execute(AuditEvents, {}, { token }));
    const changes = auditEvents.edges.filter((edge) => edge.node.outcome === 'SUCCESS');
    expect(changes.map((edge) => edge.node.action)).toEqual(['tenant.signUp', 'agent.create', 'agent.update', 'agent.delete']);
    expect(changes.every((edge) => edge.node.actorType === 'USER')).toBe(true);
    // Reading the deleted agent was refused, and that refusal is on record too.
    const denied = auditEvents.edges.filter((edge) => edge.node.outcome === 'DENIED').map((edge) => edge.node);
    expect(denied).toMatchObject([{ action: 'Query.agent', targetType: 'Agent', detail: { code: 'NOT_FOUND' } }]);
  });

  test('a duplicate name is a CONFLICT and rolls back the mutation with its audit event', async () => {
    const acme = await gw.seed.tenant();
    await acme.agent('twin');
    const response = await gw.execute(CreateAgent, { input: { name: 'twin', image: 'fleetgate/agent:1' } }, { token: acme.ownerToken });
    expect(errorCodes(response)).toEqual(['CONFLICT']);
    const { auditEvents } = expectNoErrors(await gw.execute(AuditEvents, {}, { token: acme.ownerToken }));
    expect(auditEvents.edges.filter((edge) => edge.node.action === 'agent.create')).toHaveLength(1);
  });

  test('the same agent name in two tenants is fine: uniqueness is per tenant', async () => {
    await (await gw.seed.tenant()).agent('shared-name');
    await expect((await gw.seed.tenant()).agent('shared-name')).resolves.toMatchObject({ name: 'shared-name' });
  });

  test('agents page forwards and backwards with Relay cursors', async () => {
    const acme = await gw.seed.tenant();
    for (const name of ['a1', 'a2', 'a3', 'a4', 'a5']) await acme.agent(name);
    const token = acme.ownerToken;
    const first = expectNoErrors(await gw.execute(Agents, { first: 2 }, { token })).agents;
    expect(first.edges.map((edge) => edge.node.name)).toEqual(['a1', 'a2']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = expectNoErrors(await gw.execute(Agents, { first: 2, after: first.pageInfo.endCursor }, { token })).agents;
    expect(second.edges.map((edge) => edge.node.name)).toEqual(['a3', 'a4']);
    const last = expectNoErrors(await gw.execute(Agents, { last: 2, before: second.pageInfo.endCursor }, { token })).agents;
    expect(last.edges.map((edge) => edge.node.name)).toEqual(['a2', 'a3']);
  });
});

describe('members and API keys', () => {
  test('owners add members; only an owner may add another owner', async () => {
    const acme = await gw.seed.tenant();
    const admin = await acme.member('ADMIN');
    const { members } = expectNoErrors(await gw.execute(Members, {}, { token: admin.token }));
    expect(members.edges.map((edge) => edge.node.role).sort()).toEqual(['ADMIN', 'OWNER']);
    const { AddMember } = await import('./support/operations.ts');
    const response = await gw.execute(AddMember, { input: { email: 'boss@x.io', name: 'Boss', role: 'OWNER' } }, { token: admin.token });
    expect(errorCodes(response)).toEqual(['FORBIDDEN']);
  });

  test('an API key is shown once, stored hashed, works until revoked', async () => {
    const acme = await gw.seed.tenant();
    await acme.agent('visible');
    const { createApiKey } = expectNoErrors(
      await gw.execute(CreateApiKey, { input: { name: 'ci', scopes: ['AGENTS_READ'] } }, { token: acme.ownerToken }),
    );
    expect(createApiKey.key).toMatch(/^fgk_/);
    const stored = await gw.orm.em.fork().getConnection().execute('select count(*)::int as n from api_keys', [], 'get');
    expect(stored).toEqual({ n: 0 }); // the app role sees nothing without a tenant context

    const listed = expectNoErrors(await gw.execute(ListAgents, { first: 5 }, { token: createApiKey.key }));
    expect(listed.agents.edges.map((edge) => edge.node.name)).toEqual(['visible']);
    // A read-only key cannot write.
    const write = await gw.execute(CreateAgentRecord, { input: { name: 'nope', image: 'fleetgate/agent:1' } }, { token: createApiKey.key });
    expect(errorCodes(write)).toEqual(['FORBIDDEN']);
    // Key metadata never includes the key.
    const { apiKeys } = expectNoErrors(await gw.execute(ApiKeys, {}, { token: acme.ownerToken }));
    expect(JSON.stringify(apiKeys)).not.toContain(createApiKey.key);

    expectNoErrors(await gw.execute(RevokeApiKey, { id: createApiKey.apiKey.id }, { token: acme.ownerToken }));
    expect(errorCodes(await gw.execute(ListAgents, { first: 5 }, { token: createApiKey.key }))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('operators', () => {
  test('operators list tenant metadata and nothing inside a tenant', async () => {
    const acme = await gw.seed.tenant('Operator-visible');
    await acme.agent();
    const token = await operatorToken();
    const { platformTenants } = expectNoErrors(await gw.execute(PlatformTenants, { first: 100 }, { token }));
    const row = platformTenants.edges.find((edge) => edge.node.id === acme.id)?.node;
    expect(row).toMatchObject({ name: 'Operator-visible', plan: 'STANDARD', memberCount: 1, agentCount: 1 });

    for (const document of [Agents, Members, ApiKeys, AuditEvents, OwnTenant]) {
      const response = await gw.execute(document, {}, { token });
      expect(errorCodes(response)).toEqual(['FORBIDDEN']);
    }
  });

  test('tenant principals cannot list tenants', async () => {
    const acme = await gw.seed.tenant();
    expect(errorCodes(await gw.execute(PlatformTenants, { first: 5 }, { token: acme.ownerToken }))).toEqual(['FORBIDDEN']);
  });
});

function operatorToken() {
  return gw.tokens.issue({ kind: 'operator', operatorId: 'op-test' }).then((token) => token.reveal());
}
