import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { forkForPrincipal, TENANT_SETTING } from '../src/db/request-scope.ts';
import { Agent } from '../src/modules/agents/agent.entity.ts';
import { compiledDocuments } from '../src/request/use-compiled-reads.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { ADMIN_URL } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { AgentById, Agents, DeleteAgent, NodeById, UpdateAgent } from './support/operations.ts';

/**
 * Each wall must hold alone. These tests take walls away and attack from tenant A at tenant B.
 */
describe('wall 2 (ORM filter) holds without wall 1 (scopes) and wall 3 (RLS)', () => {
  let gw: Gateway;
  let tokenA: string;
  let agentB: string;

  beforeAll(async () => {
    // Scopes off, and the ORM connects as the superuser, which bypasses RLS even when FORCEd.
    gw = await startGateway({ disableScopeAuth: true, ormUrl: ADMIN_URL });
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    await a.agent('a-agent');
    tokenA = a.ownerToken;
    agentB = (await b.agent('b-agent')).id;
  });
  afterAll(() => gw?.close());

  test('RLS really is out of the way in this set-up', async () => {
    const rows = await gw.orm.em.fork().getConnection().execute<{ name: string }[]>('select name from agents order by name');
    expect(rows.map((row) => row.name)).toEqual(['a-agent', 'b-agent']);
  });

  test('reads of B’s agent by id find nothing', async () => {
    expect(errorCodes(await gw.execute(AgentById, { id: agentB }, { token: tokenA }))).toEqual(['NOT_FOUND']);
    expect(expectNoErrors(await gw.execute(NodeById, { id: agentB }, { token: tokenA })).node).toBeNull();
  });

  test('the list holds only A’s agents', async () => {
    const { agents } = expectNoErrors(await gw.execute(Agents, { first: 100 }, { token: tokenA }));
    expect(agents.edges.map((edge) => edge.node.name)).toEqual(['a-agent']);
  });

  test('updates and deletes of B’s agent find nothing and change nothing', async () => {
    expect(errorCodes(await gw.execute(UpdateAgent, { input: { id: agentB, name: 'pwned' } }, { token: tokenA }))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await gw.execute(DeleteAgent, { id: agentB }, { token: tokenA }))).toEqual(['NOT_FOUND']);
    const rows = await gw.orm.em.fork().getConnection().execute("select name from agents where name = 'b-agent'");
    expect(rows).toHaveLength(1);
  });
});

describe('wall 1 (scopes) holds without wall 2 (ORM filter) and wall 3 (RLS)', () => {
  let gw: Gateway;
  let tokenA: string;
  let agentB: string;

  beforeAll(async () => {
    gw = await startGateway({ ormUrl: ADMIN_URL }); // superuser: RLS bypassed
    for (const meta of gw.orm.getMetadata().getAll().values()) meta.filters = {}; // the tenant filter removed
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    await a.agent('a-agent');
    tokenA = a.ownerToken;
    agentB = (await b.agent('b-secret-agent')).id;
  });
  afterAll(() => gw?.close());

  test('with both lower walls gone, B’s agent is loaded but never rendered to A', async () => {
    const byId = await gw.execute(AgentById, { id: agentB }, { token: tokenA });
    expect(errorCodes(byId)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(byId)).not.toContain('b-secret-agent');

    // The list now holds B's agent too: the whole field fails closed rather than render it. The
    // list runs compiled (src/request/use-compiled-reads.ts): the scopes decide there as well.
    const compiledBefore = compiledDocuments();
    const list = await gw.execute(Agents, { first: 100 }, { token: tokenA });
    expect(compiledDocuments()).toBe(compiledBefore + 1);
    expect(errorCodes(list)).toContain('FORBIDDEN');
    expect(JSON.stringify(list)).not.toContain('b-secret-agent');
  });
});

