import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { adminQuery, createTestDatabase } from './support/database.ts';

/** What the database itself guarantees, read from the catalog of a freshly migrated database. */
let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

const query = async (sql: string) => (await adminQuery(db.adminUrl, sql)).rows;

test('the app role is not superuser, cannot bypass RLS, create roles or databases', async () => {
  expect(await query("select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = 'fleetgate_app'")).toEqual([
    { rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false },
  ]);
});

test('the app role owns nothing: no table, function, type or schema', async () => {
  const owned = await query(`
    with app as (select oid from pg_roles where rolname = 'fleetgate_app')
    select 'class' as kind, relname as name from pg_class, app where relowner = app.oid
    union all select 'proc', proname from pg_proc, app where proowner = app.oid
    union all select 'type', typname from pg_type, app where typowner = app.oid
    union all select 'schema', nspname from pg_namespace, app where nspowner = app.oid`);
  expect(owned).toEqual([]);
});

test('the app role cannot create objects in the public schema', async () => {
  expect(await query("select has_schema_privilege('fleetgate_app', 'public', 'CREATE') as can")).toEqual([{ can: false }]);
});

test('every table with a tenant_id, and tenants itself, has RLS enabled and forced with a policy per command', async () => {
  const tables = await query(`
    select c.relname as table, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
           array(select distinct p.cmd from pg_policies p where p.tablename = c.relname order by 1) as commands
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r'
      and (c.relname = 'tenants' or exists (select from information_schema.columns col
           where col.table_schema = 'public' and col.table_name = c.relname and col.column_name = 'tenant_id'))
    order by 1`);
  expect(tables.map((t) => t.table)).toEqual([
    'agent_credentials',
    'agent_memory',
    'agent_memory_keys',
    'agents',
    'api_keys',
    'audit_checkpoints',
    'audit_events',
    'client_app_versions',
    'client_apps',
    'handoffs',
    'jobs',
    'memory_key_escrow',
    'memory_purges',
    'oidc_connections',
    'oidc_identities',
    'oidc_token_uses',
    'session_refresh_tokens',
    'sign_in_links',
    'support_grants',
    'tasks',
    'tenant_deletions',
    'tenant_sharing_keys',
    'tenants',
    'user_sessions',
    'users',
    'workspace_file_grants',
    'workspace_files',
  ]);
  for (const table of tables) {
    expect(table, table.table).toMatchObject({ enabled: true, forced: true });
    expect(table.commands, table.table).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
  }
});

test('every policy keys on the transaction-local settings, with USING and WITH CHECK where they apply', async () => {
  const policies = await query("select tablename, cmd, qual, with_check from pg_policies where roles <> '{fleetgate_owner}' order by 1, 2");
  for (const policy of policies) {
    const expression = `${policy.qual ?? ''} ${policy.with_check ?? ''}`;
    // Tenant rows key on the tenant setting; only tenant metadata (tenants, tenant_deletions) also admits operator transactions.
    // platform_oidc_connections, the platform client apps and the isolation canary's history hold no tenant's rows: operators' metadata, like tenants.
    const operatorTables = [
      'tenants',
      'tenant_deletions',
      'platform_oidc_connections',
      'platform_client_apps',
      'platform_client_app_versions',
      'isolation_canary_runs',
    ];
    const keys = operatorTables.includes(policy.tablename) ? /app_current_tenant\(\)|app_is_operator\(\)/ : /app_current_tenant\(\)/;
    expect(expression, `${policy.tablename} ${policy.cmd}`).toMatch(keys);
    if (policy.cmd !== 'INSERT') expect(policy.qual, `${policy.tablename} ${policy.cmd} USING`).not.toBeNull();
    if (policy.cmd === 'INSERT' || policy.cmd === 'UPDATE')
      expect(policy.with_check, `${policy.tablename} ${policy.cmd} CHECK`).not.toBeNull();
  }
});

