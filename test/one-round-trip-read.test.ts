import type { PostgreSqlConnection } from '@mikro-orm/postgresql';
import { parse } from 'graphql';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Principal } from '../src/auth/principal.ts';
import { isLeanRead } from '../src/db/lean-read.ts';
import { findPageRows } from '../src/db/pagination.ts';
import { forkForPrincipal } from '../src/db/request-scope.ts';
import { Agent } from '../src/modules/agents/agent.entity.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { graphql } from './gql/index.ts';
import { ADMIN_URL, adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';

const AgentNames = graphql(`
  query AgentNames($first: Int) {
    agents(first: $first) { edges { node { id name status } } }
  }
`);

const AgentsWithRuntime = graphql(`
  query AgentsWithRuntime($first: Int) {
    agents(first: $first) { edges { node { id name runtime { memoryMb } } } }
  }
`);

/** Names of the statements the lean path prepared on the ORM pool's idle connections: proof it served the read. */
async function leanStatementsPrepared(gw: Gateway): Promise<string[]> {
  const pool = (await (gw.orm.em.getConnection() as PostgreSqlConnection).getNativeClient()) as unknown as pg.Pool & {
    _clients: { connection: { parsedStatements: Record<string, string> } }[];
  };
  return pool._clients.flatMap((client) => Object.keys(client.connection.parsedStatements)).filter((name) => name.startsWith('fg_'));
}

describe('one round trip for a read: which operations take the lean path', () => {
  test('a query of agents with fields of their rows does; fragments, other fields, mutations and mixes do not', () => {
    const lean = (source: string) => isLeanRead(parse(source), undefined);
    expect(lean('{ agents(first: 20) { edges { cursor node { id name status createdAt } } pageInfo { hasNextPage } } }')).toBe(true);
    expect(lean('{ agents(first: 20) { edges { node { id runtime { memoryMb } } } } }')).toBe(false);
    expect(lean('{ agents(first: 20) { edges { node { id logs } } } }')).toBe(false);
    expect(lean('{ agents(first: 20) { edges { node { ...A } } } } fragment A on Agent { id }')).toBe(false);
    expect(lean('{ agents(first: 20) { edges { node { id } } } me { id } }')).toBe(false);
    expect(lean('mutation { deleteAgent(id: "x") { deletedAgentId } }')).toBe(false);
  });
});

/**
 * Wall 2 on the lean path alone: scopes off, RLS bypassed (the ORM connects as the superuser). The
 * page SQL sent in the one-message transaction carries the ORM tenant filter's condition; removing
 * that filter lets the other tenant's row through, so the filter is what stopped it.
 */
describe('the one-round-trip read: wall 2 (ORM filter) alone, without scopes and RLS', () => {
  let gw: Gateway;
  let tokenA: string;

  beforeAll(async () => {
    gw = await startGateway({ disableScopeAuth: true, ormUrl: ADMIN_URL });
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    await a.agent('a-agent');
    await b.agent('b-agent');
    tokenA = a.ownerToken;
  });
  afterAll(() => gw?.close());

  test('RLS really is out of the way in this set-up', async () => {
    const rows = await gw.orm.em.fork().getConnection().execute<{ name: string }[]>('select name from agents order by name');
    expect(rows.map((row) => row.name)).toEqual(['a-agent', 'b-agent']);
  });

  test('A’s lean read returns A’s agents only, and it was served by the lean path', async () => {
    const { agents } = expectNoErrors(await gw.execute(AgentNames, { first: 100 }, { token: tokenA }));
    expect(agents.edges.map((edge) => edge.node.name)).toEqual(['a-agent']);
    // Its entry: the liveness check, or the settings alone once this replica remembers the token as live.
    expect((await leanStatementsPrepared(gw)).filter((name) => name.startsWith('fg_enter_user_')).length).toBeGreaterThan(0);
  });

  test('control: with the tenant filter removed as well, the same read returns B’s row, so the filter is what stopped it', async () => {
    const meta = gw.orm.getMetadata().get(Agent);
    const filters = meta.filters;
    meta.filters = {};
    try {
      const { agents } = expectNoErrors(await gw.execute(AgentNames, { first: 100 }, { token: tokenA }));
      expect(agents.edges.map((edge) => edge.node.name).sort()).toEqual(['a-agent', 'b-agent']);
    } finally {
      meta.filters = filters;
    }
  });
});

describe('the one-round-trip read under every wall', () => {
  let gw: Gateway;
  let tokenA: string;
  let tenantA: string;
  let userA: string;

  beforeAll(async () => {
    gw = await startGateway();
    const a = await gw.seed.tenant();
    const b = await gw.seed.tenant();
    await a.agent('a-one');
    await a.agent('a-two');
    await b.agent('b-agent');
    tokenA = a.ownerToken;
    tenantA = decodeGlobalId(a.id).id;
    userA = (await adminQuery(gw.database.adminUrl, 'select id from users where tenant_id = $1', [tenantA])).rows[0]?.id;
  });
  afterAll(() => gw?.close());

  test('a page of own agents, again and again on the same prepared statements', async () => {
    for (let i = 0; i < 8; i++) {
      const { agents } = expectNoErrors(await gw.execute(AgentNames, { first: 100 }, { token: tokenA }));
      expect(agents.edges.map((edge) => edge.node.name)).toEqual(['a-one', 'a-two']);
    }
    const { agents } = expectNoErrors(await gw.execute(AgentNames, { first: 1 }, { token: tokenA }));
    expect(agents.edges.map((edge) => edge.node.name)).toEqual(['a-one']);
  });

  test('a selection the lean path does not serve goes through the ORM transaction and still answers', async () => {
    const { agents } = expectNoErrors(await gw.execute(AgentsWithRuntime, { first: 100 }, { token: tokenA }));
    expect(agents.edges.map((edge) => [edge.node.name, edge.node.runtime?.memoryMb])).toEqual([
      ['a-one', 64],
      ['a-two', 64],
    ]);
  });

  test('the page reads only the properties asked for (and id), all of them when none are named', async () => {
    const principal: Principal = { kind: 'user', tenantId: tenantA, userId: userA, role: 'OWNER' };
    const page = { limit: 100, inverted: false };
    const { some, all } = await forkForPrincipal(gw.orm, principal).transactional(async (em) => ({
      some: await findPageRows(em, Agent, {}, page, ['name', 'tenantId']),
      all: await findPageRows(em, Agent, {}, page),
    }));
    expect(some.map((row) => Object.keys(row).sort())).toEqual([
      ['id', 'name', 'tenantId'],
      ['id', 'name', 'tenantId'],
    ]);
    expect(Object.keys(all[0] ?? {}).length).toBeGreaterThan(10);
  });
  test('a page of nothing still checks the token: a suspended user is refused even for first: 0', async () => {
    expectNoErrors(await gw.execute(AgentNames, { first: 0 }, { token: tokenA }));
    await adminQuery(gw.database.adminUrl, "update users set status = 'SUSPENDED' where id = $1", [userA]);
    for (const first of [0, 100]) {
      const response = await gw.execute(AgentNames, { first }, { token: tokenA });
      expect(response.status).toBe(401);
      expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
      expect(response.data ?? null).toBeNull();
    }
  });
});
