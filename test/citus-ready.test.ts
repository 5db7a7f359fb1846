import { afterAll, beforeAll, expect, test } from 'vitest';
import { adminQuery, createTestDatabase } from './support/database.ts';

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
 * Primary keys without tenant_id. Each of these tables already has a unique `(id, tenant_id)` (or
 * the agent's composite key) that every foreign key uses, so the fix is one migration that makes
 * that the primary key; it is not written yet (no migration number was reserved for it). Until it
 * lands, `create_distributed_table` refuses these tables: the schema is NOT Citus-ready here.
 */
const PRIMARY_KEYS_TO_WIDEN: Record<string, string> = {
  agent_credentials: 'pk (id): unique (id, tenant_id) exists and is what references use',
  agent_memory: 'pk (id): rows are found by (tenant_id, agent_id, key), already unique',
  agent_memory_keys: 'pk (agent_id): one key per agent; (agent_id, tenant_id) would do',
  agents: 'pk (id): unique (id, tenant_id) exists and is what every child table references',
  api_keys: 'pk (id): unique (id, tenant_id) exists',
  audit_events: 'pk (id): the chain is keyed by the unique (tenant_id, seq)',
  handoffs: 'pk (id): read only under the tenant and agent',
  jobs: 'pk (id): and claim_job takes the next job across tenants (see docs/scale-out.md, limits)',
  memory_key_escrow: 'pk (agent_id): one escrow per agent',
  memory_purges: 'pk (agent_id): one pending purge per agent',
  oidc_connections: 'pk (id): unique (id, tenant_id) exists',
  sign_in_links: 'pk (id): unique (id, tenant_id) exists',
  support_grants: 'pk (id): unique (id, tenant_id) exists',
  tasks: 'pk (id): unique (id, tenant_id) exists',
  user_sessions: 'pk (id): unique (id, tenant_id) exists and is what refresh tokens reference',
  users: 'pk (id): unique (id, tenant_id) exists and is what every child table references',
  workspace_file_grants: 'pk (file_id, agent_id): both foreign keys already carry tenant_id',
  workspace_files: 'pk (id): unique (id, tenant_id) exists',
};

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

test('every tenant table’s primary key includes tenant_id, except the listed ones', async () => {
  const missing = (await constraints())
    .filter((c) => c.distributed && c.kind === 'p' && !c.columns.includes(distributionColumn(c.table)))
    .map((c) => c.table);
  expect(missing.sort()).toEqual(Object.keys(PRIMARY_KEYS_TO_WIDEN).sort());
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
