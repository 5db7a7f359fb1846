import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { forkForPrincipal, TENANT_SETTING } from '../src/db/request-scope.ts';
import { AgentCredential } from '../src/modules/credentials/credential.entity.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { AgentCredentials, DeleteCredential, RotateCredential, SetCredential } from './support/credential-operations.ts';
import { ADMIN_URL } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';

/**
 * Credentials behind each wall alone: tenant A attacks tenant B's agent's credentials with the other
 * walls taken away (as in walls.test.ts).
 */
const idOf = (globalId: string) => decodeGlobalId(globalId).id;

async function seedTwoTenants(gw: Gateway) {
  const a = await gw.seed.tenant();
  const b = await gw.seed.tenant();
  const agentA = (await a.agent('a-agent')).id;
  const agentB = (await b.agent('b-agent')).id;
  expectNoErrors(
    await gw.execute(SetCredential, { agentId: agentA, name: 'A_SECRET', value: 'a-value-0123456789' }, { token: a.ownerToken }),
  );
  expectNoErrors(
    await gw.execute(SetCredential, { agentId: agentB, name: 'B_SECRET', value: 'b-value-0123456789' }, { token: b.ownerToken }),
  );
  return { a, b, agentA, agentB };
}

async function credentialRows(gw: Gateway) {
  return gw.orm.em
    .fork()
    .getConnection()
    .execute<{ name: string; version: number }[]>('select name, version from agent_credentials order by name');
}

describe('wall 3 (RLS) holds without walls 1 (scopes) and 2 (ORM filter)', () => {
  let gw: Gateway;
  let seeded: Awaited<ReturnType<typeof seedTwoTenants>>;

  beforeAll(async () => {
    gw = await startGateway({ disableScopeAuth: true });
    seeded = await seedTwoTenants(gw);
    for (const meta of gw.orm.getMetadata().getAll().values()) meta.filters = {}; // the tenant filter removed
  });
  afterAll(() => gw?.close());

  test('through the API, B’s agent and its credentials do not exist for A', async () => {
    const { a, agentB } = seeded;
    const token = a.ownerToken;
    expect(errorCodes(await gw.execute(AgentCredentials, { id: agentB }, { token }))).toEqual(['NOT_FOUND']);
    expect(
      errorCodes(await gw.execute(SetCredential, { agentId: agentB, name: 'PLANTED', value: 'planted-0123456789' }, { token })),
    ).toEqual(['NOT_FOUND']);
    expect(
      errorCodes(await gw.execute(RotateCredential, { agentId: agentB, name: 'B_SECRET', value: 'changed-0123456789' }, { token })),
    ).toEqual(['NOT_FOUND']);
    expect(errorCodes(await gw.execute(DeleteCredential, { agentId: agentB, name: 'B_SECRET' }, { token }))).toEqual(['NOT_FOUND']);
  });

  test('the ORM without its filter sees only A’s credentials', async () => {
    const tenantId = idOf(seeded.a.id);
    const em = forkForPrincipal(gw.orm, { kind: 'user', tenantId, userId: tenantId, role: 'OWNER' });
    const rows = await em.transactional((tx) => tx.find(AgentCredential, {}, { filters: false }));
    expect(rows.map((row) => row.name)).toEqual(['A_SECRET']);
  });

  test('raw SQL as the app role: no read, insert, move, update or delete of B’s rows; nothing without a setting', async () => {
    const client = new pg.Client({ connectionString: gw.appUrl });
    await client.connect();
    const tenantA = idOf(seeded.a.id);
    const tenantB = idOf(seeded.b.id);
    const agentB = idOf(seeded.agentB);
    const agentA = idOf(seeded.agentA);
    const inTransaction = async <T>(tenantId: string | null, work: () => Promise<T>): Promise<T> => {
      await client.query('begin');
      try {
        if (tenantId) await client.query('select set_config($1, $2, true)', [TENANT_SETTING, tenantId]);
        return await work();
      } finally {
        await client.query('rollback');
      }
    };
    try {
      expect(await inTransaction(tenantA, async () => (await client.query('select name from agent_credentials')).rows)).toEqual([
        { name: 'A_SECRET' },
      ]);
      expect(await inTransaction(null, async () => (await client.query('select name from agent_credentials')).rows)).toEqual([]);
      const row = (tenantId: string, agentId: string) => [
        '0190a0a0-0000-7000-8000-0000000000ff',
        tenantId,
        agentId,
        Buffer.alloc(16),
        Buffer.alloc(12),
      ];
      const insert = `insert into agent_credentials (id, tenant_id, agent_id, name, version, ciphertext, nonce, wrapped_key, key_version, fingerprint)
                      values ($1, $2, $3, 'PLANTED', 1, $4, $5, 'local:v1:AAAA', 1, '0000000000000000')`;
      await expect(inTransaction(tenantA, () => client.query(insert, row(tenantB, agentB)))).rejects.toThrow(/row-level security/);
      // A's tenant on B's agent: the composite foreign key has no such agent.
      await expect(inTransaction(tenantA, () => client.query(insert, row(tenantA, agentB)))).rejects.toThrow(/foreign key/);
      expect(
        await inTransaction(
          tenantA,
          async () => (await client.query("update agent_credentials set version = 9 where name = 'B_SECRET'")).rowCount,
        ),
      ).toBe(0);
      expect(
        await inTransaction(tenantA, async () => (await client.query("delete from agent_credentials where name = 'B_SECRET'")).rowCount),
      ).toBe(0);
      await expect(
        inTransaction(tenantA, () =>
          client.query("update agent_credentials set tenant_id = $1, agent_id = $2 where name = 'A_SECRET'", [tenantB, agentB]),
        ),
      ).rejects.toThrow(/row-level security/);
      expect(agentA).not.toBe(agentB);
      // The rewrap listing crosses tenants by design, but yields ids only: no name, no ciphertext, no wrapped key.
      const listing = await inTransaction(
        null,
        async () => (await client.query('select * from credentials_below_key_version(100, 10)')).rows,
      );
      expect(Object.keys(listing[0] ?? {}).sort()).toEqual(['credential_id', 'credential_tenant_id']);
    } finally {
      await client.end();
    }
    expect((await credentialRows(gw)).map((r) => r.name)).toEqual([]); // the gateway's own connection sees nothing without a tenant
  });
});

