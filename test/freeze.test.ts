import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openKeyring } from '../src/auth/keyring.ts';
import { TokenIssuer } from '../src/auth/tokens.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AuditEvents, ListAgents, Me, OwnTenant } from './support/operations.ts';
import { type Replicas, startReplicas } from './support/replicas.ts';
import { millisUntil } from './support/wait.ts';

const FREEZE = 'mutation ($id: ID!, $reason: String!) { freezeTenant(id: $id, reason: $reason) { status frozenReason } }';
const UNFREEZE = 'mutation ($id: ID!) { unfreezeTenant(id: $id) { status } }';
const ADD_MEMBER = 'mutation ($input: AddMemberInput!) { addMember(input: $input) { member { id } signInToken } }';
const REDEEM = 'mutation ($token: String!) { redeemSignInLink(token: $token) { accessToken session { id } } }';

async function graphql(url: string, token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] } };
}

describe('freeze on one gateway', () => {
  let gw: Gateway;
  let operator: string;
  beforeAll(async () => {
    gw = await startGateway();
    operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
  });
  afterAll(() => gw?.close());
  const run = (token: string, query: string, variables: Record<string, unknown> = {}) => gwFetch(gw, token, query, variables);

  test('a frozen tenant is refused everything, tokens and keys alike; unfreezing restores it', async () => {
    const acme = await gw.seed.tenant();
    const { key } = await acme.apiKey();
    const other = await gw.seed.tenant();

    const frozen = await run(operator, FREEZE, { id: acme.id, reason: 'unpaid invoice' });
    expect(frozen.body).toEqual({ data: { freezeTenant: { status: 'FROZEN', frozenReason: 'unpaid invoice' } } });

    // The change reaches this replica through the same feed as every other, within a second.
    await millisUntil(async () => errorCodes(await gw.execute(Me, {}, { token: acme.ownerToken }))[0] === 'TENANT_FROZEN', 1_000);
    for (const response of [
      await gw.execute(Me, {}, { token: acme.ownerToken }),
      await gw.execute(ListAgents, { first: 1 }, { token: key }),
    ]) {
      expect(response.status).toBe(403);
      // The operator's reason reaches the tenant's own credentials (the console shows it).
      expect(response.errors).toEqual([
        { message: 'This tenant is frozen', extensions: { code: 'TENANT_FROZEN', reason: 'unpaid invoice' } },
      ]);
    }
    expectNoErrors(await gw.execute(Me, {}, { token: other.ownerToken })); // others unaffected

    await run(operator, UNFREEZE, { id: acme.id });
    await millisUntil(async () => !(await gw.execute(OwnTenant, {}, { token: acme.ownerToken })).errors, 1_000);
    const { auditEvents } = expectNoErrors(await gw.execute(AuditEvents, {}, { token: acme.ownerToken }));
    const lifecycle = auditEvents.edges.map((edge) => edge.node).filter((event) => event.action.startsWith('tenant.'));
    expect(lifecycle.map((event) => [event.action, event.actorType, event.detail])).toEqual([
      ['tenant.signUp', 'USER', { plan: 'STANDARD' }],
      ['tenant.freeze', 'OPERATOR', { reason: 'unpaid invoice', agentsToConverge: 0 }],
      ['tenant.unfreeze', 'OPERATOR', { agentsToConverge: 0 }],
    ]);
  });

  test('only operators freeze, and a tenant cannot unfreeze itself even in SQL', async () => {
    const acme = await gw.seed.tenant();
    expect((await run(acme.ownerToken, FREEZE, { id: acme.id, reason: 'x' })).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await run(operator, FREEZE, { id: acme.id, reason: 'investigation' });
    const tenantId = Buffer.from(acme.id, 'base64').toString().split(':')[1];
    const client = new pg.Client({ connectionString: gw.appUrl });
    await client.connect();
    try {
      await client.query('begin');
      await client.query("select set_config('app.tenant_id', $1, true)", [tenantId]);
      const update = client.query("update tenants set status = 'ACTIVE' where id = $1", [tenantId]);
      await expect(update).rejects.toMatchObject({ code: '42501' }); // only operators change lifecycle columns
      await client.query('rollback');
    } finally {
      await client.end();
    }
    await millisUntil(async () => errorCodes(await gw.execute(Me, {}, { token: acme.ownerToken }))[0] === 'TENANT_FROZEN', 1_000);
    expect(errorCodes(await gw.execute(Me, {}, { token: acme.ownerToken }))).toEqual(['TENANT_FROZEN']);
  });

  test('the replica that froze or unfroze a tenant enforces it from the moment the mutation returns (regression: reads still answered 200 in some rounds)', async () => {
    const acme = await gw.seed.tenant();
    /** Reads in a tight loop while `change` runs: the code each read got, and whether it was sent after `change` returned. */
    const readsAround = async (change: () => Promise<unknown>) => {
      const reads: { after: boolean; code: string | undefined; status: number }[] = [];
      let returned = false;
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const after = returned;
          const response = await gw.execute(Me, {}, { token: acme.ownerToken });
          reads.push({ after, code: errorCodes(response)[0], status: response.status });
          // A refused read touches no socket and may complete in microtasks alone: let I/O and timers run between reads.
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      await change();
      returned = true;
      for (let i = 0; i < 5; i++) {
        const response = await gw.execute(Me, {}, { token: acme.ownerToken }); // and one issued at the very moment it returns
        reads.push({ after: true, code: errorCodes(response)[0], status: response.status });
      }
      stop = true;
      await loop;
      return reads.filter((read) => read.after);
    };
    for (let round = 0; round < 10; round++) {
      const whileFrozen = await readsAround(() => gw.operator.freeze(acme.id, `round ${round}`));
      expect(whileFrozen.length).toBeGreaterThanOrEqual(5);
      expect(
        whileFrozen.filter((read) => read.code !== 'TENANT_FROZEN'),
        `round ${round}`,
      ).toEqual([]);
      const whileActive = await readsAround(() => gw.operator.unfreeze(acme.id));
      expect(
        whileActive.filter((read) => read.code !== undefined || read.status !== 200),
        `round ${round}`,
      ).toEqual([]);
    }
  });

  test('freezing a missing tenant is NOT_FOUND', async () => {
    const missing = Buffer.from('Tenant:00000000-0000-4000-8000-000000000000').toString('base64');
    expect((await run(operator, FREEZE, { id: missing, reason: 'x' })).body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  test('when the freeze feed is lost, tenant requests are refused until it is back', async () => {
    const acme = await gw.seed.tenant();
    await adminQuery(
      gw.database.adminUrl,
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'fleetgate-change-feed' and datname = current_database()",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await gw.execute(Me, {}, { token: acme.ownerToken });
    expect(refused.status).toBe(503);
    expect(errorCodes(refused)).toEqual(['SERVICE_UNAVAILABLE']);
    expect((await gw.yoga.fetch('http://gateway.test/health')).status).toBe(503);
    // It reconnects by itself and serves again.
    await millisUntil(async () => !(await gw.execute(Me, {}, { token: acme.ownerToken })).errors, 5_000);
    expect((await gw.yoga.fetch('http://gateway.test/health')).status).toBe(200);
  });
});

async function gwFetch(gw: Gateway, token: string, query: string, variables: Record<string, unknown>) {
  const response = await gw.yoga.fetch('http://gateway.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] } };
}

describe('freeze across two gateway processes on one database', () => {
  let replicas: Replicas | undefined;
  afterAll(async () => {
    await replicas?.stop();
  });

  test('a freeze, and a member’s removal, demotion, suspension or ended session, through replica 1 is enforced by replica 2 within one second', async () => {
    replicas = await startReplicas(2);
    const [one, two] = replicas.urls as [string, string];
    const tokens = new TokenIssuer(await openKeyring(join(replicas.home, 'keyring')), '1h');
    const operator = (await tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();

    const signUp = await fetch(one, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation { signUp(input: { tenantName: "r", owner: { email: "r@r.io", name: "R" } }) { token tenant { id } } }',
      }),
    });
    const { data } = (await signUp.json()) as { data: { signUp: { token: string; tenant: { id: string } } } };
    const owner = data.signUp.token;
    expect((await graphql(two, owner, '{ me { id } }')).body.errors).toBeUndefined();

    const frozenAt = performance.now();
    expect((await graphql(one, operator, FREEZE, { id: data.signUp.tenant.id, reason: 'replica test' })).body.errors).toBeUndefined();
    const propagation = await millisUntil(
      async () => (await graphql(two, owner, '{ me { id } }')).body.errors?.[0]?.extensions?.code === 'TENANT_FROZEN',
      5_000,
    );
    expect(performance.now() - frozenAt).toBeLessThan(1_000);
    expect(propagation).toBeLessThan(1_000);

    await graphql(two, operator, UNFREEZE, { id: data.signUp.tenant.id });
    await millisUntil(async () => !(await graphql(one, owner, '{ me { id } }')).body.errors, 1_000);

    // People come and go on every replica at once: a member signed in on replica 2 loses access
    // there as soon as replica 1 demotes it, ends its session or removes it.
    const member = async (role: string) => {
      const added = await graphql(one, owner, ADD_MEMBER, { input: { email: `${role}-${Date.now()}@r.io`, name: role, role } });
      const { addMember } = added.body.data as { addMember: { member: { id: string }; signInToken: string } };
      const redeemed = (await graphql(two, '', REDEEM, { token: addMember.signInToken })).body.data as {
        redeemSignInLink: { accessToken: string; session: { id: string } };
      };
      expect((await graphql(two, redeemed.redeemSignInLink.accessToken, '{ me { id } }')).body.errors).toBeUndefined();
      return { id: addMember.member.id, token: redeemed.redeemSignInLink.accessToken, sessionId: redeemed.redeemSignInLink.session.id };
    };
    // Each replica remembers a token the database found live (TokenLiveness) on both request paths:
    // the ORM's (`me`) and the one-round-trip read (`agents`).
    const refusedOn = async (replica: string, token: string) =>
      (await graphql(replica, token, '{ me { id } }')).status === 401 &&
      (await graphql(replica, token, '{ agents(first: 1) { edges { node { id } } } }')).status === 401;
    const cases: [string, (m: { id: string; sessionId: string }) => Promise<unknown>][] = [
      [
        'role change',
        (m) => graphql(one, owner, 'mutation ($id: ID!) { changeMemberRole(userId: $id, role: VIEWER) { role } }', { id: m.id }),
      ],
      ['session revoked', (m) => graphql(one, owner, 'mutation ($id: ID!) { revokeSession(id: $id) { id } }', { id: m.sessionId })],
      ['suspended', (m) => graphql(one, owner, 'mutation ($id: ID!) { suspendMember(userId: $id) { status } }', { id: m.id })],
      ['removed', (m) => graphql(one, owner, 'mutation ($id: ID!) { removeMember(input: { userId: $id }) }', { id: m.id })],
    ];
    for (const [name, change] of cases) {
      const m = await member('ADMIN');
      expect([name, await refusedOn(one, m.token), await refusedOn(two, m.token)]).toEqual([name, false, false]);
      const response = (await change(m)) as { body: { errors?: unknown } };
      expect([name, response.body.errors]).toEqual([name, undefined]);
      // The replica that made the change refuses the very next request (TokenLiveness.changing) ...
      expect([name, await refusedOn(one, m.token)]).toEqual([name, true]);
      // ... and the other as soon as the liveness feed reaches it: within one second.
      const propagation = await millisUntil(() => refusedOn(two, m.token), 5_000);
      expect([name, propagation < 1_000]).toEqual([name, true]);
    }
  }, 120_000);
});
