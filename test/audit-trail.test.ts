import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { can } from '../src/auth/actions.ts';
import { recordDeniedAttempt } from '../src/modules/audit/audit-trail.ts';
import { encodeGlobalId } from '../src/shared/global-id.ts';
import { newId } from '../src/shared/ids.ts';
import { graphql } from './gql/gql.ts';
import { uuidOf } from './support/audit.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentById, AuditLog, CreateAgent, NodeById, SetAuditRetention, UpdateAgent, VerifyAuditLog } from './support/operations.ts';

const NodesByIds = graphql(`
  query NodesByIds($ids: [ID!]!) {
    nodes(ids: $ids) { id }
  }
`);

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.close());

async function log(token: string, filter: Record<string, unknown> = {}) {
  const { auditLog } = expectNoErrors(await gw.execute(AuditLog, { first: 100, filter }, { token }));
  return auditLog.edges.map((edge) => edge.node);
}

/** Every audit event of every tenant, as the superuser sees them. */
async function allEvents() {
  const { rows } = await adminQuery(gw.database.adminUrl, 'select tenant_id::text, action, outcome, target_id from audit_events');
  return rows;
}

describe('denied attempts leave an event in the caller’s tenant', () => {
  test('a scope refusal: a viewer trying to create an agent', async () => {
    const acme = await gw.seed.tenant();
    const viewer = await acme.member('VIEWER');
    const response = await gw.execute(
      CreateAgent,
      { input: { name: 'nope', image: 'fleetgate/agent:1' } },
      { token: viewer.token, headers: { 'x-request-id': 'req-viewer-1' } },
    );
    expect(errorCodes(response)).toEqual(['FORBIDDEN']);
    const denied = await log(acme.ownerToken, { outcome: 'DENIED' });
    expect(denied).toEqual([
      expect.objectContaining({
        action: 'Mutation.createAgent',
        actorType: 'USER',
        actorId: uuidOf(viewer.id),
        outcome: 'DENIED',
        requestId: 'req-viewer-1',
        detail: { code: 'FORBIDDEN' },
      }),
    ]);
  });

  test('a service refusal (only an owner adds an owner) is recorded too', async () => {
    const acme = await gw.seed.tenant();
    const admin = await acme.member('ADMIN');
    const { AddMember } = await import('./support/operations.ts');
    const response = await gw.execute(AddMember, { input: { email: 'boss@x.io', name: 'Boss', role: 'OWNER' } }, { token: admin.token });
    expect(errorCodes(response)).toEqual(['FORBIDDEN']);
    expect(await log(acme.ownerToken, { outcome: 'DENIED' })).toMatchObject([{ action: 'Mutation.addMember', actorId: uuidOf(admin.id) }]);
  });

  test('a cross-tenant probe: A asks for B’s agent; A’s log names the id asked for, B’s log and response stay clean', async () => {
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    const secret = await b.agent('b-secret');
    expect(errorCodes(await gw.execute(UpdateAgent, { input: { id: secret.id, name: 'pwned' } }, { token: a.ownerToken }))).toEqual([
      'NOT_FOUND',
    ]);
    expect(errorCodes(await gw.execute(AgentById, { id: secret.id }, { token: a.ownerToken }))).toEqual(['NOT_FOUND']);
    expect(await log(a.ownerToken, { outcome: 'DENIED' })).toMatchObject([
      { action: 'Mutation.updateAgent', targetType: 'Agent', targetId: uuidOf(secret.id), detail: { code: 'NOT_FOUND' } },
      { action: 'Query.agent', targetType: 'Agent', targetId: uuidOf(secret.id), detail: { code: 'NOT_FOUND' } },
    ]);
    expect(await log(b.ownerToken, { outcome: 'DENIED' })).toEqual([]);
    // The refusal is written after the rollback, in its own transaction, on the same intact chain.
    expect(expectNoErrors(await gw.execute(VerifyAuditLog, {}, { token: a.ownerToken })).verifyAuditLog.intact).toBe(true);
  });

  test('a probe through node(id) and nodes(ids) answers null like a missing object, and A’s log names each id asked for', async () => {
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    const own = await a.agent('a-own');
    const secret = await b.agent('b-secret');
    const missing = encodeGlobalId('Agent', newId());
    expect(expectNoErrors(await gw.execute(NodeById, { id: secret.id }, { token: a.ownerToken })).node).toBeNull();
    const { nodes } = expectNoErrors(await gw.execute(NodesByIds, { ids: [own.id, secret.id, missing] }, { token: a.ownerToken }));
    expect(nodes.map((node) => node?.id ?? null)).toEqual([own.id, null, null]);
    expect(await log(a.ownerToken, { outcome: 'DENIED' })).toMatchObject([
      { action: 'Query.node', targetType: 'Agent', targetId: uuidOf(secret.id), detail: { code: 'NOT_FOUND' } },
      { action: 'Query.nodes', targetType: 'Agent', targetId: uuidOf(secret.id), detail: { code: 'NOT_FOUND' } },
      { action: 'Query.nodes', targetType: 'Agent', targetId: uuidOf(missing), detail: { code: 'NOT_FOUND' } },
    ]);
    expect(await log(b.ownerToken, { outcome: 'DENIED' })).toEqual([]);
    // Seeing one's own object records nothing.
    expect(expectNoErrors(await gw.execute(NodeById, { id: own.id }, { token: a.ownerToken })).node?.id).toBe(own.id);
    expect(await log(a.ownerToken, { outcome: 'DENIED' })).toHaveLength(3);
  });

  test('a failed mutation (conflict) leaves a FAILED event and no change', async () => {
    const acme = await gw.seed.tenant();
    await acme.agent('twin');
    const response = await gw.execute(CreateAgent, { input: { name: 'twin', image: 'fleetgate/agent:1' } }, { token: acme.ownerToken });
    expect(errorCodes(response)).toEqual(['CONFLICT']);
    expect(await log(acme.ownerToken, { outcome: 'FAILED' })).toMatchObject([
      { action: 'Mutation.createAgent', detail: { code: 'CONFLICT' } },
    ]);
    expect(await log(acme.ownerToken, { action: 'agent.create' })).toHaveLength(1);
  });

  test('anonymous and operator refusals have no tenant: logged, never written into some tenant’s chain', async () => {
    const before = await allEvents();
    const anonymous = await gw.execute(CreateAgent, { input: { name: 'anon', image: 'fleetgate/agent:1' } });
    expect(errorCodes(anonymous)).toEqual(['UNAUTHENTICATED']);
    const operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op-1' })).reveal();
    expect(errorCodes(await gw.execute(AuditLog, { first: 1 }, { token: operator }))).toEqual(['FORBIDDEN']);
    expect(await allEvents()).toEqual(before);
    expect(gw.logs()).toMatch(
      /"principal":"anonymous".*"refused":\["Mutation.createAgent UNAUTHENTICATED"\].*access denied \(no tenant to audit\)/,
    );
    expect(gw.logs()).toMatch(/"principal":"operator".*"refused":\["Query.auditLog FORBIDDEN"\]/);
  });

  test('the rate limiter’s entry point records a DENIED event on the chain', async () => {
    const acme = await gw.seed.tenant();
    const principal = { kind: 'user', tenantId: uuidOf(acme.id), userId: uuidOf(acme.ownerId), role: 'OWNER' } as const;
    await recordDeniedAttempt({ orm: gw.orm, log: gw.log }, principal, 'req-rate-1', {
      action: 'rateLimit',
      detail: { limit: 100, window: '1m' },
    });
    expect(await log(acme.ownerToken, { action: 'rateLimit' })).toMatchObject([
      { outcome: 'DENIED', requestId: 'req-rate-1', detail: { limit: 100, window: '1m' } },
    ]);
    expect(expectNoErrors(await gw.execute(VerifyAuditLog, {}, { token: acme.ownerToken })).verifyAuditLog.intact).toBe(true);
  });
});

