import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrate } from '../src/db/migrate.ts';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { createLogger } from '../src/shared/logger.ts';
import { graphql } from './gql/gql.ts';
import { RotateCredentialKey, SetCredential } from './support/credential-operations.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { Agents, ListAgents, Me, NodeById, OwnTenant, VerifyAuditLog } from './support/operations.ts';

const RegionTenants = graphql(`
  query RegionTenants($region: String) {
    platformTenants(first: 100, region: $region) { edges { node { id region plan } } }
  }
`);
const Regions = graphql(`
  query Regions {
    regions
  }
`);
const FreezeInRegion = graphql(`
  mutation FreezeInRegion($id: ID!) {
    freezeTenant(id: $id, reason: "region test") { status region }
  }
`);
const UnfreezeInRegion = graphql(`
  mutation UnfreezeInRegion($id: ID!) {
    unfreezeTenant(id: $id) { status }
  }
`);
const UpgradeInRegion = graphql(`
  mutation UpgradeInRegion($id: ID!) {
    upgradeTenantToEnterprise(id: $id) { plan region }
  }
`);

const RegionBackup = graphql(`
  mutation RegionBackup($id: ID!) {
    backupTenant(id: $id) { backupId rows }
  }
`);
const RegionRestore = graphql(`
  mutation RegionRestore($backupId: String!) {
    restoreTenant(backupId: $backupId, into: NEW) { schema rows tenant { region } }
  }
`);

type Seeded = Awaited<ReturnType<Gateway['seed']['tenant']>>;

let gw: Gateway;
let operator: string;
let backupDir: string;
let home: Seeded; // standard, eu-1
let us: Seeded; // standard, us-1
let usEnterprise: Seeded; // enterprise, us-1
const uuidOf = (globalId: string) => decodeGlobalId(globalId).id;
const usUrl = () => gw.regionDatabases.get('us-1')?.adminUrl ?? '';

/**
 * Every row of a tenant in one database, found as a superuser in every table of every schema that
 * has a tenant_id column (its schema's too), plus its tenants row: what residency must keep at zero elsewhere.
 */
async function rowsOfTenant(adminUrl: string, tenantId: string): Promise<Record<string, number>> {
  const { rows: tables } = await adminQuery<{ name: string }>(
    adminUrl,
    `select format('%I.%I', table_schema, table_name) as name from information_schema.columns
      where column_name = 'tenant_id' and table_schema not in ('pg_catalog', 'information_schema')
        and (table_schema, table_name) in (select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE')`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const { rows } = await adminQuery<{ n: string }>(adminUrl, `select count(*) as n from ${name} where tenant_id = $1`, [tenantId]);
    if (Number(rows[0]?.n) > 0) counts[name] = Number(rows[0]?.n);
  }
  const { rows } = await adminQuery<{ n: string }>(adminUrl, 'select count(*) as n from public.tenants where id = $1', [tenantId]);
  if (Number(rows[0]?.n) > 0) counts['public.tenants'] = Number(rows[0]?.n);
  return counts;
}

async function schemaExists(adminUrl: string, schema: string): Promise<boolean> {
  const { rows } = await adminQuery(adminUrl, 'select 1 from pg_namespace where nspname = $1', [schema]);
  return rows.length > 0;
}

beforeAll(async () => {
  backupDir = await mkdtemp(join(tmpdir(), 'fleetgate-region-backups-'));
  gw = await startGateway({ regions: ['us-1'], backups: { dir: backupDir } });
  operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
  home = await gw.seed.tenant('home-std');
  us = await gw.seed.tenant('us-std', { region: 'us-1' });
  usEnterprise = await gw.seed.tenant('us-ent', { region: 'us-1', enterpriseBy: operator });
  for (const tenant of [home, us, usEnterprise]) {
    await tenant.agent();
    await tenant.apiKey();
  }
});
afterAll(async () => {
  await gw?.close();
  await rm(backupDir, { recursive: true, force: true });
});