describe('wall 3 (RLS) holds without walls 1 and 2', () => {
  let gw: Gateway;
  let tenantA: string;
  let tenantB: string;
  let agentB: string;
  const tables = ['tenants', 'users', 'agents', 'api_keys', 'audit_events'];

  beforeAll(async () => {
    gw = await startGateway();
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    await a.agent();
    await a.apiKey();
    await b.apiKey();
    tenantA = decodeGlobalId(a.id).id;
    tenantB = decodeGlobalId(b.id).id;
    agentB = decodeGlobalId((await b.agent()).id).id;
  });
  afterAll(() => gw?.close());

  /** A raw connection as the app role: no resolvers, no ORM. */
  async function asAppRole<T>(tenantId: string | null, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: gw.appUrl });
    await client.connect();
    try {
      await client.query('begin');
      if (tenantId !== null) await client.query('select set_config($1, $2, true)', [TENANT_SETTING, tenantId]);
      const result = await work(client);
      await client.query('rollback');
      return result;
    } finally {
      await client.end();
    }
  }

  test('the ORM with its tenant filter switched off still returns only A’s rows', async () => {
    const em = forkForPrincipal(gw.orm, { kind: 'user', tenantId: tenantA, userId: tenantA, role: 'OWNER' });
    const agents = await em.transactional((tx) => tx.find(Agent, {}, { filters: false }));
    expect(agents.length).toBeGreaterThan(0);
    expect(agents.every((agent) => agent.tenantId === tenantA)).toBe(true);
  });

  test.each(tables)('a raw select on %s under A’s setting returns no row of B', async (table) => {
    const column = table === 'tenants' ? 'id' : 'tenant_id';
    const rows = await asAppRole(tenantA, async (client) => (await client.query(`select ${column} as tenant from ${table}`)).rows);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.tenant === tenantA)).toBe(true);
  });

  test.each(tables)('without any setting, %s returns zero rows', async (table) => {
    const rows = await asAppRole(null, async (client) => (await client.query(`select * from ${table}`)).rows);
    expect(rows).toEqual([]);
  });

  test.each(tables)('with an empty setting, %s returns zero rows instead of failing', async (table) => {
    const rows = await asAppRole('', async (client) => (await client.query(`select * from ${table}`)).rows);
    expect(rows).toEqual([]);
  });

  test('an insert carrying B’s tenant_id is refused', async () => {
    const attempt = asAppRole(tenantA, (client) =>
      client.query("insert into agents (id, tenant_id, name, image, created_by) values (gen_random_uuid(), $1, 'implant', 'x', 'USER:x')", [
        tenantB,
      ]),
    );
    await expect(attempt).rejects.toMatchObject({ code: '42501' });
  });

  test('an update moving A’s row into B is refused', async () => {
    const attempt = asAppRole(tenantA, (client) => client.query('update agents set tenant_id = $1', [tenantB]));
    await expect(attempt).rejects.toMatchObject({ code: '42501' });
  });

  test('updates and deletes aimed at B’s rows touch nothing', async () => {
    const counts = await asAppRole(tenantA, async (client) => ({
      updated: (await client.query("update agents set name = 'pwned' where id = $1", [agentB])).rowCount,
      deleted: (await client.query('delete from agents where id = $1', [agentB])).rowCount,
      tenants: await client.query("update tenants set name = 'pwned' where id = $1", [tenantB]).catch((error) => error.code),
    }));
    expect(counts).toEqual({ updated: 0, deleted: 0, tenants: '42501' }); // the app role may not even update tenants
  });

  test('the gateway’s ORM connects as the app role', async () => {
    const [row] = await gw.orm.em.fork().getConnection().execute('select current_user as role');
    expect(row).toEqual({ role: 'fleetgate_app' });
  });
});

describe('pooled connections carry no tenant into the next request', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({ poolSize: 1 });
  });
  afterAll(() => gw?.close());

  test('after a request for A, the same (only) connection has no tenant setting', async () => {
    const a = await gw.seed.tenant();
    await a.agent();
    expectNoErrors(await gw.execute(Agents, { first: 5 }, { token: a.ownerToken }));
    const connection = gw.orm.em.fork().getConnection();
    const [setting] = await connection.execute(
      "select coalesce(current_setting('app.tenant_id', true), '') as tenant, pg_backend_pid() as pid",
    );
    const [again] = await connection.execute('select pg_backend_pid() as pid, count(*)::int as agents from agents');
    expect(setting?.tenant).toBe('');
    expect(again).toEqual({ pid: setting?.pid, agents: 0 });
  });

  test('the next anonymous request on that connection sees nothing', async () => {
    const a = await gw.seed.tenant();
    await a.agent();
    expectNoErrors(await gw.execute(Agents, { first: 5 }, { token: a.ownerToken }));
    expect(errorCodes(await gw.execute(Agents, { first: 5 }))).toEqual(['UNAUTHENTICATED']);
  });
});

test('control: a session-level setting would leak through the pool, which is why the gateway never uses one', async () => {
  const pool = new pg.Pool({ connectionString: ADMIN_URL, max: 1 });
  try {
    await pool.query("select set_config('app.tenant_id', 'leaked', false)");
    const { rows } = await pool.query("select current_setting('app.tenant_id', true) as tenant");
    expect(rows[0].tenant).toBe('leaked');
  } finally {
    await pool.end();
  }
});
