import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/shared/logger.ts';
import { ADMIN_URL, adminQuery, createTestDatabase, urlForDatabase } from './support/database.ts';

/**
 * Keeps the shared (tier 2) schema ready for Citus with `tenant_id` as the distribution column
 * (docs/scale-out.md). Citus distributes a table only when each primary key and unique constraint
 * contains the distribution column, and keeps a foreign key between distributed tables only when it
 * joins them on it (so both rows sit on one node). `tenants` is checked as if distributed by its
 * `id` (the stricter case; docs/scale-out.md makes it a reference table). Tables without a tenant_id
 * become reference tables (copied to every node), and a reference table may not point at a
 * distributed one.
 *
 * The catalog of a freshly migrated database is checked against those rules; what breaks them is
 * listed below with a line each. A new table or constraint that breaks them fails this test.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

/**
 * Primary keys without tenant_id that are meant to stay so: none. Migration 0034 widened the last
 * eighteen (agents, users, tasks, audit_events, jobs, …) to their old columns followed by tenant_id.
 * `jobs` is claimed across tenants by claim_job, but that is a query (docs/scale-out.md, limits), not
 * a key: its key carries tenant_id like every other.
 */
const PRIMARY_KEYS_WITHOUT_TENANT: Record<string, string> = {};

/** Unique constraints without tenant_id that are meant to stay so (none today). */
const UNIQUES_WITHOUT_TENANT: Record<string, string> = {};

interface Constraint {
  table: string;
  name: string;
  kind: 'p' | 'u' | 'f' | 'x';
  columns: string[];
  references: string | null;
  /** Pairs of this table's column and the referenced table's column, in key order. */
  pairs: [string, string][] | null;
  distributed: boolean;
  referencesDistributed: boolean;
}

async function constraints(): Promise<Constraint[]> {
  const { rows } = await adminQuery<Constraint>(
    db.adminUrl,
    `with distributed as (
       select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'p')
         and (c.relname = 'tenants' or exists (select from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped))
     )
     select t.relname as table, con.conname as name, con.contype as kind,
       array(select a.attname from unnest(con.conkey) with ordinality k(num, pos)
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num order by k.pos)::text[] as columns,
       r.relname as references,
       case when con.contype = 'f' then
         (select json_agg(json_build_array(a.attname, b.attname) order by k.pos)
          from unnest(con.conkey, con.confkey) with ordinality k(num, refnum, pos)
          join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num
          join pg_attribute b on b.attrelid = con.confrelid and b.attnum = k.refnum)
       end as pairs,
       t.oid in (select oid from distributed) as distributed,
       coalesce(r.oid in (select oid from distributed), false) as "referencesDistributed"
     from pg_constraint con
     join pg_class t on t.oid = con.conrelid join pg_namespace n on n.oid = t.relnamespace
     left join pg_class r on r.oid = con.confrelid
     where n.nspname = 'public' and con.contype in ('p', 'u', 'f', 'x')
     order by 1, 2`,
  );
  return rows;
}

/** The distribution column of a distributed table: `id` for tenants, `tenant_id` for the rest. */
const distributionColumn = (table: string) => (table === 'tenants' ? 'id' : 'tenant_id');

test('the catalog query sees the tenant tables and their keys (the rules below are not checked on nothing)', async () => {
  const all = await constraints();
  const tables = new Set(all.filter((c) => c.distributed).map((c) => c.table));
  expect(tables.size).toBeGreaterThanOrEqual(25);
  expect(tables).toContain('tenants');
  expect(all.find((c) => c.name === 'workspace_file_grants_file_id_tenant_id_fkey')?.pairs).toEqual([
    ['file_id', 'id'],
    ['tenant_id', 'tenant_id'],
  ]);
});

test('every tenant table’s primary key includes tenant_id', async () => {
  const missing = (await constraints())
    .filter((c) => c.distributed && c.kind === 'p' && !c.columns.includes(distributionColumn(c.table)))
    .map((c) => c.table);
  expect(missing.sort()).toEqual(Object.keys(PRIMARY_KEYS_WITHOUT_TENANT).sort());
});

