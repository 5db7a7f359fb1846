import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrateWithReport } from '../src/db/migrate.ts';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { createLogger } from '../src/shared/logger.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { ListAgents } from './support/operations.ts';

let gw: Gateway;
let schemaA: string;
let schemaB: string;
let tenantA: string;
const admin = (sql: string, params: unknown[] = []) => adminQuery(gw.database.adminUrl, sql, params).then((r) => r.rows);
const log = createLogger({ level: 'silent' });
let ownerTokenA: string;

beforeAll(async () => {
  gw = await startGateway();
  const operatorToken = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
  const a = await gw.seed.tenant('sync-a', { enterpriseBy: operatorToken });
  const b = await gw.seed.tenant('sync-b', { enterpriseBy: operatorToken });
  await a.agent();
  await b.agent();
  await gw.seed.tenant('sync-std');
  tenantA = decodeGlobalId(a.id).id;
  ownerTokenA = a.ownerToken;
  schemaA = tenantSchemaName(tenantA);
  schemaB = tenantSchemaName(decodeGlobalId(b.id).id);
});
afterAll(() => gw?.close());

/** A shared migration: statements run as the owner role in one transaction, as migrate() runs them. */
async function sharedMigration(statements: string[]) {
  const client = new pg.Client({ connectionString: gw.database.adminUrl });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('set local role fleetgate_owner');
    for (const statement of statements) await client.query(statement);
    await client.query('commit');
  } finally {
    await client.end();
  }
}

/**
 * Everything that makes up a tenant table, read from pg_catalog and information_schema, with the
 * schema's own name replaced by `S` so a tenant table and its shared table compare equal.
 */
async function shape(schema: string, table: string) {
  const client = new pg.Client({ connectionString: gw.database.adminUrl });
  await client.connect();
  try {
    // With only pg_catalog on the search path, pg_get_*def() qualify every name, public or not.
    await client.query('set search_path = pg_catalog');
    return await shapeWith((sql, params) => client.query(sql, params).then((r) => r.rows), schema, table);
  } finally {
    await client.end();
  }
}

async function shapeWith(catalog: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>, schema: string, table: string) {
  const rel = `${schema}.${table}`;
  const norm = (text: unknown) => String(text ?? '').replaceAll(`${schema}.`, 'S.');
  const columns = await catalog(
    `select column_name, data_type, character_maximum_length as len, numeric_precision as precision, is_nullable, column_default
       from information_schema.columns where table_schema = $1 and table_name = $2 order by column_name`,
    [schema, table],
  );
  const constraints = await catalog(
    `select conname, contype, pg_get_constraintdef(oid) as def from pg_constraint
      where conrelid = $1::regclass and contype in ('p', 'u', 'c', 'x', 'f') and conname <> 'tenant_schema_pin' order by 1`,
    [rel],
  );
  const indexes = await catalog(
    `select c.relname, pg_get_indexdef(i.indexrelid) as def from pg_index i join pg_class c on c.oid = i.indexrelid
      where i.indrelid = $1::regclass order by 1`,
    [rel],
  );
  const policies = await catalog(
    `select policyname, permissive, roles::text, cmd, qual, with_check from pg_policies where schemaname = $1 and tablename = $2 order by 1`,
    [schema, table],
  );
  const triggers = await catalog(
    `select tgname, pg_get_triggerdef(oid) as def from pg_trigger where tgrelid = $1::regclass and not tgisinternal order by 1`,
    [rel],
  );
  const tablePrivileges = await catalog(
    `select grantee, privilege_type from information_schema.role_table_grants
      where table_schema = $1 and table_name = $2 and grantee <> 'fleetgate_owner' order by 1, 2`,
    [schema, table],
  );
  const columnPrivileges = await catalog(
    `select grantee, column_name, privilege_type from information_schema.column_privileges
      where table_schema = $1 and table_name = $2 and grantee <> 'fleetgate_owner'
        and not exists (select from information_schema.role_table_grants g
                         where g.table_schema = $1 and g.table_name = $2 and g.grantee = column_privileges.grantee
                           and g.privilege_type = column_privileges.privilege_type)
      order by 1, 2, 3`,
    [schema, table],
  );
  const [rls] = await catalog('select relrowsecurity, relforcerowsecurity from pg_class where oid = $1::regclass', [rel]);
  return JSON.parse(
    norm(JSON.stringify({ columns, constraints, indexes, policies, triggers, tablePrivileges, columnPrivileges, rls })).replaceAll(
      'public.',
      'S.',
    ),
  );
}

/** Every tenant table of `schema` compared with its shared table. */
async function expectInStep(schema: string) {
  const tables = (await admin('select tenant_tables() as t')).map((row) => row.t as string);
  for (const table of tables) {
    const shared = await shape('public', table);
    // References to shared tables that are not tenant tables (tenants) stay public.: the normalisation makes both S.
    expect({ table, ...(await shape(schema, table)) }).toEqual({ table, ...shared });
  }
}

/** The identity of everything in a schema: unchanged oids and files mean a sync did nothing. */
async function identity(schema: string) {
  return admin(
    `select c.relname, c.relfilenode,
            array(select oid::text from pg_constraint where conrelid = c.oid order by 1) as constraints,
            array(select oid::text from pg_policy where polrelid = c.oid order by 1) as policies,
            array(select oid::text from pg_trigger where tgrelid = c.oid order by 1) as triggers,
            array(select indexrelid::text from pg_index where indrelid = c.oid order by 1) as indexes,
            c.relacl::text as acl,
            array(select attname || ':' || coalesce(attacl::text, '') || ':' || atttypid || ':' || attnotnull from pg_attribute
                   where attrelid = c.oid and attnum > 0 and not attisdropped order by attnum) as columns
       from pg_class c where c.relnamespace = $1::regnamespace and c.relkind = 'r' order by 1`,
    [schema],
  );
}

