import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AGENT_SETTING, forkForPrincipal, TENANT_SETTING } from '../src/db/request-scope.ts';
import { Handoff, MemoryEntry, WorkspaceFileGrant } from '../src/modules/memory/memory.entity.ts';
import { encodeGlobalId } from '../src/shared/global-id.ts';
import {
  CreateWorkspaceFile,
  GetMemory,
  GrantWorkspaceFile,
  HandoffInbox,
  ListMemory,
  PutMemory,
  SendHandoff,
} from './memory-operations.ts';
import { agentWithToken, b64 } from './memory-support.ts';
import { ADMIN_URL } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';

type Agent = Awaited<ReturnType<typeof agentWithToken>>;

/**
 * Tenant acme has agents A and B; B and C (tenant other) each hold memory, handoffs and grants.
 * Every wall is attacked from A at its sibling B (and at C) with the others removed.
 */
async function seedSiblings(gw: Gateway) {
  const files = new Map<string, string>();
  const acme = await gw.seed.tenant();
  const other = await gw.seed.tenant();
  const a = await agentWithToken(gw, acme);
  const b = await agentWithToken(gw, acme);
  const c = await agentWithToken(gw, other);
  const helper = await agentWithToken(gw, acme);
  for (const [agent, owner] of [
    [a, acme.ownerToken],
    [b, acme.ownerToken],
    [c, other.ownerToken],
  ] as const) {
    expectNoErrors(
      await gw.execute(
        PutMemory,
        { input: { key: `note-${agent.id}`, value: `"secret of ${agent.id}"`, tags: ['t'] } },
        { token: agent.token },
      ),
    );
    const file = expectNoErrors(
      await gw.execute(CreateWorkspaceFile, { input: { name: `f-${agent.id}`, content: `file of ${agent.id}` } }, { token: owner }),
    ).createWorkspaceFile.file;
    files.set(agent.id, Buffer.from(file.id, 'base64').toString().split(':')[1] ?? '');
    expectNoErrors(
      await gw.execute(GrantWorkspaceFile, { input: { fileId: file.id, agentId: agent.globalId, mode: 'READ' } }, { token: owner }),
    );
  }
  expectNoErrors(await gw.execute(SendHandoff, { input: { toAgentId: b.globalId, payload: '"to b"' } }, { token: helper.token }));
  expectNoErrors(await gw.execute(SendHandoff, { input: { toAgentId: a.globalId, payload: '"to a"' } }, { token: helper.token }));
  return { acme, other, a, b, c, bFileId: files.get(b.id) };
}

