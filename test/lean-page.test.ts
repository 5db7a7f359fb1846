import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Principal } from '../src/auth/principal.ts';
import { findPageRows, pageStatement } from '../src/db/pagination.ts';
import { forkForPrincipal } from '../src/db/request-scope.ts';
import { Agent } from '../src/modules/agents/agent.entity.ts';
import { listAgents } from '../src/modules/agents/agent.service.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { ADMIN_URL, adminQuery } from './support/database.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { Agents } from './support/operations.ts';

const PAGE = { limit: 100, inverted: false };

/**
 * `agents(first:)` reads plain rows through `findPageRows` (QueryBuilder + applyFilters) instead of
 * `em.find`. Wall 2 must hold on that path alone: scopes off, RLS bypassed (superuser connection).
 */
describe('the lean page path: wall 2 (ORM filter) alone, without scopes and RLS', () => {
  let gw: Gateway;
  let tokenA: string;
  let tenantA: string;
  let tenantB: string;
  let userA: string;

  beforeAll(async () => {
    gw = await startGateway({ disableScopeAuth: true, ormUrl: ADMIN_URL });
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    await a.agent('a-agent');
    await b.agent('b-agent');
    tokenA = a.ownerToken;
    tenantA = decodeGlobalId(a.id).id;
    tenantB = decodeGlobalId(b.id).id;
    userA = (await gw.orm.em.fork().getConnection().execute<{ id: string }[]>('select id from users where tenant_id = ?', [tenantA]))[0]
      ?.id as string;
  });
  afterAll(() => gw?.close());

  const ownerOfA = (): Principal => ({ kind: 'user', tenantId: tenantA, userId: userA, role: 'OWNER' });
  const inTransaction = <T>(principal: Principal, work: (em: EntityManager) => Promise<T>) =>
    forkForPrincipal(gw.orm, principal).transactional(work);

  test('RLS really is out of the way in this set-up', async () => {
    const rows = await gw.orm.em.fork().getConnection().execute<{ name: string }[]>('select name from agents order by name');
    expect(rows.map((row) => row.name)).toEqual(['a-agent', 'b-agent']);
  });

  test('findPageRows under A returns A’s rows only', async () => {
    const rows = await inTransaction(ownerOfA(), (em) => findPageRows(em, Agent, {}, PAGE));
    expect(rows.map((row) => [row.name, row.tenantId])).toEqual([['a-agent', tenantA]]);
  });

  test('a condition naming B’s tenant is still ANDed with A’s filter: nothing', async () => {
    const rows = await inTransaction(ownerOfA(), (em) => findPageRows(em, Agent, { tenantId: tenantB }, PAGE));
    expect(rows).toEqual([]);
  });

  test('a condition the lean path cannot render is refused, never dropped', async () => {
    for (const where of [{ name: null }, { name: { $like: '%' } }, { $or: [{ name: 'a-agent' }] }, { nosuch: 'x' }]) {
      await expect(inTransaction(ownerOfA(), (em) => findPageRows(em, Agent, where, PAGE))).rejects.toThrow(/unsupported condition/);
    }
    const named = await inTransaction(ownerOfA(), (em) => findPageRows(em, Agent, { name: 'a-agent' }, PAGE));
    expect(named.map((row) => row.name)).toEqual(['a-agent']);
  });

  test('the agents list through the service and through GraphQL holds only A’s agents', async () => {
    const rows = await inTransaction(ownerOfA(), (em) => listAgents({ principal: ownerOfA(), em, requestId: 'test', log: gw.log }, PAGE));
    expect(rows.map((row) => row.name)).toEqual(['a-agent']);
    const { agents } = expectNoErrors(await gw.execute(Agents, { first: 100 }, { token: tokenA }));
    expect(agents.edges.map((edge) => edge.node.name)).toEqual(['a-agent']);
  });

  test('control: with the tenant filter removed as well, the same call returns B’s row, so the filter is what stopped it', async () => {
    const meta = gw.orm.getMetadata().get(Agent);
    const filters = meta.filters;
    meta.filters = {};
    try {
      const rows = await inTransaction(ownerOfA(), (em) => findPageRows(em, Agent, {}, PAGE));
      expect(rows.map((row) => row.name).sort()).toEqual(['a-agent', 'b-agent']);
    } finally {
      meta.filters = filters;
    }
  });

  test('without a tenant (an operator) the query is refused, not run unfiltered', async () => {
    const attempt = inTransaction({ kind: 'operator', operatorId: 'op' }, (em) => findPageRows(em, Agent, {}, PAGE));
    await expect(attempt).rejects.toThrow(/No arguments provided for filter/);
  });
});

