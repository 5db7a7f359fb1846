import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Principal } from '../src/auth/principal.ts';
import { findPageRows } from '../src/db/pagination.ts';
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