test('the only policies without the tenant setting are owner-only, for the SECURITY DEFINER functions that find work', async () => {
  // claim_job() and runtime_agents() run as fleetgate_owner (NOLOGIN) and return ids only; the app role gets no such policy.
  expect(
    await query("select tablename, policyname, cmd, roles::text from pg_policies where qual = 'true' or with_check = 'true' order by 1, 2"),
  ).toEqual([
    // KEK rewrap lists ids of credentials under old key versions through credentials_below_key_version().
    { tablename: 'agent_credentials', policyname: 'agent_credentials_rewrap_select', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    // memory_maintenance_tenants(): tenant ids with expired entries or due purges, nothing else.
    { tablename: 'agent_memory', policyname: 'agent_memory_expired', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    // KEK rewrap lists agent ids of memory keys under old versions through memory_keys_below_key_version().
    { tablename: 'agent_memory_keys', policyname: 'agent_memory_keys_rewrap_select', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    { tablename: 'agents', policyname: 'agents_runtime_select', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    // isolation_canary_outcomes(): when and how the canary's runs ended, for a tenant's request; no replica, no reason.
    { tablename: 'isolation_canary_runs', policyname: 'isolation_canary_runs_outcomes', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    { tablename: 'jobs', policyname: 'jobs_claim_select', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    { tablename: 'jobs', policyname: 'jobs_claim_update', cmd: 'UPDATE', roles: '{fleetgate_owner}' },
    // The live memory key mirror: only the owner's trigger (memory_key_escrow_follow) and restore_tenant_rows() touch it; the app role has no grant.
    { tablename: 'memory_key_escrow', policyname: 'memory_key_escrow_delete', cmd: 'DELETE', roles: '{fleetgate_owner}' },
    { tablename: 'memory_key_escrow', policyname: 'memory_key_escrow_insert', cmd: 'INSERT', roles: '{fleetgate_owner}' },
    { tablename: 'memory_key_escrow', policyname: 'memory_key_escrow_select', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    { tablename: 'memory_key_escrow', policyname: 'memory_key_escrow_update', cmd: 'UPDATE', roles: '{fleetgate_owner}' },
    { tablename: 'memory_purges', policyname: 'memory_purges_due', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    // Sign-in finds the connections of one issuer before any tenant is known, through oidc_connections_of().
    { tablename: 'oidc_connections', policyname: 'oidc_connections_sign_in', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    // platform_oidc_member_tenants(): tenant ids where a signing-in person is a member, nothing else.
    { tablename: 'oidc_identities', policyname: 'oidc_identities_platform_sign_in', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    { tablename: 'platform_oidc_connections', policyname: 'platform_oidc_connections_sign_in', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    // KEK rewrap lists tenant ids of sharing keys under old versions through sharing_keys_below_key_version().
    { tablename: 'tenant_sharing_keys', policyname: 'tenant_sharing_keys_rewrap_select', cmd: 'SELECT', roles: '{fleetgate_owner}' },
    { tablename: 'users', policyname: 'users_platform_sign_in', cmd: 'SELECT', roles: '{fleetgate_owner}' },
  ]);
  expect(
    await query(`select proname, prosecdef, pg_get_userbyid(proowner) as owner from pg_proc
      where proname in ('claim_job', 'runtime_agents', 'memory_maintenance_tenants') order by 1`),
  ).toEqual([
    { proname: 'claim_job', prosecdef: true, owner: 'fleetgate_owner' },
    { proname: 'memory_maintenance_tenants', prosecdef: true, owner: 'fleetgate_owner' },
    { proname: 'runtime_agents', prosecdef: true, owner: 'fleetgate_owner' },
  ]);
});

test('the audit log is append-only for the app role', async () => {
  const [grants] = await query(`select has_table_privilege('fleetgate_app', 'audit_events', 'INSERT') as insert,
    has_table_privilege('fleetgate_app', 'audit_events', 'SELECT') as select,
    has_table_privilege('fleetgate_app', 'audit_events', 'UPDATE') as update,
    has_table_privilege('fleetgate_app', 'audit_events', 'DELETE') as delete,
    has_table_privilege('fleetgate_app', 'audit_events', 'TRUNCATE') as truncate`);
  expect(grants).toEqual({ insert: true, select: true, update: false, delete: false, truncate: false });
});

test('checkpoints are insert-and-select for the app role; grants and tenants change only in the columns it needs', async () => {
  const privileges = await query(`
    select t as table, p as privilege, has_table_privilege('fleetgate_app', t, p) as granted
    from unnest(array['audit_checkpoints', 'support_grants']) t, unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p
    order by 1, 2`);
  expect(privileges.filter((row) => row.granted).map((row) => `${row.table} ${row.privilege}`)).toEqual([
    'audit_checkpoints INSERT',
    'audit_checkpoints SELECT',
    'support_grants INSERT',
    'support_grants SELECT',
  ]);
  const columns = await query(`
    select table_name as table, column_name as column from information_schema.column_privileges
    where grantee = 'fleetgate_app' and privilege_type = 'UPDATE' and table_name in ('tenants', 'support_grants', 'audit_events', 'audit_checkpoints')
    order by 1, 2`);
  // tenants: the lifecycle, limit and quota columns are granted for operator transactions; a tenant
  // transaction may change audit_retention_days, memory_retention_days and task_retention_days only
  // (trigger tenants_guard_columns, tested in freeze, memory-shredding and retention).
  // support_grants.granted_by: a removed member's grants become the remover's (member-lifecycle.service.ts).
  expect(columns).toEqual([
    { table: 'support_grants', column: 'granted_by' },
    { table: 'support_grants', column: 'revoked_at' },
    { table: 'tenants', column: 'audit_retention_days' },
    { table: 'tenants', column: 'frozen_reason' },
    { table: 'tenants', column: 'max_agents' },
    { table: 'tenants', column: 'max_cpu_millis' },
    { table: 'tenants', column: 'max_disk_mb' },
    { table: 'tenants', column: 'max_memory_mb' },
    { table: 'tenants', column: 'memory_max_value_bytes' },
    { table: 'tenants', column: 'memory_retention_days' },
    { table: 'tenants', column: 'rate_limit_per_minute' },
    { table: 'tenants', column: 'sandbox' },
    { table: 'tenants', column: 'status' },
    { table: 'tenants', column: 'task_retention_days' },
    { table: 'tenants', column: 'workspace_mb' },
  ]);
});

test('the audit tables refuse UPDATE, DELETE and TRUNCATE by trigger, and events are chained on insert', async () => {
  const triggers = await query(`
    select tgrelid::regclass::text as table, tgname as name from pg_trigger
    where not tgisinternal and tgrelid::regclass::text in ('audit_events', 'audit_checkpoints') order by 1, 2`);
  expect(triggers).toEqual([
    { table: 'audit_checkpoints', name: 'audit_checkpoints_append_only' },
    { table: 'audit_checkpoints', name: 'audit_checkpoints_no_truncate' },
    { table: 'audit_checkpoints', name: 'tenant_rows_stay_in_their_tier' }, // ensure_tier_guards: no enterprise rows in shared tables
    { table: 'audit_events', name: 'audit_events_append_only' },
    { table: 'audit_events', name: 'audit_events_chain' },
    { table: 'audit_events', name: 'audit_events_no_truncate' },
    { table: 'audit_events', name: 'tenant_rows_stay_in_their_tier' },
  ]);
  // The one deletion path is owned by the owner role, runs as it, and is callable by the app role only.
  expect(
    await query(`select pg_get_userbyid(proowner) as owner, prosecdef as definer,
      has_function_privilege('fleetgate_app', oid, 'EXECUTE') as app, has_function_privilege('public', oid, 'EXECUTE') as public
      from pg_proc where proname = 'audit_drop_through'`),
  ).toEqual([{ owner: 'fleetgate_owner', definer: true, app: true, public: false }]);
});

test('uniques and foreign keys inside tenants include tenant_id', async () => {
  const constraints = await query(`
    select conrelid::regclass::text as table, pg_get_constraintdef(oid) as definition
    from pg_constraint where contype in ('u', 'f') and connamespace = 'public'::regnamespace
      and conrelid::regclass::text not in ('tenants', 'platform_oidc_connections', 'platform_client_apps', 'platform_client_app_versions')
      and confrelid::regclass::text is distinct from 'tenants'
    order by 1, 2`);
  expect(constraints.length).toBeGreaterThan(0);
  for (const constraint of constraints) expect(constraint.definition, constraint.table).toContain('tenant_id');
});

test('tenant_tables_in_fk_order() lists every tenant table once, each after the tenant tables it references', async () => {
  const ordered: string[] = (await query('select public.tenant_tables_in_fk_order()::text[] as ordered'))[0]?.ordered ?? [];
  const tables = (await query('select t::text as t from public.tenant_tables() t')).map((row) => row.t);
  expect([...ordered].sort()).toEqual([...tables].sort());
  const references = (
    await query(`select c.conrelid::regclass::text as child, c.confrelid::regclass::text as parent from pg_constraint c
      where c.contype = 'f' and c.connamespace = 'public'::regnamespace and c.conrelid <> c.confrelid`)
  ).filter(({ child, parent }) => ordered.includes(child) && ordered.includes(parent));
  expect(references.length).toBeGreaterThan(5);
  for (const { child, parent } of references) {
    expect(ordered.indexOf(parent), `${parent} before ${child}`).toBeLessThan(ordered.indexOf(child));
  }
});

test('tenant_tables_in_fk_order() refuses tenant tables whose foreign keys form a cycle', async () => {
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  try {
    await client.query('begin');
    await client.query(`create table cycle_a (id uuid primary key, tenant_id uuid not null, b_id uuid);
      create table cycle_b (id uuid primary key, tenant_id uuid not null, a_id uuid references cycle_a (id));
      alter table cycle_a add foreign key (b_id) references cycle_b (id);
      alter table cycle_a enable row level security; alter table cycle_a force row level security;
      alter table cycle_b enable row level security; alter table cycle_b force row level security;`);
    await expect(client.query('select public.tenant_tables_in_fk_order()')).rejects.toThrow(
      /foreign keys form a cycle among \{cycle_a,cycle_b\}/,
    );
  } finally {
    await client.query('rollback');
    await client.end();
  }
});

test('client apps: published versions never change, only their retirement; platform apps are operators’ alone', async () => {
  const privileges = await query(`
    select t as table, p as privilege from unnest(array['client_apps', 'client_app_versions', 'platform_client_apps',
      'platform_client_app_versions']) t, unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p
    where has_table_privilege('fleetgate_app', t, p) order by 1, 2`);
  expect(privileges.map((row) => `${row.table} ${row.privilege}`)).toEqual([
    'client_app_versions INSERT',
    'client_app_versions SELECT',
    'client_apps INSERT',
    'client_apps SELECT',
    'platform_client_app_versions INSERT',
    'platform_client_app_versions SELECT',
    'platform_client_apps INSERT',
    'platform_client_apps SELECT',
  ]);
  const columns = await query(`select table_name as table, column_name as column from information_schema.column_privileges
    where grantee = 'fleetgate_app' and privilege_type = 'UPDATE' and table_name like '%client_app%' order by 1, 2`);
  expect(columns).toEqual([
    { table: 'client_app_versions', column: 'retired_at' },
    { table: 'platform_client_app_versions', column: 'retired_at' },
  ]);
  expect(
    await query(`select tablename, policyname, cmd, roles::text, qual, with_check from pg_policies
      where tablename like 'platform_client_app%' order by 1`),
  ).toEqual([
    {
      tablename: 'platform_client_app_versions',
      policyname: 'platform_client_app_versions_operator',
      cmd: 'ALL',
      roles: '{fleetgate_app}',
      qual: 'app_is_operator()',
      with_check: 'app_is_operator()',
    },
    {
      tablename: 'platform_client_apps',
      policyname: 'platform_client_apps_operator',
      cmd: 'ALL',
      roles: '{fleetgate_app}',
      qual: 'app_is_operator()',
      with_check: 'app_is_operator()',
    },
  ]);
});

test('the isolation canary history: written by operators’ transactions only, read by tenants through one function', async () => {
  const privileges = await query(`select p as privilege from unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p
    where has_table_privilege('fleetgate_app', 'isolation_canary_runs', p) order by 1`);
  // No UPDATE: a run is a fact; DELETE for the canary's own pruning.
  expect(privileges.map((row) => row.privilege)).toEqual(['DELETE', 'INSERT', 'SELECT']);
  expect(
    await query(
      `select policyname, cmd, roles::text, qual, with_check from pg_policies where tablename = 'isolation_canary_runs' order by 1`,
    ),
  ).toEqual([
    {
      policyname: 'isolation_canary_runs_operator',
      cmd: 'ALL',
      roles: '{fleetgate_app}',
      qual: 'app_is_operator()',
      with_check: 'app_is_operator()',
    },
    { policyname: 'isolation_canary_runs_outcomes', cmd: 'SELECT', roles: '{fleetgate_owner}', qual: 'true', with_check: null },
  ]);
});
