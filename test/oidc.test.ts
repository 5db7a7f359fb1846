import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { graphql } from './gql/index.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { CLIENT_ID, OTHER_CLIENT_ID, SHORT_CLIENT_ID, signingKey, startOpenIdProvider } from './support/oidc-provider.ts';
import { AddMember, AuditEvents, Me } from './support/operations.ts';
import { freePorts } from './support/ports.ts';

const Register = graphql(`
  mutation RegisterOidcConnection($input: RegisterOidcConnectionInput!) {
    registerOidcConnection(input: $input) { id issuer clientId allowedDomains jitRole }
  }
`);
const SignIn = graphql(`
  mutation SignIn($input: SignInInput!) {
    signIn(input: $input) { accessToken refreshToken session { id method } user { id email role } }
  }
`);

let gw: Gateway;
let idp: Awaited<ReturnType<typeof startOpenIdProvider>>;
let other: Awaited<ReturnType<typeof startOpenIdProvider>>;
let acme: Awaited<ReturnType<Gateway['seed']['tenant']>>;
let globex: Awaited<ReturnType<Gateway['seed']['tenant']>>;
const firstKey = signingKey('key-1');

beforeAll(async () => {
  const port = await freePorts(2);
  idp = await startOpenIdProvider(port, [firstKey]);
  other = await startOpenIdProvider(port + 1);
  gw = await startGateway({ oidcJwksCooldownMs: 0 });
  acme = await gw.seed.tenant('acme');
  globex = await gw.seed.tenant('globex');
  expectNoErrors(
    await gw.execute(
      Register,
      {
        input: {
          issuer: idp.issuer,
          clientId: CLIENT_ID,
          allowedDomains: ['acme.example'],
          jitRole: 'MEMBER',
          roleClaim: 'groups',
          roleMapping: { 'platform-admins': 'ADMIN' },
        },
      },
      { token: acme.ownerToken },
    ),
  );
  expectNoErrors(
    await gw.execute(
      Register,
      { input: { issuer: idp.issuer, clientId: CLIENT_ID, allowedDomains: ['globex.example'] } },
      { token: globex.ownerToken },
    ),
  );
  expectNoErrors(
    await gw.execute(
      Register,
      { input: { issuer: idp.issuer, clientId: SHORT_CLIENT_ID, allowedDomains: ['acme.example'], jitRole: 'VIEWER' } },
      { token: acme.ownerToken },
    ),
  );
  idp.accounts.set('alice', { email: 'alice@acme.example', name: 'Alice' });
  idp.accounts.set('ada', { email: 'ada@acme.example', name: 'Ada', groups: ['platform-admins'] });
  idp.accounts.set('bob', { email: 'bob@globex.example', name: 'Bob' });
  idp.accounts.set('carol', { email: 'carol@globex.example', name: 'Carol' });
  idp.accounts.set('mallory', { email: 'mallory@acme.example', email_verified: false });
  other.accounts.set('alice', { email: 'alice@acme.example' });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await idp?.close();
  await other?.close();
});

const signIn = (idToken: string, extra: { nonce?: string; deviceLabel?: string } = {}) =>
  gw.execute(SignIn, { input: { idToken, ...extra } });

