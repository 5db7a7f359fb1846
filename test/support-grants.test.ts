import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { uuidOf } from './support/audit.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import {
  AgentById,
  Agents,
  AuditLog,
  CreateAgent,
  GrantSupportAccess,
  Members,
  RefreshToken,
  RevokeSupportAccess,
  SetAuditRetention,
  VerifyAuditLog,
} from './support/operations.ts';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw?.close());

async function granted(minutes = 60) {
  const acme = await gw.seed.tenant();
  const agent = await acme.agent('visible');
  const { grantSupportAccess } = expectNoErrors(
    await gw.execute(
      GrantSupportAccess,
      { input: { supportPrincipal: 'sam@support.fleetgate.io', reason: 'ticket 42', durationMinutes: minutes } },
      { token: acme.ownerToken },
    ),
  );
  return { acme, agent, grant: grantSupportAccess.grant, token: grantSupportAccess.token };
}

async function ownerLog(token: string, filter: Record<string, unknown>) {
  const { auditLog } = expectNoErrors(await gw.execute(AuditLog, { first: 100, filter }, { token }));
  return auditLog.edges.map((edge) => edge.node);
}

describe('support grants', () => {
  test('an owner grants a named principal time-bound access; the grant is audited', async () => {
    const before = Date.now();
    const { acme, grant } = await granted(30);
    expect(grant.supportPrincipal).toBe('sam@support.fleetgate.io');
    const expiresIn = new Date(grant.expiresAt).getTime() - before;
    expect(expiresIn).toBeGreaterThan(29 * 60_000);
    expect(expiresIn).toBeLessThan(31 * 60_000);
    expect(await ownerLog(acme.ownerToken, { action: 'support.grant' })).toMatchObject([
      { targetId: uuidOf(grant.id), detail: { supportPrincipal: 'sam@support.fleetgate.io', reason: 'ticket 42' } },
    ]);
  });

  test('only owners grant; admins, members and support itself may not', async () => {
    const { acme, token } = await granted();
    const admin = await acme.member('ADMIN');
    const input = { supportPrincipal: 'x@y.z', reason: 'r', durationMinutes: 10 };
    expect(errorCodes(await gw.execute(GrantSupportAccess, { input }, { token: admin.token }))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await gw.execute(GrantSupportAccess, { input }, { token }))).toEqual(['FORBIDDEN']);
    expect(
      errorCodes(await gw.execute(GrantSupportAccess, { input: { ...input, durationMinutes: 60 * 24 * 8 } }, { token: acme.ownerToken })),
    ).toEqual(['BAD_USER_INPUT']);
  });

  test('read-only: support reads the tenant and its audit log, every write and self-extension is refused', async () => {
    const { acme, agent, token } = await granted();
    expect(expectNoErrors(await gw.execute(Agents, { first: 10 }, { token })).agents.edges.map((edge) => edge.node.name)).toEqual([
      'visible',
    ]);
    expectNoErrors(await gw.execute(Members, {}, { token }));
    expect(expectNoErrors(await gw.execute(VerifyAuditLog, {}, { token })).verifyAuditLog.intact).toBe(true);
    expect(errorCodes(await gw.execute(CreateAgent, { input: { name: 'n', image: 'fleetgate/agent:1' } }, { token }))).toEqual([
      'FORBIDDEN',
    ]);
    expect(errorCodes(await gw.execute(SetAuditRetention, { days: 30 }, { token }))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await gw.execute(RefreshToken, {}, { token }))).toEqual(['FORBIDDEN']);
    const { rows } = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from agents where tenant_id = $1', [
      uuidOf(acme.id),
    ]);
    expect(rows).toEqual([{ n: 1 }]);
    expect(agent.name).toBe('visible');
  });

  test('every request under a grant is audited with the grant, allowed or not', async () => {
    const { acme, grant, token } = await granted();
    await gw.execute(Agents, { first: 10 }, { token, headers: { 'x-request-id': 'support-read-1' } });
    await gw.execute(
      CreateAgent,
      { input: { name: 'n', image: 'fleetgate/agent:1' } },
      { token, headers: { 'x-request-id': 'support-write-1' } },
    );
    const events = await ownerLog(acme.ownerToken, { actorType: 'SUPPORT' });
    expect(events).toEqual([
      expect.objectContaining({
        action: 'support.access',
        actorId: 'sam@support.fleetgate.io',
        outcome: 'SUCCESS',
        requestId: 'support-read-1',
        detail: { operation: 'Query', fields: ['agents'], supportGrantId: uuidOf(grant.id) },
      }),
      expect.objectContaining({
        action: 'Mutation.createAgent',
        outcome: 'DENIED',
        requestId: 'support-write-1',
        detail: { code: 'FORBIDDEN', supportGrantId: uuidOf(grant.id) },
      }),
    ]);
  });

  test('support sees only the granting tenant', async () => {
    const { token } = await granted();
    const other = await gw.seed.tenant();
    const foreign = await other.agent('foreign');
    expect(errorCodes(await gw.execute(AgentById, { id: foreign.id }, { token }))).toEqual(['NOT_FOUND']);
  });

  test('revocation ends the token at once', async () => {
    const { acme, grant, token } = await granted();
    expectNoErrors(await gw.execute(Agents, { first: 1 }, { token }));
    expectNoErrors(await gw.execute(RevokeSupportAccess, { id: grant.id }, { token: acme.ownerToken }));
    const refused = await gw.execute(Agents, { first: 1 }, { token });
    expect(refused.status).toBe(401);
    expect(errorCodes(refused)).toEqual(['UNAUTHENTICATED']);
    expect(await ownerLog(acme.ownerToken, { action: 'support.revoke' })).toHaveLength(1);
  });

  test('a grant expires by itself: past its expiry in the database, even a token whose exp is later is refused', async () => {
    const { grant, token } = await granted();
    await adminQuery(
      gw.database.adminUrl,
      "update support_grants set created_at = now() - interval '2 hours', expires_at = now() - interval '1 second' where id = $1",
      [uuidOf(grant.id)],
    );
    expect(errorCodes(await gw.execute(Agents, { first: 1 }, { token }))).toEqual(['UNAUTHENTICATED']);
  });

  test('a grant expires by itself: a token past its exp is refused while the grant row is still live', async () => {
    const { acme, grant } = await granted();
    const expired = await gw.tokens.issue(
      { kind: 'support', tenantId: uuidOf(acme.id), grantId: uuidOf(grant.id), supportPrincipal: 'sam@support.fleetgate.io' },
      new Date(Date.now() - 1000),
    );
    expect(errorCodes(await gw.execute(Agents, { first: 1 }, { token: expired.reveal() }))).toEqual(['UNAUTHENTICATED']);
  });

  test('a support token naming another principal than its grant is refused', async () => {
    const { acme, grant } = await granted();
    const renamed = await gw.tokens.issue(
      { kind: 'support', tenantId: uuidOf(acme.id), grantId: uuidOf(grant.id), supportPrincipal: 'mallory@evil.io' },
      new Date(Date.now() + 60_000),
    );
    expect(errorCodes(await gw.execute(Agents, { first: 1 }, { token: renamed.reveal() }))).toEqual(['UNAUTHENTICATED']);
  });

  test('the shown-once token never reaches the logs or the audit log', async () => {
    const { acme, token } = await granted();
    await gw.execute(Agents, { first: 1 }, { token });
    expect(gw.logs()).not.toContain(token);
    expect(gw.logs()).not.toContain(token.slice(-24));
    const { rows } = await adminQuery(gw.database.adminUrl, 'select detail::text from audit_events where tenant_id = $1', [
      uuidOf(acme.id),
    ]);
    expect(JSON.stringify(rows)).not.toContain(token.slice(-24));
  });
});