describe('auditLog', () => {
  test('filters by action, outcome, actor and time, and pages in chain order', async () => {
    const acme = await gw.seed.tenant();
    const member = await acme.member('MEMBER');
    for (const name of ['p1', 'p2', 'p3']) await acme.agent(name);
    await gw.execute(CreateAgent, { input: { name: 'by-member', image: 'fleetgate/agent:1' } }, { token: member.token });
    expect((await log(acme.ownerToken, { action: 'agent.create' })).map((event) => event.detail.name)).toEqual([
      'p1',
      'p2',
      'p3',
      'by-member',
    ]);
    expect(await log(acme.ownerToken, { actorId: uuidOf(member.id) })).toMatchObject([
      { action: 'agent.create', detail: { name: 'by-member' } },
    ]);
    expect(await log(acme.ownerToken, { to: '2000-01-01T00:00:00Z' })).toEqual([]);
    // sign-up, member.add and its sign-in link, four agents
    expect((await log(acme.ownerToken, { from: new Date(Date.now() - 60_000).toISOString() })).length).toBe(7);

    const first = expectNoErrors(await gw.execute(AuditLog, { first: 2 }, { token: acme.ownerToken })).auditLog;
    expect(first.edges.map((edge) => edge.node.seq)).toEqual(['1', '2']);
    expect(first.pageInfo).toMatchObject({ hasNextPage: true, endCursor: '2' });
    const second = expectNoErrors(
      await gw.execute(AuditLog, { first: 2, after: first.pageInfo.endCursor }, { token: acme.ownerToken }),
    ).auditLog;
    expect(second.edges.map((edge) => edge.node.seq)).toEqual(['3', '4']);
    expect(errorCodes(await gw.execute(AuditLog, { first: 2, after: "1'--" }, { token: acme.ownerToken }))).toEqual(['BAD_USER_INPUT']);
  });

  test('filters by target; a period that ends before it starts is refused naming `to` (the console says it in words)', async () => {
    const acme = await gw.seed.tenant();
    const member = await acme.member('VIEWER');
    const byTarget = await log(acme.ownerToken, { targetId: uuidOf(member.id) });
    expect(byTarget.map((event) => event.action)).toEqual(expect.arrayContaining(['member.add']));
    expect(byTarget.every((event) => event.targetId === uuidOf(member.id))).toBe(true);
    const backwards = await gw.execute(
      AuditLog,
      { first: 10, filter: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } },
      { token: acme.ownerToken },
    );
    expect(backwards.errors?.map((error) => [error.extensions?.code, error.extensions?.field, error.message])).toEqual([
      ['BAD_USER_INPUT', 'to', 'Invalid to: must be after from'],
    ]);
    // An empty period (from = to) is the same mistake.
    const empty = { from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' };
    expect(errorCodes(await gw.execute(AuditLog, { first: 10, filter: empty }, { token: acme.ownerToken }))).toEqual(['BAD_USER_INPUT']);
  });

  test.each([
    ['MEMBER', 'FORBIDDEN'],
    ['VIEWER', 'FORBIDDEN'],
  ] as const)('a %s may not read the audit log', async (role, code) => {
    const acme = await gw.seed.tenant();
    const user = await acme.member(role);
    expect(errorCodes(await gw.execute(AuditLog, { first: 5 }, { token: user.token }))).toEqual([code]);
  });

  test('an API key may not read the audit log', async () => {
    const acme = await gw.seed.tenant();
    const key = await acme.apiKey(['AGENTS_READ', 'AGENTS_WRITE']);
    // Refused twice over: the audit queries are not trusted documents, and no key scope grants audit.read.
    expect(errorCodes(await gw.execute(AuditLog, { first: 5 }, { token: key.key }))).toEqual(['PERSISTED_QUERY_ONLY']);
    expect(errorCodes(await gw.execute(VerifyAuditLog, {}, { token: key.key }))).toEqual(['PERSISTED_QUERY_ONLY']);
    const principal = { kind: 'apiKey', tenantId: acme.id, keyId: key.id, scopes: ['AGENTS_READ', 'AGENTS_WRITE'] } as const;
    expect(can(principal, 'audit.read')).toBe(false);
  });
});

