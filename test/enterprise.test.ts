import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { appUrlFor } from '../src/db/database-urls.ts';
import { migrateWithReport } from '../src/db/migrate.ts';
import { tenantSchemaName, tenantSearchPath } from '../src/db/request-scope.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { createLogger } from '../src/shared/logger.ts';
import { adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { CreateEnterpriseTenant, ListAgents } from './support/operations.ts';

type Seeded = Awaited<ReturnType<Gateway['seed']['tenant']>>;

let gw: Gateway;
let operatorToken: string;
let a: Seeded; // enterprise
let b: Seeded; // enterprise
let s: Seeded; // standard
const uuidOf = (globalId: string) => decodeGlobalId(globalId).id;
const admin = (sql: string, params: unknown[] = []) => adminQuery(gw.database.adminUrl, sql, params).then((r) => r.rows);

beforeAll(async () => {
  gw = await startGateway();
  operatorToken = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
  a = await gw.seed.tenant('ent-a', { enterpriseBy: operatorToken });
  b = await gw.seed.tenant('ent-b', { enterpriseBy: operatorToken });
  s = await gw.seed.tenant('std-s');
  await a.agent('a-agent');
  await b.agent('b-private');
  await s.agent('s-agent');
});
afterAll(() => gw?.close());

/** Everything sync_tenant_schema() copies, by name, for one table: what a tenant schema must match. */
async function shape(schema: string, table: string) {
  const rel = `${schema}.${table}`;
  const [row] = await admin(
    `select
       array(select attname || ':' || format_type(atttypid, atttypmod) || ':' || attnotnull from pg_attribute
              where attrelid = $1::regclass and attnum > 0 and not attisdropped order by attname) as columns,
       array(select conname from pg_constraint where conrelid = $1::regclass and conname <> 'tenant_schema_pin' order by 1) as constraints,
       array(select polname || ':' || polcmd::text from pg_policy where polrelid = $1::regclass order by 1) as policies,
       array(select tgname from pg_trigger where tgrelid = $1::regclass and not tgisinternal order by 1) as triggers,
       array(select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = $1::regclass order by 1) as indexes,
       (select relforcerowsecurity from pg_class where oid = $1::regclass) as forced`,
    [rel],
  );
  return row;
}

describe('onboarding an enterprise tenant', () => {
  test('creates its schema with every tenant table of public, discovered from the catalog, shaped like the shared one', async () => {
    const tables = (await admin('select tenant_tables() as t')).map((r) => r.t as string);
    // Generic discovery: every forced-RLS table with tenant_id, less the documented exclusions.
    const expected = await admin(`
      select c.relname as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'r' and c.relforcerowsecurity
         and exists (select from pg_attribute where attrelid = c.oid and attname = 'tenant_id')
         and c.relname not in (select table_name from tenant_schema_exclusions) order by 1`);
    expect(tables).toEqual(expected.map((r) => r.t));
    expect(tables).toEqual(expect.arrayContaining(['users', 'agents', 'api_keys', 'audit_events', 'tasks']));
    const schema = tenantSchemaName(uuidOf(a.id));
    for (const table of tables) {
      expect({ table, ...(await shape(schema, table)) }).toEqual({ table, ...(await shape('public', table)) });
    }
  });

  test('the tenant’s rows live only in its schema: owner, agents and its audit chain', async () => {
    const tenantId = uuidOf(a.id);
    const schema = tenantSchemaName(tenantId);
    const count = async (rel: string) => Number((await admin(`select count(*) from ${rel} where tenant_id = $1`, [tenantId]))[0]?.count);
    expect(await count(`${schema}.users`)).toBe(1);
    expect(await count(`${schema}.agents`)).toBe(1);
    expect(await count(`${schema}.audit_events`)).toBeGreaterThanOrEqual(2);
    for (const table of ['users', 'agents', 'audit_events', 'api_keys', 'tasks']) expect(await count(`public.${table}`)).toBe(0);
    // The chain continues inside the schema: seq 1, 2, … with each prev_hash the hash before it.
    const chain = await admin(`select seq, prev_hash, hash from ${schema}.audit_events order by seq`);
    chain.forEach((event, i) => {
      expect(Number(event.seq)).toBe(i + 1);
      if (i > 0) expect(event.prev_hash).toEqual(chain[i - 1]?.hash);
    });
    // Counters on the shared tenants row still follow.
    expect(await admin('select plan, user_count, agent_count from tenants where id = $1', [tenantId])).toEqual([
      { plan: 'ENTERPRISE', user_count: 1, agent_count: 1 },
    ]);
  });

  test('its owner uses the API as any tenant does, and sees only its own agents', async () => {
    const { agents } = expectNoErrors(await gw.execute(ListAgents, { first: 20 }, { token: a.ownerToken }));
    expect(agents.edges.map((e) => e.node.name)).toEqual(['a-agent']);
  });

  test('the reconciler finds agents of both tiers (ids only), through runtime_agents()', async () => {
    const { rows } = await asApp(uuidOf(s.id), (c) => c.query('select agent_tenant_id::text as t from runtime_agents()'));
    expect(new Set(rows.map((r) => r.t))).toEqual(new Set([uuidOf(a.id), uuidOf(b.id), uuidOf(s.id)]));
  });

  test('only operators onboard enterprise tenants', async () => {
    const input = { tenantName: 'nope', owner: { email: 'x@example.com', name: 'X' } };
    const asOwner = await gw.execute(CreateEnterpriseTenant, { input }, { token: s.ownerToken });
    expect(asOwner.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // And below the resolver: the app role cannot create a schema for a tenant outside an operator transaction.
    await expect(asApp(uuidOf(s.id), (c) => c.query('select provision_tenant_schema($1)', [uuidOf(s.id)]))).rejects.toThrow(
      /operators only/,
    );
  });
});

/** A transaction as the gateway's app role, bound to a tenant exactly as a request is (setting and search_path). */
async function asApp<T>(tenantId: string, work: (client: pg.Client) => Promise<T>, url = appUrlFor(gw.database.adminUrl)): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('select set_config($1, $2, true), set_config($3, $4, true)', [
      'app.tenant_id',
      tenantId,
      'search_path',
      tenantSearchPath(tenantId),
    ]);
    return await work(client);
  } finally {
    await client.query('rollback').catch(() => undefined);
    await client.end();
  }
}

