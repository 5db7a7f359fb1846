import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeGlobalId } from '../src/shared/global-id.ts';
import { type Gateway, startGateway } from './support/gateway.ts';

// What issue 18 found trying the API as a new user would (the error contract and connections).
let gw: Gateway;
let owner: string;
let tenantId: string;

type Body = { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

/** Sent as the owner, or anonymously when `token` is null. */
async function send(body: string, token: string | null = owner): Promise<Body & { status: number }> {
  const response = await gw.yoga.fetch('http://gateway.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  return { status: response.status, ...((await response.json()) as Body) };
}
const post = (query: string, variables: Record<string, unknown> = {}) => send(JSON.stringify({ query, variables }));

beforeAll(async () => {
  gw = await startGateway();
  const acme = await gw.seed.tenant();
  owner = acme.ownerToken;
  tenantId = acme.id;
});
afterAll(() => gw?.close());

describe('the error contract', () => {
  test('a body that is not JSON is a 400 BAD_REQUEST that quotes nothing back and names no parser internals', async () => {
    const body = '{"query": "{ __typename }", "variables": {"secret": "fgr_do-not-echo';
    const response = await send(body);
    expect(response).toEqual({
      status: 400,
      errors: [{ message: 'POST body sent invalid JSON.', extensions: { code: 'BAD_REQUEST' } }],
    });
  });

  test('nodes([...]) answers per entry: a non-uuid id beside a good one is a null entry, not a 500 for the list', async () => {
    const garbage = encodeGlobalId('User', 'garbage');
    const missing = encodeGlobalId('Agent', crypto.randomUUID());
    const response = await post('query N($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids: [garbage, missing, tenantId] });
    expect(response).toEqual({ status: 200, data: { nodes: [null, null, { id: tenantId }] } });
  });
});

describe('connections and payloads', () => {
  test('an empty page has null cursors, whether or not it was asked for after a cursor', async () => {
    const agents = await post('{ agents(first: 5) { edges { cursor } pageInfo { startCursor endCursor hasNextPage hasPreviousPage } } }');
    expect(agents.data).toEqual({
      agents: { edges: [], pageInfo: { startCursor: null, endCursor: null, hasNextPage: false, hasPreviousPage: false } },
    });
    const log = (await post('{ auditLog(first: 1) { pageInfo { endCursor } } }')).data as {
      auditLog: { pageInfo: { endCursor: string } };
    };
    const after = await post(
      'query A($after: String) { auditLog(first: 5, after: $after) { edges { cursor } pageInfo { startCursor endCursor } } }',
      {
        after: String(Number(log.auditLog.pageInfo.endCursor) + 1_000),
      },
    );
    expect(after.data).toEqual({ auditLog: { edges: [], pageInfo: { startCursor: null, endCursor: null } } });
  });

  test('signUp answers the tenant as it is: one member, its owner', async () => {
    const response = await send(
      JSON.stringify({
        query:
          'mutation { signUp(input: { tenantName: "counted", owner: { email: "counted@example.com", name: "C" } }) { tenant { memberCount } } }',
      }),
      '',
    );
    expect(response.data).toEqual({ signUp: { tenant: { memberCount: 1 } } });
  });
});