describe('retention setting', () => {
  test('owners set it (30–3650 days, audited); admins may not', async () => {
    const acme = await gw.seed.tenant();
    const admin = await acme.member('ADMIN');
    expect(errorCodes(await gw.execute(SetAuditRetention, { days: 90 }, { token: admin.token }))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await gw.execute(SetAuditRetention, { days: 7 }, { token: acme.ownerToken }))).toEqual(['BAD_USER_INPUT']);
    const { setAuditRetention } = expectNoErrors(await gw.execute(SetAuditRetention, { days: 90 }, { token: acme.ownerToken }));
    expect(setAuditRetention.tenant.auditRetentionDays).toBe(90);
    expect(await log(acme.ownerToken, { action: 'audit.retention.set' })).toMatchObject([{ detail: { days: 90, previous: 365 } }]);
  });

  test('the database refuses a retention under 30 days even from the app role', async () => {
    const acme = await gw.seed.tenant();
    const { rows } = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from tenants');
    expect(rows[0]?.n).toBeGreaterThan(0);
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: gw.appUrl });
    await client.connect();
    try {
      await client.query('begin');
      await client.query("select set_config('app.tenant_id', $1, true)", [uuidOf(acme.id)]);
      await expect(client.query('update tenants set audit_retention_days = 1')).rejects.toThrow(/check constraint/);
      await client.query('rollback');
      await client.query('begin');
      await client.query("select set_config('app.tenant_id', $1, true)", [uuidOf(acme.id)]);
      await expect(client.query("update tenants set name = 'renamed'")).rejects.toThrow(/permission denied/);
      await client.query('rollback');
    } finally {
      await client.end();
    }
  });
});

test('a probed id goes to the audit log only, never back to the caller', async () => {
  const acme = await gw.seed.tenant();
  const missing = encodeGlobalId('Agent', newId());
  const response = await gw.execute(AgentById, { id: missing }, { token: acme.ownerToken });
  expect(JSON.stringify(response)).not.toContain(uuidOf(missing));
  expect(await log(acme.ownerToken, { outcome: 'DENIED' })).toMatchObject([{ targetId: uuidOf(missing) }]);
});