describe('wall 3 (RLS) alone: raw SQL as the app role under agent A’s settings', () => {
  let gw: Gateway;
  let s: Awaited<ReturnType<typeof seedSiblings>>;
  beforeAll(async () => {
    gw = await startGateway();
    s = await seedSiblings(gw);
  });
  afterAll(() => gw?.close());

  async function asAgent<T>(agent: Agent, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: gw.appUrl });
    await client.connect();
    try {
      await client.query('begin');
      await client.query('select set_config($1, $2, true), set_config($3, $4, true)', [
        TENANT_SETTING,
        agent.tenantId,
        AGENT_SETTING,
        agent.id,
      ]);
      const result = await work(client);
      await client.query('rollback');
      return result;
    } finally {
      await client.end();
    }
  }

  test.each([
    ['agent_memory', 'agent_id'],
    ['agent_memory_keys', 'agent_id'],
    ['workspace_file_grants', 'agent_id'],
    ['handoffs', 'agent_id'],
  ])('%s returns only A’s rows', async (table, column) => {
    const rows = await asAgent(s.a, async (client) => (await client.query(`select ${column} as agent from ${table}`)).rows);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.agent === s.a.id)).toBe(true);
  });

  test('workspace_files returns only the file granted to A', async () => {
    const rows = await asAgent(s.a, async (client) => (await client.query('select name from workspace_files')).rows);
    expect(rows).toEqual([{ name: `f-${s.a.id}` }]);
  });

  test('writes aimed at B are refused or touch nothing', async () => {
    const outcome = await asAgent(s.a, async (client) => {
      const attempt = (sql: string, params: unknown[]) =>
        client
          .query('savepoint s')
          .then(() => client.query(sql, params))
          .then((r) => r.rowCount)
          .catch(async (error) => {
            await client.query('rollback to savepoint s');
            return error.code;
          });
      return {
        insertMemory: await attempt(
          "insert into agent_memory (id, tenant_id, agent_id, key, ciphertext, key_id, size_bytes) values (gen_random_uuid(), $1, $2, 'implant', '\\x00000000000000000000000000000000000000000000000000000000000000', gen_random_uuid(), 1)",
          [s.b.tenantId, s.b.id],
        ),
        moveMemory: await attempt('update agent_memory set agent_id = $1', [s.b.id]),
        updateB: await attempt("update agent_memory set key = 'pwned' where agent_id = $1", [s.b.id]),
        deleteB: await attempt('delete from agent_memory where agent_id = $1', [s.b.id]),
        stealKey: await attempt('delete from agent_memory_keys where agent_id = $1', [s.b.id]),
        forgeHandoff: await attempt(
          "insert into handoffs (id, tenant_id, agent_id, from_agent_id, payload) values (gen_random_uuid(), $1, $2, $3, '1')",
          [s.b.tenantId, s.a.id, s.b.id],
        ),
        grantSelf: await attempt(
          "insert into workspace_file_grants (file_id, tenant_id, agent_id, mode) select file_id, tenant_id, $1, 'WRITE' from workspace_file_grants",
          [s.a.id],
        ),
        grantSelfBsFile: await attempt(
          "insert into workspace_file_grants (file_id, tenant_id, agent_id, mode) values ($1, $2, $3, 'WRITE')",
          [s.bFileId, s.a.tenantId, s.a.id],
        ),
        upgradeOwnGrant: await attempt("update workspace_file_grants set mode = 'WRITE'", []),
        dropPurges: await attempt('delete from memory_purges', []),
        writeReadOnlyFile: await attempt("update workspace_files set content = 'pwned'", []),
      };
    });
    expect(outcome).toEqual({
      insertMemory: '42501',
      moveMemory: '42501',
      updateB: 0,
      deleteB: 0,
      stealKey: 0,
      forgeHandoff: '42501',
      grantSelf: '42501', // only members grant, even an agent's own file to itself
      grantSelfBsFile: '42501',
      upgradeOwnGrant: 0,
      dropPurges: 0,
      writeReadOnlyFile: 0, // a READ grant updates nothing
    });
  });

  test('the ORM with both filters off, under A’s principal, still returns only A’s rows', async () => {
    const em = forkForPrincipal(gw.orm, { kind: 'agent', tenantId: s.a.tenantId, agentId: s.a.id, generation: 0 });
    const found = await em.transactional(async (tx) => ({
      memory: await tx.find(MemoryEntry, {}, { filters: false }),
      handoffs: await tx.find(Handoff, {}, { filters: false }),
      grants: await tx.find(WorkspaceFileGrant, {}, { filters: false }),
    }));
    expect(found.memory.map((row) => row.agentId)).toEqual([s.a.id]);
    expect(found.handoffs.map((row) => row.agentId)).toEqual([s.a.id]);
    expect(found.grants.map((row) => row.agentId)).toEqual([s.a.id]);
  });

  test('the ORM refuses a member’s memory query that names no agent (no query spans agents)', async () => {
    const em = forkForPrincipal(gw.orm, { kind: 'user', tenantId: s.a.tenantId, userId: s.a.id, role: 'OWNER' });
    await expect(em.transactional((tx) => tx.find(MemoryEntry, {}))).rejects.toThrow(/No arguments provided for filter/);
  });
});

describe('wall 2 (ORM agent filter) alone: no scopes, RLS bypassed', () => {
  let gw: Gateway;
  let s: Awaited<ReturnType<typeof seedSiblings>>;
  beforeAll(async () => {
    gw = await startGateway({ disableScopeAuth: true, ormUrl: ADMIN_URL });
    s = await seedSiblings(gw);
  });
  afterAll(() => gw?.close());

  test('RLS really is out of the way: the ORM’s connection sees every agent’s memory', async () => {
    const rows = await gw.orm.em.fork().getConnection().execute('select distinct agent_id from agent_memory');
    expect(rows).toHaveLength(3);
  });

  test('A lists, reads and receives only its own', async () => {
    const list = expectNoErrors(await gw.execute(ListMemory, { first: 50 }, { token: s.a.token })).memoryEntries.edges;
    expect(list.map((edge) => edge.node.key)).toEqual([`note-${s.a.id}`]);
    expect(expectNoErrors(await gw.execute(GetMemory, { key: `note-${s.b.id}` }, { token: s.a.token })).memoryEntry).toBeNull();
    const inbox = expectNoErrors(await gw.execute(HandoffInbox, { first: 50 }, { token: s.a.token })).handoffInbox.edges;
    expect(inbox.map((edge) => edge.node.payload)).toEqual(['"to a"']);
  });

  test('through A’s channel too: B’s entry is not found, and A’s write under B’s key name stays A’s', async () => {
    const self = { tenantId: s.a.tenantId, agentId: s.a.id };
    const channel = gw.fleetgate.memoryChannel;
    expect(await channel.handle(self, 'MEMGET', [s.a.token, b64(`note-${s.b.id}`)])).toBe('NONE');
    expect(await channel.handle(self, 'MEMPUT', [s.a.token, b64(`note-${s.b.id}`), b64('"overwrite?"')])).toBe('OK');
    const rows = await gw.orm.em
      .fork()
      .getConnection()
      .execute('select agent_id from agent_memory where key = ? order by agent_id = ?', [`note-${s.b.id}`, s.a.id]);
    expect(rows).toEqual([{ agent_id: s.b.id }, { agent_id: s.a.id }]);
    const theirs = expectNoErrors(await gw.execute(GetMemory, { key: `note-${s.b.id}` }, { token: s.b.token })).memoryEntry;
    expect(theirs?.value).toBe(`"secret of ${s.b.id}"`);
  });
});