describe('tenant A naming tenant B’s schema explicitly', () => {
  const bSchema = () => tenantSchemaName(uuidOf(b.id));
  const insertAgent = (tenantId: string) =>
    `insert into ${bSchema()}.agents (id, tenant_id, name, image, created_by) values (gen_random_uuid(), '${tenantId}', 'planted', 'fleetgate/agent:1', 'x')`;

  test('reads nothing, though B’s schema holds rows (the same answer as for a missing row)', async () => {
    expect(await admin(`select name from ${bSchema()}.agents`)).toEqual([{ name: 'b-private' }]);
    for (const table of ['agents', 'users', 'audit_events']) {
      const { rows } = await asApp(uuidOf(a.id), (c) => c.query(`select * from ${bSchema()}.${table}`));
      expect(rows).toEqual([]);
    }
    // A standard tenant is no closer: its own (absent) schema first, then public; B's schema by name reads nothing.
    const { rows } = await asApp(uuidOf(s.id), (c) => c.query(`select * from ${bSchema()}.agents`));
    expect(rows).toEqual([]);
  });

  test('cannot write there, as itself or posing as B', async () => {
    await expect(asApp(uuidOf(a.id), (c) => c.query(insertAgent(uuidOf(a.id))))).rejects.toThrow(/tenant_schema_pin/);
    await expect(asApp(uuidOf(a.id), (c) => c.query(insertAgent(uuidOf(b.id))))).rejects.toThrow(/row-level security/);
    await expect(
      asApp(uuidOf(a.id), (c) => c.query(`update ${bSchema()}.agents set name = 'taken' returning id`).then((r) => r.rows)),
    ).resolves.toEqual([]);
  });

  test('with the RLS wall removed (a superuser session), the schema pin still refuses A’s rows in B’s schema', async () => {
    await expect(asApp(uuidOf(a.id), (c) => c.query(insertAgent(uuidOf(a.id))), gw.database.adminUrl)).rejects.toThrow(/tenant_schema_pin/);
    // and the ORM wall alone: A's filter (tenant_id = A) over B's schema, which can only hold B's rows, finds nothing.
    const { rows } = await asApp(
      uuidOf(a.id),
      (c) => c.query(`select * from ${bSchema()}.agents where tenant_id = $1`, [uuidOf(a.id)]),
      gw.database.adminUrl,
    );
    expect(rows).toEqual([]);
  });
});