describe('sign-in through a real OpenID provider', () => {
  test('a new person of an allowed domain joins just in time with the default role, and reaches the API with the session', async () => {
    const session = expectNoErrors(await signIn(await idp.idToken('alice'), { deviceLabel: 'browser' })).signIn;
    expect(session.user).toMatchObject({ email: 'alice@acme.example', role: 'MEMBER' });
    expect(session.session.method).toBe('OIDC');
    const { me } = expectNoErrors(await gw.execute(Me, {}, { token: session.accessToken }));
    expect(me.id).toBe(session.user.id);
    // The same person signs in again later: the linked identity, the same member.
    const again = expectNoErrors(await signIn(await idp.idToken('alice'))).signIn;
    expect(again.user.id).toBe(session.user.id);
    const events = expectNoErrors(await gw.execute(AuditEvents, {}, { token: acme.ownerToken })).auditEvents.edges.map((e) => e.node);
    expect(events.filter((e) => e.action === 'session.signIn').map((e) => [e.detail.method, e.detail.joined])).toEqual([
      ['OIDC', true],
      ['OIDC', false],
    ]);
  });

  test('a group claim maps to a role', async () => {
    expect(expectNoErrors(await signIn(await idp.idToken('ada'))).signIn.user.role).toBe('ADMIN');
  });

  test('an invited member’s first sign-in links its identity to the member the owner added', async () => {
    const { addMember } = expectNoErrors(
      await gw.execute(
        AddMember,
        { input: { email: 'carol@globex.example', name: 'Carol', role: 'VIEWER' } },
        { token: globex.ownerToken },
      ),
    );
    const session = expectNoErrors(await signIn(await idp.idToken('carol'))).signIn;
    expect(session.user).toMatchObject({ id: addMember.member.id, role: 'VIEWER' });
  });

  test('an unknown person where the connection allows no just-in-time membership is refused with a clear code', async () => {
    const refused = await signIn(await idp.idToken('bob'));
    expect(refused.status).toBe(403);
    expect(errorCodes(refused)).toEqual(['OIDC_UNKNOWN_SUBJECT']);
  });

  test("tenant A's connection never admits tenant B's domain, nor an unverified email", async () => {
    // Globex trusts the same issuer and client, for globex.example only: acme's people stay out of
    // globex, and a globex address gets nothing from acme's just-in-time rule.
    idp.accounts.set('eve', { email: 'eve@globex.example' });
    expect(errorCodes(await signIn(await idp.idToken('eve')))).toEqual(['OIDC_UNKNOWN_SUBJECT']);
    expect(errorCodes(await signIn(await idp.idToken('mallory')))).toEqual(['OIDC_UNKNOWN_SUBJECT']);
  });

  test('wrong issuer, wrong audience, unsigned, forged, malformed, replayed, wrong nonce and expired tokens are UNAUTHENTICATED, and no token is logged', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const forged = await new SignJWT({ email: 'alice@acme.example', email_verified: true })
      .setProtectedHeader({ alg: 'RS256', kid: 'key-1' })
      .setIssuer(idp.issuer)
      .setAudience(CLIENT_ID)
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const unsigned = new UnsecuredJWT({ email: 'alice@acme.example', email_verified: true })
      .setIssuer(idp.issuer)
      .setAudience(CLIENT_ID)
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime('5m')
      .encode();
    const used = await idp.idToken('alice');
    expectNoErrors(await signIn(used));
    const short = await idp.idToken('alice', { clientId: SHORT_CLIENT_ID });
    await new Promise((resolve) => setTimeout(resolve, 7_000)); // its 1 s lifetime and the 5 s clock tolerance
    const cases = {
      'wrong issuer': await other.idToken('alice'),
      'wrong audience': await idp.idToken('alice', { clientId: OTHER_CLIENT_ID }), // before any connection names that client
      unsigned,
      forged,
      malformed: 'not.a.jwt',
      replayed: used,
      expired: short,
    };
    for (const [name, token] of Object.entries(cases)) {
      const refused = await signIn(token);
      expect([name, refused.status, errorCodes(refused)]).toEqual([name, 401, ['UNAUTHENTICATED']]);
      expect(gw.logs()).not.toContain(token);
    }
    const nonced = await idp.idToken('alice', { nonce: 'n-123' });
    expect(errorCodes(await signIn(nonced, { nonce: 'another' }))).toEqual(['UNAUTHENTICATED']);
    expectNoErrors(await signIn(nonced, { nonce: 'n-123' }));
  }, 60_000);

  test('key rotation: a token signed with a new key is accepted without a restart, and the old key still works while published', async () => {
    const beforeRotation = await idp.idToken('alice');
    await idp.restart([signingKey('key-2'), firstKey]);
    // The gateway has seen key-1 only; key-2 is fetched when a token first names it.
    const rotated = await idp.idToken('alice');
    expect(JSON.parse(Buffer.from(rotated.split('.')[0] ?? '', 'base64url').toString()).kid).toBe('key-2');
    expectNoErrors(await signIn(rotated));
    expectNoErrors(await signIn(beforeRotation));
  });
});

describe('the platform’s own connection, for standard tenants', () => {
  const RegisterPlatform = graphql(`
    mutation RegisterPlatformOidcConnection($input: RegisterPlatformOidcConnectionInput!) {
      registerPlatformOidcConnection(input: $input) { id issuer clientId allowedDomains }
    }
  `);

  test('signs in only people a tenant added by email, into that tenant; adds nobody; operators only', async () => {
    const std = await gw.seed.tenant('standard-without-idp');
    const input = { issuer: idp.issuer, clientId: OTHER_CLIENT_ID, allowedDomains: ['*'] };
    expect(errorCodes(await gw.execute(RegisterPlatform, { input }, { token: std.ownerToken }))).toEqual(['FORBIDDEN']);
    expectNoErrors(await gw.execute(RegisterPlatform, { input }, { token: await gw.operator.token() }));
    const { addMember } = expectNoErrors(
      await gw.execute(AddMember, { input: { email: 'zoe@freelance.example', name: 'Zoe', role: 'MEMBER' } }, { token: std.ownerToken }),
    );
    idp.accounts.set('zoe', { email: 'zoe@freelance.example' });
    idp.accounts.set('yan', { email: 'yan@freelance.example' });
    const zoe = expectNoErrors(await signIn(await idp.idToken('zoe', { clientId: OTHER_CLIENT_ID }))).signIn;
    expect(zoe.user).toMatchObject({ id: addMember.member.id, role: 'MEMBER' });
    // Nobody added yan: the platform's connection joins nobody to any tenant.
    expect(errorCodes(await signIn(await idp.idToken('yan', { clientId: OTHER_CLIENT_ID })))).toEqual(['OIDC_UNKNOWN_SUBJECT']);
  });
});