describe('wall 1 (scopes) and the per-agent key alone: no ORM filters, RLS bypassed', () => {
  let gw: Gateway;
  let s: Awaited<ReturnType<typeof seedSiblings>>;
  beforeAll(async () => {
    gw = await startGateway({ ormUrl: ADMIN_URL });
    s = await seedSiblings(gw);
    for (const meta of gw.orm.getMetadata().getAll().values()) meta.filters = {};
  });
  afterAll(() => gw?.close());

  test('B’s and C’s entries are never shown to A: rows of their keys are not even loaded, and one relabelled as A’s does not open', async () => {
    const list = expectNoErrors(await gw.execute(ListMemory, { first: 50 }, { token: s.a.token })).memoryEntries.edges;
    expect(list.map((edge) => edge.node.key)).toEqual([`note-${s.a.id}`]);
    // Whoever can write the table can make B's row name A's key: it is then loaded, and opens with no key A has.
    await gw.orm.em
      .fork()
      .getConnection()
      .execute('update agent_memory set key_id = (select key_id from agent_memory_keys where agent_id = ?) where agent_id = ?', [
        s.a.id,
        s.b.id,
      ]);
    const forged = await gw.execute(ListMemory, { first: 50 }, { token: s.a.token });
    expect(forged.errors?.length).toBeGreaterThan(0);
    expect(JSON.stringify(forged)).not.toContain(`secret of ${s.b.id}`);
    expect(JSON.stringify(forged)).not.toContain(`secret of ${s.c.id}`);
    const one = await gw.execute(GetMemory, { key: `note-${s.b.id}` }, { token: s.a.token });
    expect(JSON.stringify(one)).not.toContain(`secret of ${s.b.id}`);
  });
});