describe('migrate() and tenant schemas', () => {
  test('is idempotent: a second run changes nothing and reports every schema', async () => {
    const schemas = [tenantSchemaName(uuidOf(a.id)), tenantSchemaName(uuidOf(b.id))].sort();
    const before = await shape(schemas[0] ?? '', 'agents');
    const first = await migrateWithReport(gw.database.adminUrl, createLogger({ level: 'silent' }));
    const second = await migrateWithReport(gw.database.adminUrl, createLogger({ level: 'silent' }));
    for (const report of [first, second]) {
      expect(report.applied).toEqual([]);
      expect(report.tenantSchemas).toEqual({ synced: schemas, failed: [] });
    }
    expect(await shape(schemas[0] ?? '', 'agents')).toEqual(before);
  });

  test('a new shared migration flows into every tenant schema; one broken schema is reported, the others migrate', async () => {
    const aSchema = tenantSchemaName(uuidOf(a.id));
    const bSchema = tenantSchemaName(uuidOf(b.id));
    // A later shared migration, as the owner writes them: a column, a check, an index, a policy.
    await admin(`set role fleetgate_owner;
      alter table agents add column nickname text not null default '' check (length(nickname) <= 40);
      create index agents_nickname on agents (tenant_id, nickname);
      create policy agents_no_planted on agents as restrictive for insert with check (name <> 'planted-by-policy');`);
    // B's schema is broken: its agents table belongs to someone else, so the owner cannot alter it.
    await admin(`alter table ${bSchema}.agents owner to postgres`);
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: { write: (line: string) => lines.push(line) } as never });
    const report = await migrateWithReport(gw.database.adminUrl, log);
    expect(report.tenantSchemas.synced).toEqual([aSchema]);
    expect(report.tenantSchemas.failed).toEqual([{ schema: bSchema, error: expect.stringMatching(/must be owner/) }]);
    expect(lines.join('')).toContain(bSchema);
    expect(await shape(aSchema, 'agents')).toEqual(await shape('public', 'agents'));
    // B was rolled back whole, not half-migrated, and still serves its tenant.
    expect((await shape(bSchema, 'agents'))?.columns).not.toEqual(expect.arrayContaining([expect.stringMatching(/^nickname/)]));
    const { agents } = expectNoErrors(await gw.execute(ListAgents, { first: 20 }, { token: b.ownerToken }));
    expect(agents.edges.map((e) => e.node.name)).toEqual(['b-private']);
    // The new policy binds A's schema too.
    await expect(
      asApp(uuidOf(a.id), (c) =>
        c.query(
          `insert into agents (id, tenant_id, name, image, created_by) values (gen_random_uuid(), $1, 'planted-by-policy', 'i', 'x')`,
          [uuidOf(a.id)],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    // Repaired, the next run brings B up to date as well.
    await admin(`alter table ${bSchema}.agents owner to fleetgate_owner`);
    const repaired = await migrateWithReport(gw.database.adminUrl, createLogger({ level: 'silent' }));
    expect(repaired.tenantSchemas).toEqual({ synced: [aSchema, bSchema].sort(), failed: [] });
    expect(await shape(bSchema, 'agents')).toEqual(await shape('public', 'agents'));
  });
});
