import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { recordOutsideRequest } from '../src/modules/audit/audit-trail.ts';
import { encodeGlobalId } from '../src/shared/global-id.ts';
import { uuidOf } from './support/audit.ts';
import { adminQuery } from './support/database.ts';
import { type Gateway, startGateway } from './support/gateway.ts';

let gw: Gateway;
let owner: string;
let tenantUuid: string;

type Body = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** A raw POST as the tenant's owner, for what typed documents cannot carry. */
async function post(body: unknown, headers: Record<string, string> = {}): Promise<Body & { status: number }> {
  const response = await gw.yoga.fetch('http://gateway.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, ...((await response.json()) as Body) };
}

async function eventsSince(seq: number) {
  const { rows } = await adminQuery(
    gw.database.adminUrl,
    'select seq, action, outcome, target_id, detail from audit_events where tenant_id = $1 and seq > $2 order by seq',
    [tenantUuid, seq],
  );
  return rows as { seq: number; action: string; outcome: string; target_id: string | null; detail: Record<string, unknown> }[];
}

async function lastSeq(): Promise<number> {
  const { rows } = await adminQuery(
    gw.database.adminUrl,
    'select coalesce(max(seq), 0)::int as seq from audit_events where tenant_id = $1',
    [tenantUuid],
  );
  return rows[0]?.seq ?? 0;
}

beforeAll(async () => {
  gw = await startGateway();
  const acme = await gw.seed.tenant();
  owner = acme.ownerToken;
  tenantUuid = uuidOf(acme.id);
});
afterAll(() => gw?.close());

const CREATE = 'mutation C($input: CreateAgentInput!) { createAgent(input: $input) { agent { id } } }';

describe('input Postgres cannot carry is refused, named and audited (regression: a NUL answered 500 and left no audit event)', () => {
  test.each([
    ['a NUL in a string input', { name: 'a\u0000b', image: 'fleetgate/agent:1' }, 'createAgent.input.name', 'NUL'],
    ['a lone surrogate in a string input', { name: 'a\ud800', image: 'fleetgate/agent:1' }, 'createAgent.input.name', 'UNPAIRED_SURROGATE'],
    [
      'a NUL in a JSON object key',
      { name: 'ok', image: 'fleetgate/agent:1', config: { nested: { 'k\u0000': 1 } } },
      'createAgent.input.config.nested.k\\u0000',
      'NUL',
    ],
  ])('%s', async (_name, input, field, reason) => {
    const before = await lastSeq();
    const response = await post({ query: CREATE, variables: { input } });
    expect(response.errors?.map((error) => error.extensions)).toEqual([{ code: 'BAD_USER_INPUT', field }]);
    expect(await eventsSince(before)).toEqual([
      expect.objectContaining({ action: 'Mutation.createAgent', outcome: 'DENIED', detail: { code: 'BAD_USER_INPUT', field, reason } }),
    ]);
    const { rows } = await adminQuery(gw.database.adminUrl, "select count(*)::int as n from agents where name <> 'never'");
    expect(rows[0]?.n).toBe(0);
    expect(gw.logs()).not.toMatch(/"level":50/);
  });

  test('a NUL in an id argument is refused and audited', async () => {
    const before = await lastSeq();
    const response = await post({ query: 'query A($id: ID!) { agent(id: $id) { id } }', variables: { id: 'QWdlbnQ6\u0000' } });
    expect(response.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(await eventsSince(before)).toEqual([
      expect.objectContaining({
        action: 'Query.agent',
        outcome: 'DENIED',
        detail: { code: 'BAD_USER_INPUT', field: 'agent.id', reason: 'NUL' },
      }),
    ]);
  });

  test('a global id whose decoded id holds a NUL is a malformed id, audited as a probe', async () => {
    const before = await lastSeq();
    const response = await post({
      query: 'query A($id: ID!) { agent(id: $id) { id } }',
      variables: { id: encodeGlobalId('Agent', '\u0000x') },
    });
    expect(response.errors?.map((error) => [error.message, error.extensions?.code])).toEqual([['Malformed ID', 'BAD_USER_INPUT']]);
    expect(await eventsSince(before)).toEqual([
      expect.objectContaining({
        action: 'Query.agent',
        outcome: 'DENIED',
        detail: { code: 'BAD_USER_INPUT', reason: 'CONTROL_CHARACTER_IN_ID' },
      }),
    ]);
  });

  test('the audit writer escapes what Postgres cannot store instead of losing the event', async () => {
    const principal = { kind: 'user' as const, tenantId: tenantUuid, userId: crypto.randomUUID(), role: 'OWNER' as const };
    const before = await lastSeq();
    await recordOutsideRequest({ orm: gw.orm, log: gw.log }, principal, 'req-1', [
      {
        action: 'Query.agent',
        outcome: 'DENIED',
        targetType: 'Agent',
        targetId: 'x\u0000y',
        detail: { code: 'NOT_FOUND', note: '\ud800' },
      },
    ]);
    expect(await eventsSince(before)).toEqual([
      expect.objectContaining({ target_id: 'x\\u0000y', detail: { code: 'NOT_FOUND', note: '\\ud800' } }),
    ]);
  });
});

describe('every refusal has a code', () => {
  test('a document over the character limit is refused before parsing, with the generic message of the other limits', async () => {
    const long = await post({ query: `# ${'x'.repeat(16_000)}\n{ __typename }` });
    expect(long.errors).toEqual([{ message: 'Syntax Error: Query validation error.', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }]);
    expect(long.data).toBeUndefined();
    const justUnder = await post({ query: `# ${'x'.repeat(9_000)}\n{ __typename }` });
    expect(justUnder).toEqual({ status: 200, data: { __typename: 'Query' } });
  });

  test.each([
    ['depth', `{ ${'me { '.repeat(15)}id${' }'.repeat(15)} }`],
    ['aliases', `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: tenant { id }`).join(' ')} }`],
    ['directives', `{ tenant ${'@include(if: true) '.repeat(25)}{ id } }`],
    ['tokens', `{ tenant { ${'id '.repeat(4_100)} } }`],
  ])('the %s limit answers GRAPHQL_VALIDATION_FAILED without naming the limit', async (_name, query) => {
    const response = await post({ query });
    expect(response.errors).toEqual([
      { message: 'Syntax Error: Query validation error.', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
    ]);
  });

  test('a variable of the wrong type answers BAD_USER_INPUT', async () => {
    for (const first of ['ten', 2 ** 40, 1.5, { a: 1 }]) {
      const response = await post({
        query: 'query Q($first: Int) { agents(first: $first) { edges { node { id } } } }',
        variables: { first },
      });
      expect(response.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    }
  });

  test('a request without the CSRF header answers CSRF_HEADER_MISSING with 403', async () => {
    const response = await gw.yoga.fetch('http://gateway.test/graphql?query=%7B__typename%7D', { method: 'GET' });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      errors: [{ message: 'Required CSRF header(s) not present', extensions: { code: 'CSRF_HEADER_MISSING' } }],
    });
  });
});

describe('found by the property-based tests (test/fuzz.test.ts)', () => {
  test.each(['Node', 'Query', 'String', 'NoSuchType'])('a global id of type %s is a missing node, not a 500', async (typename) => {
    const id = Buffer.from(`${typename}:${crypto.randomUUID()}`).toString('base64');
    const single = await post({ query: 'query N($id: ID!) { node(id: $id) { __typename } }', variables: { id } });
    expect(single.errors?.map((error) => error.extensions?.code) ?? []).not.toContain('INTERNAL_SERVER_ERROR');
    expect(single.data).toEqual({ node: null });
    const many = await post({ query: 'query N($ids: [ID!]!) { nodes(ids: $ids) { __typename } }', variables: { ids: [id, id] } });
    expect(many.data).toEqual({ nodes: [null, null] });
  });

  test.each(['User', 'Agent', 'Tenant', 'ApiKey', 'Task', 'SupportGrant'])(
    'a global id of type %s whose id is not a uuid is a missing node, not a 500',
    async (typename) => {
      const id = Buffer.from(`${typename}:garbage`).toString('base64');
      const single = await post({ query: 'query N($id: ID!) { node(id: $id) { __typename } }', variables: { id } });
      expect(single).toEqual({ status: 200, data: { node: null } });
      const many = await post({ query: 'query N($ids: [ID!]!) { nodes(ids: $ids) { __typename } }', variables: { ids: [id] } });
      expect(many).toEqual({ status: 200, data: { nodes: [null] } });
    },
  );

  test('a DateTime outside the years 1 to 9999 is BAD_USER_INPUT, not a 500', async () => {
    const response = await post({
      query: 'query R($from: DateTime!, $to: DateTime!) { exportAuditReport(from: $from, to: $to) { __typename } }',
      variables: { from: '-132363-04-12T20:03:22.287Z', to: '+064748-10-14T02:47:50.904Z' },
    });
    expect(response.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT', 'BAD_USER_INPUT']);
  });
});

describe('refusals before execution are on the record (regression: coded, but no audit event)', () => {
  /** A raw request as the owner, body sent verbatim. */
  async function raw(body: string, headers: Record<string, string> = {}) {
    const response = await gw.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner}`, ...headers },
      body,
    });
    return { status: response.status, ...((await response.json()) as Body) };
  }
  const PROBE = 'probe-value-\u0007-<script>';

  test.each([
    ['the document character limit', () => post({ query: `# ${PROBE}${'x'.repeat(16_000)}\n{ __typename }` }), 'GRAPHQL_VALIDATION_FAILED'],
    ['the depth limit', () => post({ query: `{ ${'me { '.repeat(15)}id${' }'.repeat(15)} } # ${PROBE}` }), 'GRAPHQL_VALIDATION_FAILED'],
    [
      'the alias limit',
      () => post({ query: `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: tenant { id }`).join(' ')} }` }),
      'GRAPHQL_VALIDATION_FAILED',
    ],
    ['the token limit', () => post({ query: `{ tenant { ${'id '.repeat(4_100)} } }` }), 'GRAPHQL_VALIDATION_FAILED'],
    ['an unparsable document', () => post({ query: `{ tenant { ${PROBE}` }), 'GRAPHQL_PARSE_FAILED'],
    [
      'the cost limit',
      () =>
        post({
          query: `{ ${Array.from({ length: 5 }, (_, i) => `a${i}: agents(first: 100) { edges { node { id name image config status description } } }`).join(' ')} }`,
        }),
      'BAD_USER_INPUT',
    ],
    ['a malformed JSON body', () => raw(`{"query": "${PROBE}`), 'BAD_REQUEST'],
    ['an unknown persisted document', () => post({ documentId: `sha256:${'0'.repeat(64)}` }), 'PERSISTED_QUERY_NOT_IN_LIST'],
  ])(
    '%s: the answer is coded and the tenant’s log holds one DENIED request.refused event with the code only',
    async (_name, send, code) => {
      const since = await lastSeq();
      const response = await send();
      expect(response.errors?.map((error) => error.extensions?.code)).toEqual([code]);
      const events = await eventsSince(since);
      expect(events.map(({ action, outcome, detail }) => ({ action, outcome, detail }))).toEqual([
        { action: 'request.refused', outcome: 'DENIED', detail: { code } },
      ]);
      expect(JSON.stringify(events)).not.toContain('probe-value');
    },
  );

  test('CSRF refusal: recorded for the tenant whose credential came with it', async () => {
    const since = await lastSeq();
    const response = await gw.yoga.fetch('http://gateway.test/graphql?query=%7B__typename%7D', {
      method: 'GET',
      headers: { authorization: `Bearer ${owner}` },
    });
    expect(response.status).toBe(403);
    expect((await eventsSince(since)).map(({ action, detail }) => ({ action, detail }))).toEqual([
      { action: 'request.refused', detail: { code: 'CSRF_HEADER_MISSING' } },
    ]);
  });

  test('an API key sending its own document: PERSISTED_QUERY_ONLY, recorded', async () => {
    const acme = await gw.seed.tenant();
    const key = await acme.apiKey(['AGENTS_READ']);
    const response = await gw.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(403);
    const { rows } = await adminQuery(
      gw.database.adminUrl,
      "select action, outcome, actor_type, detail from audit_events where tenant_id = $1 and action = 'request.refused'",
      [uuidOf(acme.id)],
    );
    expect(rows).toEqual([
      { action: 'request.refused', outcome: 'DENIED', actor_type: 'API_KEY', detail: { code: 'PERSISTED_QUERY_ONLY' } },
    ]);
  });

  test('an anonymous caller has no tenant: a warn line and the metric, no event in any chain', async () => {
    const before = await adminQuery(gw.database.adminUrl, "select count(*)::int as n from audit_events where action = 'request.refused'");
    const response = await gw.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"query": "${PROBE}`,
    });
    expect(response.status).toBe(400);
    const after = await adminQuery(gw.database.adminUrl, "select count(*)::int as n from audit_events where action = 'request.refused'");
    expect(after.rows).toEqual(before.rows);
    expect(gw.logs()).toMatch(
      /"principal":"anonymous","refused":\["BAD_REQUEST"\],"msg":"request refused before execution \(no tenant to audit\)"/,
    );
    expect(gw.logs()).not.toContain('probe-value');
    const metrics = await gw.yoga.fetch('http://gateway.test/metrics', {
      headers: { authorization: `Bearer ${await gw.operator.token()}` },
    });
    expect(await metrics.text()).toMatch(/fleetgate_refused_before_execution_total\{code="BAD_REQUEST",audited="false"\} [1-9]/);
  });
});
