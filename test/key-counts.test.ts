import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { forkForTenant } from '../src/db/request-scope.ts';
import { countTenantKeys } from '../src/keys/index.ts';
import { CREDENTIAL_KEY_TABLE } from '../src/modules/credentials/index.ts';
import { MEMORY_KEY_TABLE, SHARING_KEY_TABLE } from '../src/modules/memory/index.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { graphql } from './gql/index.ts';
import { CreateWorkspaceFile, PutMemory } from './memory-operations.ts';
import { agentWithToken } from './memory-support.ts';
import { RotateCredential, RotateCredentialKey, SetCredential } from './support/credential-operations.ts';
import { ADMIN_URL } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';

/**
 * How many of a tenant's data keys each KEK version wraps (`tenantKeyStatus.dataKeys`, the console's
 * isolation panel): only the caller's own tenant's keys are ever counted, whatever another tenant
 * does, with RLS or the tenant named in SQL taken away in turn; owners and admins only; never a key.
 */
const KeyCounts = graphql(`
  query TenantKeyCounts {
    tenantKeyStatus { latestVersion minDecryptionVersion dataKeys { version total credentials agentMemory sharing } }
  }
`);

const TABLES = [CREDENTIAL_KEY_TABLE, MEMORY_KEY_TABLE, SHARING_KEY_TABLE];
type Tenant = Awaited<ReturnType<Gateway['seed']['tenant']>>;

/** `credentials` credentials on one agent, that agent's memory key, and the tenant's sharing key. */
async function withKeys(gw: Gateway, tenant: Tenant, credentials: number) {
  const agent = await agentWithToken(gw, tenant);
  for (let i = 0; i < credentials; i++) {
    expectNoErrors(
      await gw.execute(
        SetCredential,
        { agentId: agent.globalId, name: `KEY_${i}`, value: `value-${i}-0123456789` },
        { token: tenant.ownerToken },
      ),
    );
  }
  expectNoErrors(await gw.execute(PutMemory, { input: { key: 'k', value: '"v"' } }, { token: agent.token }));
  expectNoErrors(
    await gw.execute(CreateWorkspaceFile, { input: { name: `f-${agent.id}.md`, content: 'x' } }, { token: tenant.ownerToken }),
  );
  return agent;
}

async function countsOf(gw: Gateway, token: string) {
  return expectNoErrors(await gw.execute(KeyCounts, {}, { token })).tenantKeyStatus.dataKeys;
}