describe('lean rows carry what the entities carry', () => {
  let gw: Gateway;
  let tenantA: string;
  let userA: string;

  beforeAll(async () => {
    gw = await startGateway();
    const a = await gw.seed.tenant();
    await a.agent('plain');
    const full = decodeGlobalId((await a.agent('full', { model: 'small', nested: { list: [1, 'two', null] } })).id).id;
    tenantA = decodeGlobalId(a.id).id;
    // Every nullable runtime column filled, as the provisioner and reconciler write them.
    await adminQuery(
      gw.database.adminUrl,
      `update agents set command = array['/agent', '--fast', 'a,b "c"'], container_id = 'c0ffee', runtime_image = 'fleetgate/agent:1',
         started_at = '2026-01-02T03:04:05.678901Z', exit_code = 137, status_reason = 'container was killed: out of memory',
         status = 'FAILED', desired_state = 'STOPPED', memory_mb = 128, cpu_millis = 500 where id = $1`,
      [full],
    );
    userA = (await adminQuery(gw.database.adminUrl, 'select id from users where tenant_id = $1', [tenantA])).rows[0]?.id;
  });
  afterAll(() => gw?.close());

  test('every property of every agent equals the managed entity’s', async () => {
    const principal: Principal = { kind: 'user', tenantId: tenantA, userId: userA, role: 'OWNER' };
    const { rows, entities } = await forkForPrincipal(gw.orm, principal).transactional(async (em) => ({
      rows: await findPageRows(em, Agent, {}, PAGE),
      entities: await em.find(Agent, {}, { orderBy: { id: 'asc' } }),
    }));
    const properties = [...gw.orm.getMetadata().get(Agent).props].map((prop) => prop.name) as (keyof Agent)[];
    const asPlain = (agent: Partial<Record<keyof Agent, unknown>>) => Object.fromEntries(properties.map((name) => [name, agent[name]]));
    expect(rows).toHaveLength(2);
    expect(rows.map(asPlain)).toEqual(entities.map(asPlain));
    expect(rows[1]).toMatchObject({
      command: ['/agent', '--fast', 'a,b "c"'],
      exitCode: 137,
      config: { nested: { list: [1, 'two', null] } },
    });
    expect(rows[1]?.startedAt).toBeInstanceOf(Date);
  });
});

/**
 * Issue 24: the hot read (a tenant's agents: id, name, status) is answered from agents_tenant_page
 * alone, which includes those columns (migrations/0038): an index-only scan reads one index page or
 * two where a plain index scan reads one heap page per agent (a tenant's agents lie on as many pages,
 * created over time). The plan is Postgres's own, for the statement the lean path sends, as the app
 * role under the tenant's RLS, on a table as autovacuum leaves it (pages all-visible).
 */
describe('the agents page is read from the keyset index alone', () => {
  let gw: Gateway;
  let owner: Principal;

  beforeAll(async () => {
    gw = await startGateway();
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    const [tenantA, tenantB] = [decodeGlobalId(a.id).id, decodeGlobalId(b.id).id];
    const users = await adminQuery<{ id: string; tenant_id: string }>(gw.database.adminUrl, 'select id, tenant_id from users');
    const ownerOf = (tenant: string) => users.rows.find((row) => row.tenant_id === tenant)?.id as string;
    // Enough rows that the planner reads an index at all: 20 agents of A among 2,000 of B.
    for (const [tenant, count] of [
      [tenantA, 20],
      [tenantB, 2_000],
    ] as const) {
      await adminQuery(
        gw.database.adminUrl,
        `insert into agents (id, tenant_id, name, image, created_by)
         select gen_random_uuid(), $1, 'agent-' || n, 'fleetgate/agent:1', 'USER:' || $2 from generate_series(1, $3::int) as n`,
        [tenant, ownerOf(tenant), count],
      );
    }
    await adminQuery(gw.database.adminUrl, 'vacuum analyze agents');
    owner = { kind: 'user', tenantId: tenantA, userId: ownerOf(tenantA), role: 'OWNER' };
  });
  afterAll(() => gw?.close());

  /** The scan of `agents` in the executed plan of the page's statement for `properties`, and the rows it returned. */
  async function pageScan(properties: string[]): Promise<{ node: Record<string, unknown>; rows: number }> {
    return forkForPrincipal(gw.orm, owner).transactional(async (em) => {
      const statement = await pageStatement(em, Agent, {}, { limit: 21, inverted: false }, properties);
      const [explained] = await em.execute<{ 'QUERY PLAN': { Plan: PlanNode }[] }[]>(
        `explain (analyze, costs off, format json) ${statement.sql}`,
        statement.params,
      );
      const found = scanOf(explained?.['QUERY PLAN'][0]?.Plan, 'agents');
      if (!found) throw new Error(`no scan of agents in ${JSON.stringify(explained)}`);
      return { node: found, rows: Number(found['Actual Rows']) };
    });
  }

  test('id, name and status: an index-only scan of agents_tenant_page that visits no heap page', async () => {
    const { node, rows } = await pageScan(['id', 'name', 'status']);
    expect(node).toMatchObject({ 'Node Type': 'Index Only Scan', 'Index Name': 'agents_tenant_page', 'Heap Fetches': 0 });
    expect(rows).toBe(20);
  });

  test('control: a field the index does not hold (description) reads the heap, through the same index', async () => {
    const { node, rows } = await pageScan(['id', 'name', 'description']);
    expect(node).toMatchObject({ 'Node Type': 'Index Scan', 'Index Name': 'agents_tenant_page' });
    expect(rows).toBe(20);
  });
});

type PlanNode = Record<string, unknown> & { Plans?: PlanNode[] };

function scanOf(node: PlanNode | undefined, relation: string): PlanNode | undefined {
  if (!node) return undefined;
  if (node['Relation Name'] === relation) return node;
  for (const child of node.Plans ?? []) {
    const found = scanOf(child, relation);
    if (found) return found;
  }
  return undefined;
}