test('every unique or exclusion constraint on a tenant table includes tenant_id', async () => {
  const missing = (await constraints())
    .filter((c) => c.distributed && (c.kind === 'u' || c.kind === 'x') && !c.columns.includes(distributionColumn(c.table)))
    .map((c) => c.name);
  expect(missing).toEqual(Object.keys(UNIQUES_WITHOUT_TENANT));
});

test('every foreign key between tenant tables joins them on tenant_id; none points from a shared table into tenant rows', async () => {
  const all = await constraints();
  const foreignKeys = all.filter((c) => c.kind === 'f');
  expect(foreignKeys.length).toBeGreaterThan(30);
  const crossNode = foreignKeys
    .filter((c) => c.distributed && c.referencesDistributed)
    .filter((c) => !c.pairs?.some(([from, to]) => from === 'tenant_id' && to === distributionColumn(c.references ?? '')))
    .map((c) => c.name);
  expect(crossNode).toEqual([]);
  const fromShared = foreignKeys.filter((c) => !c.distributed && c.referencesDistributed).map((c) => c.name);
  expect(fromShared).toEqual([]);
});

test('tenant_id is never nullable (Citus refuses a row without its distribution column)', async () => {
  const { rows } = await adminQuery(
    db.adminUrl,
    "select table_name from information_schema.columns where table_schema = 'public' and column_name = 'tenant_id' and is_nullable = 'YES'",
  );
  expect(rows).toEqual([]);
});

/** A schema's keys and foreign keys on the tenant tables, schema names left out: a tenant schema's compare with the shared tables'. */
async function keysOf(url: string, schema: string): Promise<string[]> {
  const { rows } = await adminQuery<{ line: string }>(
    url,
    `select t.relname || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid) as line
       from pg_constraint c join pg_class t on t.oid = c.conrelid
      where t.relnamespace = $1::regnamespace and c.contype in ('p', 'u', 'f') and t.relname in (select public.tenant_tables())
      order by 1`,
    [schema],
  );
  return rows.map((row) => row.line.replaceAll(`${schema}.`, '').replaceAll('public.', ''));
}

test('an upgrade through 0034 widens the keys of an existing enterprise schema too, and takes a key index built beforehand', async () => {
  const name = `fleetgate_citus_${randomBytes(6).toString('hex')}`;
  await adminQuery(ADMIN_URL, `CREATE DATABASE ${name}`);
  const url = urlForDatabase(ADMIN_URL, name);
  const log = createLogger({ level: 'silent' });
  try {
    await migrate(url, log, { until: '0032_trusted_documents' });
    // An enterprise tenant's schema as the release before 0034 made it (the owner creates it), with its old keys.
    const schema = `tenant_${randomUUID().replaceAll('-', '')}`;
    const owner = new pg.Client({ connectionString: url });
    await owner.connect();
    await owner.query('SET ROLE fleetgate_owner');
    await owner.query('SELECT sync_tenant_schema($1::uuid)', [schema.slice('tenant_'.length)]);
    await owner.end();
    expect(await keysOf(url, schema)).toContain('agents agents_pkey PRIMARY KEY (id)');
    // The operator's way around the lock of a large table: the key's index built beforehand, concurrently.
    await adminQuery(url, 'CREATE UNIQUE INDEX CONCURRENTLY agents_pkey_0034 ON agents (id, tenant_id)');
    const prebuilt = (await adminQuery<{ oid: number }>(url, "select 'agents_pkey_0034'::regclass::oid as oid")).rows[0]?.oid;

    await migrate(url, log);
    expect((await adminQuery<{ oid: number }>(url, "select 'agents_pkey'::regclass::oid as oid")).rows[0]?.oid).toBe(prebuilt);
    const shared = await keysOf(url, 'public');
    expect(shared).toContain('agents agents_pkey PRIMARY KEY (id, tenant_id)');
    expect(shared).toContain(
      'tasks tasks_agent_id_tenant_id_fkey FOREIGN KEY (agent_id, tenant_id) REFERENCES agents(id, tenant_id) ON DELETE CASCADE',
    );
    // The tenant schema has exactly the shared tables' keys and foreign keys (its own tables referenced), after the sync.
    expect(await keysOf(url, schema)).toEqual(shared);
  } finally {
    await adminQuery(ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}, 120_000);