describe('schema sync converges every enterprise schema on the shared tables', () => {
  test('dropped columns, changed types, SET/DROP NOT NULL, changed defaults, revoked grants, dropped and changed policies reach every tenant schema', async () => {
    // An earlier migration added these; the sync that followed gave them to every tenant schema.
    await sharedMigration([
      "alter table agents add column legacy_note text not null default 'x'",
      'alter table tasks add column priority smallint',
      "create policy tasks_legacy_select on tasks for select to fleetgate_owner using (status = 'SUCCEEDED')",
      'create policy tasks_priority_select on tasks for select to fleetgate_owner using (priority > 0)',
    ]);
    expect((await migrateWithReport(gw.database.adminUrl, log)).tenantSchemas).toEqual({ synced: [schemaA, schemaB].sort(), failed: [] });
    await expectInStep(schemaA);

    // The migration under test changes what 0008's sync never propagated.
    await sharedMigration([
      'alter table agents drop column legacy_note', // a dropped column
      // A changed type under a policy that reads the column: the policy must go first, here and in each schema.
      'drop policy tasks_priority_select on tasks',
      'alter table tasks alter column priority type integer', // a changed type
      'create policy tasks_priority_select on tasks for select to fleetgate_owner using (priority > 1)',
      'alter table tasks alter column priority set default 5', // a changed default
      'alter table tasks alter column priority set not null', // SET NOT NULL
      'alter table tasks alter column created_by drop not null', // DROP NOT NULL
      "alter table agents alter column description set default 'none'",
      'alter table api_keys alter column created_at drop default',
      'revoke update on tasks from fleetgate_app', // a revoked table-wide grant
      'revoke update (revoked_at) on support_grants from fleetgate_app', // a revoked column grant
      'drop policy tasks_legacy_select on tasks', // a dropped policy
      'drop policy tasks_expire_select on tasks', // a changed policy
      "create policy tasks_expire_select on tasks for select to fleetgate_owner using (deadline is not null and status = 'QUEUED')",
      'alter table tasks drop constraint tasks_status_check', // a changed check
      "alter table tasks add constraint tasks_status_check check (status in ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED'))",
    ]);
    // The tenant schemas are behind until the sync runs; the app role still holds UPDATE there.
    expect(await admin(`select has_table_privilege('fleetgate_app', '${schemaA}.tasks', 'UPDATE') as update`)).toEqual([{ update: true }]);

    const report = await migrateWithReport(gw.database.adminUrl, log);
    expect(report.tenantSchemas).toEqual({ synced: [schemaA, schemaB].sort(), failed: [] });
    await expectInStep(schemaA);
    await expectInStep(schemaB);
    expect(await admin(`select has_table_privilege('fleetgate_app', '${schemaA}.tasks', 'UPDATE') as update`)).toEqual([{ update: false }]);
    expect(
      await admin(`select has_column_privilege('fleetgate_app', '${schemaB}.support_grants', 'revoked_at', 'UPDATE') as update`),
    ).toEqual([{ update: false }]);
    expect(
      await admin(`select count(*)::int as n from pg_policies where schemaname = $1 and policyname = 'tasks_legacy_select'`, [schemaA]),
    ).toEqual([{ n: 0 }]);

    // Idempotent: a schema in step is left exactly as it is.
    const before = await identity(schemaA);
    expect((await migrateWithReport(gw.database.adminUrl, log)).tenantSchemas.failed).toEqual([]);
    expect(await identity(schemaA)).toEqual(before);

    // The tenant's rows survived and it goes on working.
    expect(expectNoErrors(await gw.execute(ListAgents, { first: 10 }, { token: ownerTokenA })).agents.edges).toHaveLength(1);
  }, 120_000);

  test('a schema whose rows cannot take the change is rolled back and reported; the others converge', async () => {
    await sharedMigration(['alter table agents add column rank integer']);
    expect((await migrateWithReport(gw.database.adminUrl, log)).tenantSchemas.failed).toEqual([]);
    // Tenant A has a row the shared migration's backfill could not reach.
    await admin(`update ${schemaA}.agents set rank = null`);
    await admin(`update ${schemaB}.agents set rank = 1`);
    await sharedMigration(['update agents set rank = 0 where rank is null', 'alter table agents alter column rank set not null']);

    const report = await migrateWithReport(gw.database.adminUrl, log);
    expect(report.tenantSchemas.synced).toEqual([schemaB]);
    expect(report.tenantSchemas.failed).toEqual([{ schema: schemaA, error: expect.stringMatching(/rank.*null|null.*rank/i) }]);
    await expectInStep(schemaB);
    // A was rolled back whole: still nullable, as before the run.
    expect(
      await admin(
        `select is_nullable from information_schema.columns where table_schema = $1 and table_name = 'agents' and column_name = 'rank'`,
        [schemaA],
      ),
    ).toEqual([{ is_nullable: 'YES' }]);

    // Once its rows are fixed, the next run converges it too.
    await admin(`update ${schemaA}.agents set rank = 0 where tenant_id = $1`, [tenantA]);
    expect((await migrateWithReport(gw.database.adminUrl, log)).tenantSchemas).toEqual({ synced: [schemaA, schemaB].sort(), failed: [] });
    await expectInStep(schemaA);
  }, 120_000);
});