describe('data keys per KEK version', () => {
  let gw: Gateway;
  let a: Tenant;
  let b: Tenant;
  let bAgent: Awaited<ReturnType<typeof withKeys>>;

  beforeAll(async () => {
    gw = await startGateway();
    a = await gw.seed.tenant();
    b = await gw.seed.tenant();
    await withKeys(gw, a, 2);
    bAgent = await withKeys(gw, b, 3);
  });
  afterAll(() => gw?.close());

  test('owners and admins see their own tenant’s keys per version; members and viewers only the versions', async () => {
    const expected = [{ version: 1, total: 4, credentials: 2, agentMemory: 1, sharing: 1 }];
    expect(await countsOf(gw, a.ownerToken)).toEqual(expected);
    expect(await countsOf(gw, (await a.member('ADMIN')).token)).toEqual(expected);
    expect(await countsOf(gw, b.ownerToken)).toEqual([{ version: 1, total: 5, credentials: 3, agentMemory: 1, sharing: 1 }]);
    for (const role of ['MEMBER', 'VIEWER'] as const) {
      const refused = await gw.execute(KeyCounts, {}, { token: (await a.member(role)).token });
      expect(errorCodes(refused)).toEqual(['FORBIDDEN']);
      expect(refused.data?.tenantKeyStatus).toEqual({ latestVersion: 1, minDecryptionVersion: 1, dataKeys: null });
    }
    const response = JSON.stringify(await gw.execute(KeyCounts, {}, { token: a.ownerToken }));
    expect(response).not.toMatch(/local:v\d+:/); // no wrapped key, let alone a key
  });

  test('A’s counts do not move while B creates and rotates its keys; a KEK rotation moves A’s own, and only those', async () => {
    const before = await countsOf(gw, a.ownerToken);
    for (let i = 3; i < 6; i++) {
      expectNoErrors(
        await gw.execute(
          SetCredential,
          { agentId: bAgent.globalId, name: `KEY_${i}`, value: `more-${i}-0123456789` },
          { token: b.ownerToken },
        ),
      );
    }
    expectNoErrors(
      await gw.execute(RotateCredential, { agentId: bAgent.globalId, name: 'KEY_0', value: 'rotated-0123456789' }, { token: b.ownerToken }),
    );
    await withKeys(gw, b, 1); // another agent: another memory key
    expect(await countsOf(gw, a.ownerToken)).toEqual(before);
    expect((await countsOf(gw, b.ownerToken))?.[0]).toEqual({ version: 1, total: 10, credentials: 7, agentMemory: 2, sharing: 1 });

    // The operator rotates the KEK; the background rewrap moves every tenant's keys...
    const operator = await gw.operator.token();
    expect(expectNoErrors(await gw.execute(RotateCredentialKey, {}, { token: operator })).rotateCredentialKey).toBe(2);
    await gw.fleetgate.keyRotation.idle();
    await gw.fleetgate.keyRotation.poke();
    // ...and once it ran, all of A's under version 2, version 1 retired (none left), B's not counted.
    expect(await countsOf(gw, a.ownerToken)).toEqual([{ version: 2, total: 4, credentials: 2, agentMemory: 1, sharing: 1 }]);
  });

  test('RLS alone: asked for B’s keys under A’s transaction, the count is empty', async () => {
    const tenantA = decodeGlobalId(a.id).id;
    const tenantB = decodeGlobalId(b.id).id;
    const em = forkForTenant(gw.orm, tenantA);
    expect(await em.transactional((tx) => countTenantKeys(tx, tenantB, TABLES))).toEqual([]);
    expect((await em.transactional((tx) => countTenantKeys(tx, tenantA, TABLES))).reduce((sum, row) => sum + row.keys, 0)).toBe(4);
  });
});

describe('the tenant named in SQL holds without RLS (the ORM connects as a superuser)', () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway({ ormUrl: ADMIN_URL });
  });
  afterAll(() => gw?.close());

  test('A still counts only its own keys, B’s included in the table', async () => {
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    await withKeys(gw, a, 1);
    await withKeys(gw, b, 4);
    const tenantB = decodeGlobalId(b.id).id;
    // RLS really is out of the way: A's transaction sees B's rows.
    const em = forkForTenant(gw.orm, decodeGlobalId(a.id).id);
    const seen = await em.transactional((tx) =>
      tx.execute<{ n: number }[]>('select count(*)::int as n from agent_credentials where tenant_id = ?', [tenantB]),
    );
    expect(seen[0]?.n).toBe(4);
    expect(await countsOf(gw, a.ownerToken)).toEqual([{ version: 1, total: 3, credentials: 1, agentMemory: 1, sharing: 1 }]);
  });
});

describe('the service’s own check holds without resolver scopes', () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway({ disableScopeAuth: true });
  });
  afterAll(() => gw?.close());

  test('a viewer and an operator are still refused the counts', async () => {
    const a = await gw.seed.tenant();
    await withKeys(gw, a, 1);
    const viewer = await a.member('VIEWER');
    const refused = await gw.execute(KeyCounts, {}, { token: viewer.token });
    expect(errorCodes(refused)).toEqual(['FORBIDDEN']);
    expect(refused.data?.tenantKeyStatus?.dataKeys ?? null).toBeNull();
    expect(errorCodes(await gw.execute(KeyCounts, {}, { token: await gw.operator.token() }))).toEqual(['FORBIDDEN']);
  });
});

describe('an enterprise tenant', () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw?.close());

  test('counts the keys in its own schema, and a standard tenant’s keys stay out of it', async () => {
    const operator = await gw.operator.token();
    const enterprise = await gw.seed.tenant(undefined, { enterpriseBy: operator });
    const standard = await gw.seed.tenant();
    await withKeys(gw, enterprise, 2);
    await withKeys(gw, standard, 3);
    expect(await countsOf(gw, enterprise.ownerToken)).toEqual([{ version: 1, total: 4, credentials: 2, agentMemory: 1, sharing: 1 }]);
    expect(await countsOf(gw, standard.ownerToken)).toEqual([{ version: 1, total: 5, credentials: 3, agentMemory: 1, sharing: 1 }]);
  });
});