describe('the agent token and the rest of the API', () => {
  let gw: Gateway;
  let s: Awaited<ReturnType<typeof seedSiblings>>;
  beforeAll(async () => {
    gw = await startGateway();
    s = await seedSiblings(gw);
  });
  afterAll(() => gw?.close());

  /** The agent's own fields, and the public key that verifies audit reports (public to everyone). */
  const AGENT_FIELDS = new Set([
    'Query.memoryEntry',
    'Query.memoryEntries',
    'Query.handoffInbox',
    'Query.workspaceFile',
    'Query.auditSigningKey',
    'Mutation.putMemory',
    'Mutation.deleteMemory',
    'Mutation.renewAgentToken',
    'Mutation.sendHandoff',
    'Mutation.writeWorkspaceFile',
  ]);
  test('an agent token calls no root field but its own: every other one is FORBIDDEN', async () => {
    const schema = await introspect(gw);
    const fields = schema.types
      .filter((type) => type.name === 'Query' || type.name === 'Mutation')
      .flatMap((type) => (type.fields ?? []).map((field) => ({ root: type.name, field })));
    const names = new Set(fields.map(({ root, field }) => `${root}.${field.name}`));
    for (const name of AGENT_FIELDS) expect(names.has(name)).toBe(true);
    const outcomes: Record<string, unknown> = {};
    for (const { root, field } of fields.filter(({ root, field }) => !AGENT_FIELDS.has(`${root}.${field.name}`))) {
      const variables: Record<string, unknown> = {};
      const defs: string[] = [];
      const args: string[] = [];
      for (const arg of field.args.filter((a) => a.type.kind === 'NON_NULL')) {
        defs.push(`$${arg.name}: ${typeString(arg.type)}`);
        args.push(`${arg.name}: $${arg.name}`);
        variables[arg.name] = sample(arg.type, schema, s.b.globalId);
      }
      const selection = ['SCALAR', 'ENUM'].includes(namedOf(field.type).kind) ? '' : ' { __typename }';
      const query = `${root === 'Query' ? 'query' : 'mutation'}${defs.length ? `(${defs.join(', ')})` : ''} { ${field.name}${args.length ? `(${args.join(', ')})` : ''}${selection} }`;
      // An ID argument of the wrong type is refused before authorization: try each node type until one parses.
      let codes: (string | undefined)[] | undefined;
      for (const typename of ['Agent', 'Tenant', 'ApiKey', 'SupportGrant', 'Task', 'WorkspaceFile', 'User', 'Session']) {
        const typed = JSON.parse(
          JSON.stringify(variables).replaceAll(JSON.stringify(s.b.globalId), JSON.stringify(encodeGlobalId(typename, s.b.id))),
        );
        codes = (await post(gw, s.a.token, query, typed)).errors?.map((error) => error.extensions?.code);
        if (JSON.stringify(codes) !== '["BAD_USER_INPUT"]') break;
      }
      outcomes[`${root}.${field.name}`] = codes;
    }
    expect(Object.keys(outcomes).length).toBeGreaterThan(30);
    expect(Object.entries(outcomes).filter(([, codes]) => JSON.stringify(codes) !== '["FORBIDDEN"]')).toEqual([]);
  });

  test('a frozen tenant refuses its agents too, and unfreezing lets them back', async () => {
    const run = async (token: string, query: string, variables: Record<string, unknown> = {}) => {
      const response = await gw.yoga.fetch('http://gateway.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, body: (await response.json()) as { errors?: { extensions?: { code?: string } }[] } };
    };
    const tenantId = encodeGlobalId('Tenant', s.a.tenantId);
    await gw.operator.freeze(tenantId);
    const frozen = await waitFor(async () => {
      const answer = await run(s.a.token, 'query { memoryEntries(first: 1) { edges { cursor } } }');
      return answer.status === 403 ? answer : undefined;
    });
    expect(frozen.body.errors?.map((error) => error.extensions?.code)).toEqual(['TENANT_FROZEN']);
    expect((await run(s.c.token, 'query { memoryEntries(first: 1) { edges { cursor } } }')).status).toBe(200); // other tenants unaffected
    await gw.operator.unfreeze(tenantId);
    await waitFor(async () =>
      (await run(s.a.token, 'query { memoryEntries(first: 1) { edges { cursor } } }')).status === 200 ? true : undefined,
    );
    expect(errorCodes(await gw.execute(ListMemory, { first: 1 }, { token: s.a.token }))).toEqual([]);
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}
interface Introspection {
  types: {
    name: string;
    kind: string;
    fields: { name: string; type: TypeRef; args: { name: string; type: TypeRef }[] }[] | null;
    inputFields: { name: string; type: TypeRef }[] | null;
    enumValues: { name: string }[] | null;
  }[];
}

async function post(gw: Gateway, token: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await gw.yoga.fetch('http://gateway.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] };
}

/** The schema as an operator sees it through introspection (plain JSON: no second copy of graphql involved). */
async function introspect(gw: Gateway): Promise<Introspection> {
  const operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
  const ref = 'kind name ofType { kind name ofType { kind name ofType { kind name } } }';
  const body = await post(
    gw,
    operator,
    `{ __schema { types { name kind fields { name type { ${ref} } args { name type { ${ref} } } } inputFields { name type { ${ref} } } enumValues { name } } } }`,
  );
  return (body.data as { __schema: Introspection }).__schema;
}

function namedOf(type: TypeRef): TypeRef {
  return type.ofType ? namedOf(type.ofType) : type;
}

function typeString(type: TypeRef): string {
  if (type.kind === 'NON_NULL') return `${typeString(type.ofType as TypeRef)}!`;
  if (type.kind === 'LIST') return `[${typeString(type.ofType as TypeRef)}]`;
  return type.name ?? '';
}

/** A well-formed value of an input type: arguments pass validation, so only authorization can refuse. */
function sample(type: TypeRef, schema: Introspection, agentId: string): unknown {
  if (type.kind === 'NON_NULL') return sample(type.ofType as TypeRef, schema, agentId);
  if (type.kind === 'LIST') return [sample(type.ofType as TypeRef, schema, agentId)];
  const named = schema.types.find((candidate) => candidate.name === type.name);
  if (type.kind === 'ENUM') return named?.enumValues?.[0]?.name;
  if (type.kind === 'INPUT_OBJECT') {
    return Object.fromEntries(
      (named?.inputFields ?? [])
        .filter((field) => field.type.kind === 'NON_NULL')
        .map((field) => [field.name, sample(field.type, schema, agentId)]),
    );
  }
  switch (type.name) {
    case 'ID':
      return agentId;
    case 'Int':
      return 1;
    case 'Boolean':
      return true;
    case 'DateTime':
      return new Date(Date.now() + 3_600_000).toISOString();
    case 'JSONObject':
      return {};
    default:
      return 'x';
  }
}