describe('the owner decides the connections', () => {
  test('only owners register connections; an http issuer off loopback and a bad domain are refused', async () => {
    const member = await acme.member('ADMIN');
    expect(
      errorCodes(
        await gw.execute(
          Register,
          { input: { issuer: idp.issuer, clientId: 'x', allowedDomains: ['acme.example'] } },
          { token: member.token },
        ),
      ),
    ).toEqual(['FORBIDDEN']);
    const bad = [
      { issuer: 'http://idp.example.com', clientId: 'x', allowedDomains: ['acme.example'] },
      { issuer: idp.issuer, clientId: 'x', allowedDomains: ['not a domain'] },
    ];
    for (const input of bad)
      expect(errorCodes(await gw.execute(Register, { input }, { token: acme.ownerToken }))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('an identity several tenants admit', () => {
  const Suspend = graphql(`
    mutation OidcTestSuspendMember($userId: ID!) { suspendMember(userId: $userId) { id status } }
  `);
  const unknownTenant = Buffer.from('Tenant:00000000-0000-4000-8000-000000000000').toString('base64');
  let tenants: Record<'one' | 'two' | 'stranger' | 'suspended' | 'open', Awaited<ReturnType<Gateway['seed']['tenant']>>>;

  beforeAll(async () => {
    const operatorToken = await gw.operator.token();
    const seeded = {
      one: await gw.seed.tenant(`multi-one-${Date.now()}`),
      // An enterprise tenant keeps its members in its own schema: found all the same.
      two: await gw.seed.tenant(`multi-two-${Date.now()}`, { enterpriseBy: operatorToken }),
      stranger: await gw.seed.tenant(`multi-stranger-${Date.now()}`),
      suspended: await gw.seed.tenant(`multi-suspended-${Date.now()}`),
      open: await gw.seed.tenant(`multi-open-${Date.now()}`),
    };
    for (const [key, tenant] of Object.entries(seeded)) {
      const input = {
        issuer: idp.issuer,
        clientId: CLIENT_ID,
        allowedDomains: ['multi.example'],
        ...(key === 'open' ? { jitRole: 'VIEWER' as const } : {}),
      };
      expectNoErrors(await gw.execute(Register, { input }, { token: tenant.ownerToken }));
      if (key === 'stranger' || key === 'open') continue;
      const { addMember } = expectNoErrors(
        await gw.execute(AddMember, { input: { email: 'pat@multi.example', name: 'Pat', role: 'MEMBER' } }, { token: tenant.ownerToken }),
      );
      if (key === 'suspended') expectNoErrors(await gw.execute(Suspend, { userId: addMember.member.id }, { token: tenant.ownerToken }));
    }
    tenants = seeded;
    idp.accounts.set('pat', { email: 'pat@multi.example', name: 'Pat' });
  }, 60_000);

  test('is told the tenants where it is an active member, by name, and nothing of the others', async () => {
    const refused = await signIn(await idp.idToken('pat'));
    expect(errorCodes(refused)).toEqual(['OIDC_TENANT_REQUIRED']);
    const extensions = refused.errors?.[0]?.extensions as { tenants: string[]; choices: { id: string; name: string }[] };
    const expected = [tenants.one, tenants.two]
      .map((tenant) => ({ id: tenant.id, name: tenant.name }))
      .sort((a, b) => a.name.localeCompare(b.name));
    expect(extensions.choices).toEqual(expected);
    expect(extensions.tenants).toEqual(expected.map((choice) => choice.id));
    // Not the tenant that would take anyone of the domain just in time, not the one where Pat is
    // suspended, not the one that trusts the same provider but does not know Pat.
    const body = JSON.stringify(refused);
    for (const other of [tenants.stranger, tenants.suspended, tenants.open]) {
      expect(body).not.toContain(other.id);
      expect(body).not.toContain(other.name);
    }
  });

  test('signs in to the tenant it names, as that tenant’s member', async () => {
    const signInTo = async (tenant: string) =>
      expectNoErrors(await gw.execute(SignIn, { input: { idToken: await idp.idToken('pat'), tenant } })).signIn;
    const inTwo = await signInTo(tenants.two.id);
    const inOne = await signInTo(tenants.one.id);
    const meIn = async (token: string) => expectNoErrors(await gw.execute(Me, {}, { token })).me;
    expect(await meIn(inTwo.accessToken)).toMatchObject({ email: 'pat@multi.example', role: 'MEMBER' });
    expect((await meIn(inOne.accessToken)).id).not.toBe(inTwo.user.id);
  });

  test('naming a tenant it does not belong to is refused exactly like naming one that does not exist', async () => {
    const attempt = async (tenant: string) => {
      const answer = await gw.execute(SignIn, { input: { idToken: await idp.idToken('pat'), tenant } });
      return { status: answer.status, errors: answer.errors?.map((error) => ({ message: error.message, extensions: error.extensions })) };
    };
    const stranger = await attempt(tenants.stranger.id);
    expect(stranger).toEqual({ status: 403, errors: [{ message: expect.any(String), extensions: { code: 'OIDC_UNKNOWN_SUBJECT' } }] });
    expect(await attempt(unknownTenant)).toEqual(stranger);
    // The tenant where Pat is suspended: no session (its own answer, which says nothing of other tenants).
    expect((await attempt(tenants.suspended.id)).errors?.[0]?.extensions).toEqual({ code: 'UNAUTHENTICATED' });
  });
});