describe('wall 2 (ORM filter) holds without walls 1 and 3 (superuser: RLS bypassed)', () => {
  let gw: Gateway;
  let seeded: Awaited<ReturnType<typeof seedTwoTenants>>;

  beforeAll(async () => {
    gw = await startGateway({ disableScopeAuth: true, ormUrl: ADMIN_URL });
    seeded = await seedTwoTenants(gw);
  });
  afterAll(() => gw?.close());

  test('RLS really is out of the way here', async () => {
    expect((await credentialRows(gw)).map((r) => r.name)).toEqual(['A_SECRET', 'B_SECRET']);
  });

  test('A can neither list nor change B’s credentials; B’s row is unchanged', async () => {
    const token = seeded.a.ownerToken;
    expect(errorCodes(await gw.execute(AgentCredentials, { id: seeded.agentB }, { token }))).toEqual(['NOT_FOUND']);
    expect(
      errorCodes(await gw.execute(RotateCredential, { agentId: seeded.agentB, name: 'B_SECRET', value: 'changed-0123456789' }, { token })),
    ).toEqual(['NOT_FOUND']);
    expect(errorCodes(await gw.execute(DeleteCredential, { agentId: seeded.agentB, name: 'B_SECRET' }, { token }))).toEqual(['NOT_FOUND']);
    expect(await credentialRows(gw)).toEqual([
      { name: 'A_SECRET', version: 1 },
      { name: 'B_SECRET', version: 1 },
    ]);
  });
});

describe('wall 1 (scopes) and the service’s own tenant check hold without walls 2 and 3', () => {
  let gw: Gateway;
  let seeded: Awaited<ReturnType<typeof seedTwoTenants>>;

  beforeAll(async () => {
    gw = await startGateway({ ormUrl: ADMIN_URL });
    seeded = await seedTwoTenants(gw);
    for (const meta of gw.orm.getMetadata().getAll().values()) meta.filters = {};
  });
  afterAll(() => gw?.close());

  test('B’s agent is loaded but its credentials are neither rendered, changed nor planted', async () => {
    const token = seeded.a.ownerToken;
    const listed = await gw.execute(AgentCredentials, { id: seeded.agentB }, { token });
    expect(errorCodes(listed)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(listed)).not.toContain('B_SECRET');
    for (const response of [
      await gw.execute(SetCredential, { agentId: seeded.agentB, name: 'PLANTED', value: 'planted-0123456789' }, { token }),
      await gw.execute(RotateCredential, { agentId: seeded.agentB, name: 'B_SECRET', value: 'changed-0123456789' }, { token }),
      await gw.execute(DeleteCredential, { agentId: seeded.agentB, name: 'B_SECRET' }, { token }),
    ]) {
      expect(errorCodes(response)).toEqual(['NOT_FOUND']);
    }
    expect(await credentialRows(gw)).toEqual([
      { name: 'A_SECRET', version: 1 },
      { name: 'B_SECRET', version: 1 },
    ]);
  });
});