describe('data residency: a database per region', () => {
  test('each database records its region; migrate() refuses a database configured as another region, and the tenant row pin refuses a stray row', async () => {
    expect((await adminQuery(gw.database.adminUrl, 'select database_region() as r')).rows[0]?.r).toBe('eu-1');
    expect((await adminQuery(usUrl(), 'select database_region() as r')).rows[0]?.r).toBe('us-1');
    await expect(migrate(usUrl(), createLogger({ level: 'silent' }), { region: 'eu-1' })).rejects.toThrow(
      /is the database of region us-1, configured as region eu-1/,
    );
    // Even the superuser cannot store a tenant of another region here, nor move one by an UPDATE.
    await expect(adminQuery(usUrl(), "insert into tenants (id, name, region) values (gen_random_uuid(), 'stray', 'eu-1')")).rejects.toThrow(
      /tenant of region eu-1 cannot be stored in the database of region us-1/,
    );
    await expect(adminQuery(usUrl(), "update tenants set region = 'eu-1' where id = $1", [uuidOf(us.id)])).rejects.toThrow(
      /cannot be stored in the database of region us-1/,
    );
  });

  test('a tenant signed up in us-1 has every row in us-1’s database and none in the home database', async () => {
    const { tenant } = expectNoErrors(await gw.execute(OwnTenant, {}, { token: us.ownerToken }));
    expect(tenant.region).toBe('us-1');
    const inUs = await rowsOfTenant(usUrl(), uuidOf(us.id));
    expect(Object.keys(inUs)).toEqual(
      expect.arrayContaining(['public.tenants', 'public.users', 'public.agents', 'public.api_keys', 'public.audit_events']),
    );
    expect(await rowsOfTenant(gw.database.adminUrl, uuidOf(us.id))).toEqual({});
    // And the other way round: the home tenant is nowhere in us-1.
    expect(Object.keys(await rowsOfTenant(gw.database.adminUrl, uuidOf(home.id)))).toContain('public.agents');
    expect(await rowsOfTenant(usUrl(), uuidOf(home.id))).toEqual({});
  });

  test('an enterprise tenant onboarded in us-1 has its schema in us-1’s database only, and is served from it', async () => {
    const tenantId = uuidOf(usEnterprise.id);
    expect(await schemaExists(usUrl(), tenantSchemaName(tenantId))).toBe(true);
    expect(await schemaExists(gw.database.adminUrl, tenantSchemaName(tenantId))).toBe(false);
    const inUs = await rowsOfTenant(usUrl(), tenantId);
    expect(Object.keys(inUs)).toEqual(
      expect.arrayContaining([`${tenantSchemaName(tenantId)}.agents`, `${tenantSchemaName(tenantId)}.users`, 'public.tenants']),
    );
    expect(inUs['public.agents']).toBeUndefined(); // enterprise rows are in its schema, not the shared tables
    expect(await rowsOfTenant(gw.database.adminUrl, tenantId)).toEqual({});
    const { agents } = expectNoErrors(await gw.execute(Agents, { first: 10 }, { token: usEnterprise.ownerToken }));
    expect(agents.edges).toHaveLength(1);
    const { verifyAuditLog } = expectNoErrors(await gw.execute(VerifyAuditLog, {}, { token: usEnterprise.ownerToken }));
    expect(verifyAuditLog).toMatchObject({ intact: true });
    expect(verifyAuditLog.eventsChecked).toBeGreaterThan(1);
  });

  test('API keys authenticate in their tenant’s region; a region’s token reaches nothing of another region’s tenant', async () => {
    const key = await us.apiKey(['AGENTS_READ']);
    const { agents } = expectNoErrors(await gw.execute(ListAgents, { first: 10 }, { token: key.key }));
    expect(agents.edges).toHaveLength(1);
    const usAgent = agents.edges[0]?.node.id ?? '';
    // The home tenant's owner asks for the us-1 agent by id: the same answer as for a missing one.
    const probe = await gw.execute(NodeById, { id: usAgent }, { token: home.ownerToken });
    expect(probe.data?.node ?? null).toBeNull();
    expect(expectNoErrors(await gw.execute(Me, {}, { token: us.ownerToken })).me.id).toBe(us.ownerId);
  });

  test('operators list one region at a time and act on a tenant in its own region; an unknown region is refused with the list', async () => {
    expect(expectNoErrors(await gw.execute(Regions, {})).regions).toEqual(['eu-1', 'us-1']);
    const listed = async (region?: string) =>
      expectNoErrors(await gw.execute(RegionTenants, { region }, { token: operator })).platformTenants.edges.map((e) => e.node.id);
    expect(await listed()).toContain(home.id);
    expect(await listed()).not.toContain(us.id);
    expect(await listed('us-1')).toEqual(expect.arrayContaining([us.id, usEnterprise.id]));
    expect(await listed('us-1')).not.toContain(home.id);
    const unknown = await gw.execute(RegionTenants, { region: 'zz-9' }, { token: operator });
    expect(errorCodes(unknown)).toEqual(['BAD_USER_INPUT']);
    expect(unknown.errors?.[0]?.message).toContain('eu-1, us-1');

    const frozen = expectNoErrors(await gw.execute(FreezeInRegion, { id: us.id }, { token: operator }));
    expect(frozen.freezeTenant).toEqual({ status: 'FROZEN', region: 'us-1' });
    // Enforced through us-1's own policy feed, like any freeze.
    await expect
      .poll(async () => errorCodes(await gw.execute(Me, {}, { token: us.ownerToken })), { timeout: 5_000 })
      .toEqual(['TENANT_FROZEN']);
    expectNoErrors(await gw.execute(UnfreezeInRegion, { id: us.id }, { token: operator }));
    await expect.poll(async () => errorCodes(await gw.execute(Me, {}, { token: us.ownerToken })), { timeout: 5_000 }).toEqual([]);
    // The freeze event is in the tenant's own chain, in us-1.
    const { rows } = await adminQuery(
      usUrl(),
      "select count(*)::int as n from audit_events where tenant_id = $1 and action = 'tenant.freeze'",
      [uuidOf(us.id)],
    );
    expect(rows[0]?.n).toBe(1);
  });

  test('upgrading a us-1 tenant to enterprise moves its rows into a schema in us-1’s database', async () => {
    const tenant = await gw.seed.tenant('us-upgrade', { region: 'us-1' });
    await tenant.agent();
    const { upgradeTenantToEnterprise } = expectNoErrors(await gw.execute(UpgradeInRegion, { id: tenant.id }, { token: operator }));
    expect(upgradeTenantToEnterprise).toEqual({ plan: 'ENTERPRISE', region: 'us-1' });
    const tenantId = uuidOf(tenant.id);
    expect(await schemaExists(usUrl(), tenantSchemaName(tenantId))).toBe(true);
    expect((await rowsOfTenant(usUrl(), tenantId))[`${tenantSchemaName(tenantId)}.agents`]).toBe(1);
    expect(await rowsOfTenant(gw.database.adminUrl, tenantId)).toEqual({});
  });

  test('a us-1 tenant’s backup is written to us-1’s archive directory and restored into us-1’s database', async () => {
    const tenantId = uuidOf(usEnterprise.id);
    const { backupTenant } = expectNoErrors(await gw.execute(RegionBackup, { id: usEnterprise.id }, { token: operator }));
    expect(await readdir(join(backupDir, 'us-1'))).toEqual([backupTenant.backupId]);
    expect((await readdir(backupDir)).filter((name) => name.startsWith(tenantId))).toEqual([]);
    const { restoreTenant } = expectNoErrors(await gw.execute(RegionRestore, { backupId: backupTenant.backupId }, { token: operator }));
    expect(restoreTenant.tenant.region).toBe('us-1');
    expect(restoreTenant.rows).toEqual(backupTenant.rows);
    expect(await schemaExists(usUrl(), restoreTenant.schema)).toBe(true);
    expect(await schemaExists(gw.database.adminUrl, restoreTenant.schema)).toBe(false);
  });

  test('a KEK rotation rewraps the data keys of every region before it retires the old version', async () => {
    for (const tenant of [home, us, usEnterprise]) {
      const agent = await tenant.agent();
      expectNoErrors(
        await gw.execute(SetCredential, { agentId: agent.id, name: 'API_KEY', value: `v-${tenant.name}` }, { token: tenant.ownerToken }),
      );
    }
    const { rotateCredentialKey: version } = expectNoErrors(await gw.execute(RotateCredentialKey, {}, { token: operator }));
    await gw.fleetgate.keyRotation.idle();
    const versions = async (url: string, table: string) =>
      (await adminQuery<{ v: number }>(url, `select distinct key_version as v from ${table}`)).rows.map((row) => row.v);
    expect(await versions(gw.database.adminUrl, 'public.agent_credentials')).toEqual([version]);
    expect(await versions(usUrl(), 'public.agent_credentials')).toEqual([version]);
    expect(await versions(usUrl(), `${tenantSchemaName(uuidOf(usEnterprise.id))}.agent_credentials`)).toEqual([version]);
    expect(await gw.keyProvider.status()).toMatchObject({ latestVersion: version, minDecryptionVersion: version });
  });

  test('fail closed: a tenant found in two regions’ databases is served from neither', async () => {
    const tenant = await gw.seed.tenant('copied', { region: 'us-1' }); // no request has located it yet
    const tenantId = uuidOf(tenant.id);
    // A botched copy: its tenants row also in the home database (the pin has to be switched off to do it).
    await adminQuery(
      gw.database.adminUrl,
      `begin; alter table tenants disable trigger tenants_region_pin;
       insert into tenants (id, name, region) values ('${tenantId}', 'copied', 'us-1');
       alter table tenants enable trigger tenants_region_pin; commit;`,
    );
    const response = await gw.execute(Me, {}, { token: tenant.ownerToken });
    expect(response.data ?? null).toBeNull();
    expect(errorCodes(response)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(gw.logs()).toContain(`tenant ${tenantId} is stored in more than one region (eu-1, us-1)`);
  });

  // Last: it locks the gateway down.
  test('each region has its own isolation canary: its tenants live in that region, and an exposure in us-1 locks the whole gateway down', async () => {
    const usCanary = gw.fleetgate.canaries[1];
    expect(await usCanary?.runOnce()).toEqual({ exposures: [] });
    const { rows } = await adminQuery<{ name: string; region: string }>(
      usUrl(),
      "select name, region from tenants where name like '__canary-%' order by name",
    );
    expect(rows).toEqual([
      { name: '__canary-a', region: 'us-1' },
      { name: '__canary-b', region: 'us-1' },
    ]);
    // One wall broken in us-1's database only: RLS no longer forced on its agents table.
    await adminQuery(usUrl(), 'alter table agents no force row level security');
    const { exposures } = (await usCanary?.runOnce()) ?? { exposures: [] };
    expect(exposures).toContain('RLS not enabled and forced on agents');
    expect(gw.fleetgate.gate.lockedDown).toBe(true);
    // Every tenant is refused, the home region's included.
    expect((await gw.execute(Me, {}, { token: home.ownerToken })).status).toBe(503);
  });
});
