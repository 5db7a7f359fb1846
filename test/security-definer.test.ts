import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { appUrlFor } from '../src/db/database-urls.ts';
import { adminQuery } from './support/database.ts';
import { type Gateway, startGateway } from './support/gateway.ts';

/**
 * Every SECURITY DEFINER function in every schema (public and each enterprise tenant's), and what
 * is wrong with it: search_path not fixed, or pg_temp not last (unnamed, pg_temp is searched
 * first, so the caller's temporary objects shadow the owner's); EXECUTE open to PUBLIC (a null
 * ACL means the default, which grants it); an owner other than the login-less owner role.
 */
const VIOLATIONS = `
  with owner as (select oid, rolcanlogin from pg_roles where rolname = 'fleetgate_owner'),
  defs as (
    select n.nspname as schema, p.proname as name, p.proowner, p.proacl,
           (select substr(setting, length('search_path=') + 1) from unnest(p.proconfig) setting
             where setting like 'search_path=%') as search_path
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema'))
  select schema, name, problem from (
    select schema, name, 'search_path not set' as problem from defs where search_path is null
    union all
    select schema, name, 'pg_temp not last in search_path (' || search_path || ')' from defs
     where search_path is not null and trim(both ' "' from (regexp_split_to_array(search_path, ','))[array_length(regexp_split_to_array(search_path, ','), 1)]) <> 'pg_temp'
    union all
    select schema, name, 'EXECUTE granted to PUBLIC' from defs
     where proacl is null or exists (select from aclexplode(proacl) a where a.grantee = 0 and a.privilege_type = 'EXECUTE')
    union all
    select schema, name, 'not owned by the login-less owner role' from defs, owner
     where defs.proowner <> owner.oid or owner.rolcanlogin
  ) v order by 1, 2, 3`;

let gw: Gateway;
let tenantSchema: string;

beforeAll(async () => {
  gw = await startGateway();
  const operator = await gw.operator.token();
  await gw.seed.tenant('catalog-enterprise', { enterpriseBy: operator });
  const { rows } = await adminQuery(gw.database.adminUrl, "select nspname from pg_namespace where nspname like 'tenant\\_%' limit 1");
  tenantSchema = rows[0]?.nspname;
});
afterAll(() => gw?.close());

describe('SECURITY DEFINER functions', () => {
  test('an enterprise tenant schema exists, so tenant schemas are part of the catalog checked', () => {
    expect(tenantSchema).toMatch(/^tenant_/);
  });

  test('every one, in every schema, fixes search_path with pg_temp last, is closed to PUBLIC and is owned by the login-less owner', async () => {
    const { rows: all } = await adminQuery(gw.database.adminUrl, 'select count(*)::int as n from pg_proc where prosecdef');
    expect(all[0]?.n).toBeGreaterThan(10);
    expect((await adminQuery(gw.database.adminUrl, VIOLATIONS)).rows).toEqual([]);
  });

  test('the check catches a function that misses any of the three', async () => {
    const client = new pg.Client({ connectionString: gw.database.adminUrl });
    await client.connect();
    try {
      await client.query('begin');
      await client.query(
        `create function ${tenantSchema}.bad_path() returns int language sql security definer set search_path = public as 'select 1'`,
      );
      await client.query('create function public.no_path() returns int language sql security definer as $$ select 1 $$');
      await client.query('alter function public.no_path() owner to fleetgate_owner');
      await client.query('revoke execute on function public.no_path() from public');
      await client.query(`alter function ${tenantSchema}.bad_path() owner to fleetgate_owner`);
      const { rows } = await client.query(VIOLATIONS);
      expect(rows).toEqual(
        [
          { schema: 'public', name: 'no_path', problem: 'search_path not set' },
          { schema: tenantSchema, name: 'bad_path', problem: 'EXECUTE granted to PUBLIC' },
          { schema: tenantSchema, name: 'bad_path', problem: 'pg_temp not last in search_path (public)' },
        ].sort((a, b) => `${a.schema} ${a.name} ${a.problem}`.localeCompare(`${b.schema} ${b.name} ${b.problem}`)),
      );
      await client.query(
        'create function public.by_superuser() returns int language sql security definer set search_path = pg_temp as $$ select 1 $$',
      );
      await client.query('revoke execute on function public.by_superuser() from public');
      const owners = (await client.query(VIOLATIONS)).rows.filter((row) => row.name === 'by_superuser');
      expect(owners).toEqual([{ schema: 'public', name: 'by_superuser', problem: 'not owned by the login-less owner role' }]);
    } finally {
      await client.query('rollback');
      await client.end();
    }
  });

  test("a temporary table of the app role does not shadow claim_job's jobs (regression: search_path without pg_temp last)", async () => {
    const app = new pg.Client({ connectionString: appUrlFor(gw.database.adminUrl) });
    await app.connect();
    try {
      await app.query(`create temp table jobs (id uuid, tenant_id uuid, agent_id uuid, status text, locked_by text, attempts int,
                         updated_at timestamptz, locked_until timestamptz, run_at timestamptz)`);
      const planted = crypto.randomUUID();
      await app.query("insert into pg_temp.jobs values ($1, $1, $1, 'QUEUED', null, 0, now(), null, now() - interval '1 minute')", [
        planted,
      ]);
      const { rows } = await app.query("select job_id::text from claim_job('probe', 30)");
      expect(rows.map((row) => row.job_id)).not.toContain(planted);
    } finally {
      await app.end();
    }
  });
});
