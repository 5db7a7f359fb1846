import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeGlobalId } from '../src/shared/global-id.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentById, Agents, CreateAgent, UpdateAgent } from './support/operations.ts';

let gw: Gateway;
let owner: string;
let agentId: string;
let tenantId: string;
let userId: string;

/**
 * Rows of every table: bad input must change none of them. The audit log is the exception: a failed
 * mutation or a NOT_FOUND leaves a FAILED or DENIED event (test/audit-trail.test.ts), never a SUCCESS.
 */
async function snapshot() {
  const tables = ['tenants', 'users', 'agents', 'api_keys', "(select * from audit_events where outcome = 'SUCCESS')"];
  const counts = await Promise.all(
    tables.map(async (table) => [
      table,
      (await adminQuery(gw.database.adminUrl, `select md5(string_agg(t::text, ',' order by t::text)) as h from ${table} t`)).rows[0]?.h,
    ]),
  );
  return Object.fromEntries(counts);
}

beforeAll(async () => {
  gw = await startGateway();
  const acme = await gw.seed.tenant();
  owner = acme.ownerToken;
  agentId = (await acme.agent('original')).id;
  tenantId = Buffer.from(acme.id, 'base64').toString().split(':')[1] ?? '';
  userId = Buffer.from(acme.ownerId, 'base64').toString().split(':')[1] ?? '';
});
afterAll(() => gw?.close());

describe('malformed input gets a clear error and changes nothing', () => {
  const cases: [string, () => Promise<{ errors?: { extensions?: { code?: string } }[] }>, string][] = [
    [
      'a global ID that is not base64 of Type:id',
      () => gw.execute(AgentById, { id: '%%%not-an-id%%%' }, { token: owner }),
      'BAD_USER_INPUT',
    ],
    [
      'a global ID of another type',
      () => gw.execute(AgentById, { id: encodeGlobalId('User', userId) }, { token: owner }),
      'BAD_USER_INPUT',
    ],
    [
      'a global ID whose id is not a uuid',
      () => gw.execute(AgentById, { id: encodeGlobalId('Agent', "1' or '1'='1") }, { token: owner }),
      'NOT_FOUND',
    ],
    ['an oversized global ID', () => gw.execute(AgentById, { id: 'A'.repeat(100_000) }, { token: owner }), 'BAD_USER_INPUT'],
    ['a cursor that is not ours', () => gw.execute(Agents, { first: 5, after: 'garbage' }, { token: owner }), 'BAD_USER_INPUT'],
    ['a negative page size', () => gw.execute(Agents, { first: -1 }, { token: owner }), 'BAD_USER_INPUT'],
    [
      'an oversized name',
      () => gw.execute(CreateAgent, { input: { name: 'x'.repeat(101), image: 'fleetgate/agent:1' } }, { token: owner }),
      'BAD_USER_INPUT',
    ],
    [
      'an oversized description in an update',
      () => gw.execute(UpdateAgent, { input: { id: agentId, description: 'x'.repeat(2001) } }, { token: owner }),
      'BAD_USER_INPUT',
    ],
    [
      'an oversized config',
      () =>
        gw.execute(
          CreateAgent,
          { input: { name: 'big', image: 'fleetgate/agent:1', config: { blob: 'x'.repeat(70_000) } } },
          { token: owner },
        ),
      'BAD_USER_INPUT',
    ],
    [
      'a config that is not an object',
      () =>
        gw.execute(
          CreateAgent,
          { input: { name: 'arr', image: 'fleetgate/agent:1', config: [1, 2] as unknown as Record<string, unknown> } },
          { token: owner },
        ),
      'BAD_USER_INPUT',
    ],
    [
      'an image reference with shell characters',
      () => gw.execute(CreateAgent, { input: { name: 'img', image: 'busybox; rm -rf /' } }, { token: owner }),
      'BAD_USER_INPUT',
    ],
  ];

  test.each(cases)('%s', async (_name, run, code) => {
    const before = await snapshot();
    const response = await run();
    expect(errorCodes(response as never)).toEqual([code]);
    expect(await snapshot()).toEqual(before);
  });

  test('an unknown enum value is refused by validation before anything runs', async () => {
    const before = await snapshot();
    const response = await gw.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}` },
      body: JSON.stringify({ query: 'mutation { createApiKey(input: { name: "k", scopes: [ROOT] }) { key } }' }),
    });
    const body = (await response.json()) as { errors: { message: string }[] };
    expect(body.errors[0]?.message).toMatch(/ROOT/);
    expect(await snapshot()).toEqual(before);
  });
});

describe('bad credentials are refused, never downgraded to anonymous', () => {
  const claims = () => ({ typ: 'user', tid: tenantId, role: 'OWNER' });
  const forged = {
    'an expired token': async () =>
      new SignJWT(claims())
        .setProtectedHeader({ alg: 'EdDSA' })
        .setSubject(userId)
        .setIssuer('fleetgate')
        .setAudience('fleetgate-api')
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(gw.keyring.signingKey.privateKey),
    'a token signed by another key': async () => {
      const { privateKey } = await generateKeyPair('EdDSA');
      return new SignJWT(claims())
        .setProtectedHeader({ alg: 'EdDSA' })
        .setSubject(userId)
        .setIssuer('fleetgate')
        .setAudience('fleetgate-api')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
    },
    'an alg:none token': async () =>
      new UnsecuredJWT(claims())
        .setSubject(userId)
        .setIssuer('fleetgate')
        .setAudience('fleetgate-api')
        .setIssuedAt()
        .setExpirationTime('1h')
        .encode(),
    'a token without exp': async () =>
      new SignJWT(claims())
        .setProtectedHeader({ alg: 'EdDSA' })
        .setSubject(userId)
        .setIssuer('fleetgate')
        .setAudience('fleetgate-api')
        .setIssuedAt()
        .sign(gw.keyring.signingKey.privateKey),
    'a token for another audience': async () =>
      new SignJWT(claims())
        .setProtectedHeader({ alg: 'EdDSA' })
        .setSubject(userId)
        .setIssuer('fleetgate')
        .setAudience('someone-else')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(gw.keyring.signingKey.privateKey),
    'a valid token with its payload altered': async () => {
      const [header, , signature] = owner.split('.');
      const payload = Buffer.from(JSON.stringify({ ...claims(), tid: '00000000-0000-4000-8000-000000000000' })).toString('base64url');
      return `${header}.${payload}.${signature}`;
    },
    'a forged API key': async () => `fgk_${Buffer.alloc(64, 7).toString('base64url')}`,
    garbage: async () => 'not-a-token',
  };

  test.each(Object.entries(forged))('%s', async (_name, make) => {
    const before = await snapshot();
    const token = await make();
    const response = await gw.execute(CreateAgent, { input: { name: `forged-${Date.now()}`, image: 'fleetgate/agent:1' } }, { token });
    expect(response.status).toBe(401);
    expect(response.errors).toEqual([{ message: 'Invalid or expired credentials', extensions: { code: 'UNAUTHENTICATED' } }]);
    expect(await snapshot()).toEqual(before);
  });

  test('a Basic authorization header is refused', async () => {
    const response = await gw.execute(Agents, { first: 1 }, { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
  });

  test('the genuine token still works (control)', async () => {
    expectNoErrors(await gw.execute(Agents, { first: 1 }, { token: owner }));
  });
});
