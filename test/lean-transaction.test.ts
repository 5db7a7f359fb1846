import type { PostgreSqlConnection } from '@mikro-orm/postgresql';
import { parse } from 'graphql';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Principal } from '../src/auth/principal.ts';
import { leanOperationOf } from '../src/db/lean-transaction.ts';
import { findPageRows } from '../src/db/pagination.ts';
import { forkForPrincipal } from '../src/db/request-scope.ts';
import { Agent } from '../src/modules/agents/agent.entity.ts';
import { compiledDocuments } from '../src/request/use-compiled-reads.ts';
import { decodeGlobalId } from '../src/shared/global-id.ts';
import { graphql } from './gql/index.ts';
import { ADMIN_URL, adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { VerifyAuditLog } from './support/operations.ts';

const AgentNames = graphql(`
  query AgentNames($first: Int) {
    agents(first: $first) { edges { node { id name status } } }
  }
`);

const AgentPage = graphql(`
  query AgentPage($first: Int, $after: String) {
    agents(first: $first, after: $after) {
      __typename
      edges { cursor agent: node { __typename id label: name status } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
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
    const lean = (source: string) => leanOperationOf(parse(source), undefined) === 'query';
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

  test('a page of own agents, again and again on the same prepared statements, its document compiled once', async () => {
    const compiledBefore = compiledDocuments();
    for (let i = 0; i < 8; i++) {
      const { agents } = expectNoErrors(await gw.execute(AgentNames, { first: 100 }, { token: tokenA }));
      expect(agents.edges.map((edge) => edge.node.name)).toEqual(['a-one', 'a-two']);
    }
    const { agents } = expectNoErrors(await gw.execute(AgentNames, { first: 1 }, { token: tokenA }));
    expect(agents.edges.map((edge) => edge.node.name)).toEqual(['a-one']);
    expect(compiledDocuments()).toBe(compiledBefore + 1);
  });

  test('the compiled read answers a whole page as GraphQL does: cursors, page info, aliases, typenames, variables', async () => {
    const answer = await gw.execute(AgentPage, { first: 1 }, { token: tokenA });
    const { agents } = expectNoErrors(answer);
    const [edge] = agents.edges;
    expect(agents.__typename).toBe('QueryAgentsConnection');
    expect(edge).toEqual({
      cursor: expect.any(String),
      agent: { __typename: 'Agent', id: expect.any(String), label: 'a-one', status: 'PROVISIONING' },
    });
    expect(decodeGlobalId(edge?.agent.id ?? '')).toEqual({ typename: 'Agent', id: expect.any(String) });
    expect(agents.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: edge?.cursor, endCursor: edge?.cursor });
    const next = expectNoErrors(await gw.execute(AgentPage, { first: 1, after: agents.pageInfo.endCursor }, { token: tokenA }));
    expect(next.agents.edges.map((each) => each.agent.label)).toEqual(['a-two']);
    expect(next.agents.pageInfo).toMatchObject({ hasNextPage: false });
    // A malformed cursor is refused, with nothing rendered.
    const refused = await gw.execute(AgentPage, { first: 1, after: 'not a cursor' }, { token: tokenA });
    expect(errorCodes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(JSON.stringify(refused)).not.toContain('a-two');
  });

  test('a selection the lean path does not serve goes through the ORM transaction, uncompiled, and still answers', async () => {
    const compiledBefore = compiledDocuments();
    const { agents } = expectNoErrors(await gw.execute(AgentsWithRuntime, { first: 100 }, { token: tokenA }));
    expect(compiledDocuments()).toBe(compiledBefore);
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

const RenameAgent = graphql(`
  mutation RenameAgent($input: UpdateAgentInput!) {
    updateAgent(input: $input) { agent { id name } }
  }
`);

const UpdateAgentMemory = graphql(`
  mutation UpdateAgentMemory($input: UpdateAgentInput!) {
    updateAgent(input: $input) { agent { id runtime { memoryMb } } }
  }
`);

/** Texts of the statements the lean path prepared on the ORM pool's idle connections. */
async function leanStatementTexts(gw: Gateway): Promise<string[]> {
  const pool = (await (gw.orm.em.getConnection() as PostgreSqlConnection).getNativeClient()) as unknown as pg.Pool & {
    _clients: { connection: { parsedStatements: Record<string, string> } }[];
  };
  return pool._clients.flatMap((client) =>
    Object.entries(client.connection.parsedStatements).flatMap(([name, text]) => (name.startsWith('fg_') ? [text] : [])),
  );
}

async function agentNamed(gw: Gateway, id: string): Promise<string | undefined> {
  const rows = await adminQuery(gw.database.adminUrl, 'select name from agents where id = $1', [decodeGlobalId(id).id]);
  return rows.rows[0]?.name;
}

async function updateEvents(gw: Gateway, agentId: string): Promise<{ outcome: string; detail: unknown; tenant_id: string }[]> {
  const rows = await adminQuery(
    gw.database.adminUrl,
    "select outcome, detail, tenant_id from audit_events where action in ('agent.update', 'Mutation.updateAgent') and target_id = $1 order by seq",
    [decodeGlobalId(agentId).id],
  );
  return rows.rows as { outcome: string; detail: unknown; tenant_id: string }[];
}

describe('the lean write: which mutations take it', () => {
  const lean = (source: string, variables: Record<string, unknown> = {}) => leanOperationOf(parse(source), undefined, variables);
  const rename = (input: string, selection = 'agent { id name }') =>
    `mutation($v: UpdateAgentInput!, $n: String, $e: Boolean) { updateAgent(input: ${input}) { ${selection} } }`;

  test('updateAgent of row fields, answered from the row, does', () => {
    expect(lean(rename('{ id: "x", name: "n", description: "d" }'))).toBe('mutation');
    expect(lean(rename('$v'), { v: { id: 'x', name: 'n', config: { a: 1 } } })).toBe('mutation');
    expect(lean(rename('$v'), { v: { id: 'x', name: 'n', egress: null } })).toBe('mutation');
    expect(lean(rename('{ id: "x", name: $n, egress: $e }'), { n: 'n', e: null })).toBe('mutation');
  });

  test('a change with effects beyond the row, an answer beyond the row, or a second field does not', () => {
    expect(lean(rename('{ id: "x", egress: true }'))).toBeUndefined();
    expect(lean(rename('$v'), { v: { id: 'x', name: 'n', memoryMb: 128 } })).toBeUndefined();
    expect(lean(rename('$v'), { v: { id: 'x', image: 'fleetgate/agent:2' } })).toBeUndefined();
    // A variable left out may have a default: counted as set.
    expect(lean(rename('{ id: "x", name: $n, egress: $e }'), { n: 'n' })).toBeUndefined();
    expect(lean(rename('{ id: "x", name: "n" }', 'agent { id runtime { memoryMb } }'))).toBeUndefined();
    expect(lean(`${rename('{ id: "x", name: "n" }', 'agent { ...A }')} fragment A on Agent { id }`)).toBeUndefined();
    expect(
      lean(
        'mutation { a: updateAgent(input: { id: "x", name: "a" }) { agent { id } } b: updateAgent(input: { id: "y", name: "b" }) { agent { id } } }',
      ),
    ).toBeUndefined();
    expect(lean('mutation { deleteAgent(id: "x") { deletedAgentId } }')).toBeUndefined();
  });
});

/**
 * Each wall alone on the lean write, attacking from A at B's agent. Wall 1 needs the transaction to
 * stay open until the operation's answer is known: the scope refuses B's row only after the UPDATE
 * returned it, and the write must then keep nothing.
 */
describe('the lean write: each wall alone', () => {
  test('wall 2 (ORM filter) alone: A’s rename of B’s agent matches no row; with the filter gone too, it would have', async () => {
    const gw = await startGateway({ disableScopeAuth: true, ormUrl: ADMIN_URL });
    try {
      const a = await gw.seed.tenant();
      const b = await gw.seed.tenant();
      const agentB = (await b.agent('b-agent')).id;
      const refused = await gw.execute(RenameAgent, { input: { id: agentB, name: 'pwned' } }, { token: a.ownerToken });
      expect(errorCodes(refused)).toEqual(['NOT_FOUND']);
      expect(await agentNamed(gw, agentB)).toBe('b-agent');
      expect((await leanStatementTexts(gw)).some((text) => text.startsWith('update "agents"'))).toBe(true);

      const meta = gw.orm.getMetadata().get(Agent);
      const filters = meta.filters;
      meta.filters = {};
      try {
        expectNoErrors(await gw.execute(RenameAgent, { input: { id: agentB, name: 'renamed-by-a' } }, { token: a.ownerToken }));
        expect(await agentNamed(gw, agentB)).toBe('renamed-by-a');
      } finally {
        meta.filters = filters;
      }
    } finally {
      await gw.close();
    }
  });

  test('wall 1 (scopes) alone: the UPDATE reaches B’s row, the scope refuses it, and the rollback keeps nothing', async () => {
    const gw = await startGateway({ ormUrl: ADMIN_URL }); // superuser: RLS bypassed
    try {
      for (const meta of gw.orm.getMetadata().getAll().values()) meta.filters = {};
      const a = await gw.seed.tenant();
      const b = await gw.seed.tenant();
      const agentB = (await b.agent('b-agent')).id;
      const before = await updateEvents(gw, agentB);
      const refused = await gw.execute(RenameAgent, { input: { id: agentB, name: 'pwned' } }, { token: a.ownerToken });
      expect(errorCodes(refused)).toEqual(['FORBIDDEN']);
      expect(JSON.stringify(refused)).not.toContain('pwned');
      expect((await leanStatementTexts(gw)).some((text) => text.startsWith('update "agents"'))).toBe(true);
      expect(await agentNamed(gw, agentB)).toBe('b-agent');
      expect((await updateEvents(gw, agentB)).filter((event) => event.outcome === 'SUCCESS')).toEqual(
        before.filter((event) => event.outcome === 'SUCCESS'),
      );
    } finally {
      await gw.close();
    }
  });

  test('wall 3 (RLS) alone: with the filter gone and scopes off, the app role’s UPDATE still sees no row of B', async () => {
    const gw = await startGateway({ disableScopeAuth: true });
    try {
      for (const meta of gw.orm.getMetadata().getAll().values()) meta.filters = {};
      const a = await gw.seed.tenant();
      const b = await gw.seed.tenant();
      const agentB = (await b.agent('b-agent')).id;
      expect(errorCodes(await gw.execute(RenameAgent, { input: { id: agentB, name: 'pwned' } }, { token: a.ownerToken }))).toEqual([
        'NOT_FOUND',
      ]);
      expect(await agentNamed(gw, agentB)).toBe('b-agent');
    } finally {
      await gw.close();
    }
  });
});

describe('the lean write under every wall', () => {
  let gw: Gateway;
  let a: Awaited<ReturnType<Gateway['seed']['tenant']>>;
  let first: string;
  let second: string;

  beforeAll(async () => {
    gw = await startGateway();
    a = await gw.seed.tenant();
    first = (await a.agent('first')).id;
    second = (await a.agent('second')).id;
  });
  afterAll(() => gw?.close());

  test('a rename answers from the row, with its audit event on the chain, in a transaction of its own statements', async () => {
    const { updateAgent } = expectNoErrors(
      await gw.execute(RenameAgent, { input: { id: first, name: 'first-renamed', description: 'now lean' } }, { token: a.ownerToken }),
    );
    expect(updateAgent.agent).toEqual({ id: first, name: 'first-renamed' });
    expect(await agentNamed(gw, first)).toBe('first-renamed');
    const events = await updateEvents(gw, first);
    expect(events).toEqual([{ outcome: 'SUCCESS', detail: { fields: ['name', 'description'] }, tenant_id: decodeGlobalId(a.id).id }]);
    const { verifyAuditLog } = expectNoErrors(await gw.execute(VerifyAuditLog, {}, { token: a.ownerToken }));
    expect(verifyAuditLog.intact).toBe(true);
    const texts = await leanStatementTexts(gw);
    expect(texts.some((text) => text.startsWith('update "agents" set "name" = $1, "description" = $2, "updated_at" = $3 where'))).toBe(
      true,
    );
    expect(texts.some((text) => text.startsWith('insert into audit_events'))).toBe(true);
  });

  test('a taken name is a CONFLICT that keeps nothing: no change, no SUCCESS event', async () => {
    const response = await gw.execute(RenameAgent, { input: { id: second, name: 'first-renamed' } }, { token: a.ownerToken });
    expect(errorCodes(response)).toEqual(['CONFLICT']);
    expect(await agentNamed(gw, second)).toBe('second');
    expect(await updateEvents(gw, second)).toEqual([]);
  });

  test('a change with effects takes the ORM path and still answers', async () => {
    const { updateAgent } = expectNoErrors(
      await gw.execute(UpdateAgentMemory, { input: { id: second, memoryMb: 96 } }, { token: a.ownerToken }),
    );
    expect(updateAgent.agent.runtime.memoryMb).toBe(96);
  });

  test('a revoked token renames nothing: 401, no change, no event', async () => {
    const admin = await a.member('ADMIN');
    await adminQuery(gw.database.adminUrl, "update users set status = 'SUSPENDED' where id = $1", [decodeGlobalId(admin.id).id]);
    const response = await gw.execute(RenameAgent, { input: { id: second, name: 'by-suspended' } }, { token: admin.token });
    expect(response.status).toBe(401);
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(await agentNamed(gw, second)).toBe('second');
  });
});
