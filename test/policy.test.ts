import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEFAULT_MAX_REQUEST_BYTES } from '../src/server.ts';
import { adminQuery } from './support/database.ts';
import { errorCodes, expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { Agents, CreateAgentRecord, ListAgents, Me, SignUp } from './support/operations.ts';

/** A raw POST, for what typed documents cannot express (hashes, batches, odd headers). */
async function post(gw: Gateway, body: unknown, headers: Record<string, string> = {}) {
  const response = await gw.yoga.fetch('http://gateway.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown> & { errors?: { message: string; extensions?: { code?: string } }[] },
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('trusted documents', () => {
  let gw: Gateway;
  let owner: string;
  let key: string;
  beforeAll(async () => {
    gw = await startGateway({ policy: { mode: 'production' } });
  });
  afterAll(() => gw?.close());

  test('an arbitrary operation from an anonymous caller is refused in production mode', async () => {
    const response = await gw.execute(SignUp, { input: { tenantName: 'x', owner: { email: 'a@b.io', name: 'A' } } });
    expect(response.status).toBe(403);
    expect(errorCodes(response)).toEqual(['PERSISTED_QUERY_ONLY']);
  });

  test('operators may still send arbitrary operations in production mode', async () => {
    const operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
    const response = await post(gw, { query: '{ platformTenants(first: 1) { edges { node { id } } } }' }, bearer(operator));
    expect(response.body.errors).toBeUndefined();
  });

  test('an unknown hash gets PERSISTED_QUERY_NOT_IN_LIST', async () => {
    const response = await post(gw, { documentId: `sha256:${'0'.repeat(64)}` });
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
  });

  test('the cost limit applies to persisted operations too', async () => {
    const strict = await startGateway({ policy: { maxCost: 500 } });
    try {
      const acme = await strict.seed.tenant();
      const { key } = await acme.apiKey();
      expectNoErrors(await strict.execute(ListAgents, { first: 10 }, { token: key }));
      const refused = await strict.execute(ListAgents, { first: 100 }, { token: key });
      expect(refused.errors?.map((error) => error.message)).toEqual(['Operation too expensive: ask for fewer items']);
    } finally {
      await strict.close();
    }
  });

  test('Apollo-style persisted query hashes are accepted too', async () => {
    const hash = (ListAgents as unknown as { __meta__: { hash: string } }).__meta__.hash.replace('sha256:', '');
    const response = await post(gw, { extensions: { persistedQuery: { version: 1, sha256Hash: hash } }, variables: { first: 1 } });
    expect(response.body.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']); // found, then refused: no token
  });

  describe('in development mode', () => {
    let dev: Gateway;
    beforeAll(async () => {
      dev = await startGateway();
      const acme = await dev.seed.tenant();
      await acme.agent('listed');
      owner = acme.ownerToken;
      key = (await acme.apiKey(['AGENTS_WRITE'])).key;
    });
    afterAll(() => dev?.close());

    test('an API key runs persisted operations by hash', async () => {
      const { agents } = expectNoErrors(await dev.execute(ListAgents, { first: 5 }, { token: key }));
      expect(agents.edges.map((edge) => edge.node.name)).toEqual(['listed']);
      expectNoErrors(await dev.execute(CreateAgentRecord, { input: { name: 'by-key', image: 'fleetgate/agent:1' } }, { token: key }));
    });

    test('an API key sending a raw query is refused clearly, even one identical to a persisted one', async () => {
      const response = await post(dev, { query: 'query { agents(first: 1) { edges { node { id } } } }' }, bearer(key));
      expect(response.status).toBe(403);
      expect(response.body.errors).toEqual([
        { message: 'This credential may only run persisted operations', extensions: { code: 'PERSISTED_QUERY_ONLY' } },
      ]);
    });

    test('users may send arbitrary operations in development mode', async () => {
      expectNoErrors(await dev.execute(Me, {}, { token: owner }));
    });
  });
});

describe('schema privacy, limits and request hygiene', () => {
  let gw: Gateway;
  let owner: string;
  let operator: string;
  beforeAll(async () => {
    gw = await startGateway();
    owner = (await gw.seed.tenant()).ownerToken;
    operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
  });
  afterAll(() => gw?.close());

  test('introspection: operators see the whole schema, users their role’s (test/graphiql.test.ts), anonymous callers none', async () => {
    const query = '{ __schema { queryType { name } } }';
    const asUser = await post(gw, { query }, bearer(owner));
    expect(asUser.body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    const anonymous = await post(gw, { query: '{ __type(name: "Agent") { fields { name } } }' });
    expect(anonymous.body.errors?.[0]?.message).toBe('Introspection is not available to this principal');
    const asOperator = await post(gw, { query }, bearer(operator));
    expect(asOperator.body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
  });

  test('__typename stays available to every client', async () => {
    expect((await post(gw, { query: '{ __typename }' })).body).toEqual({ data: { __typename: 'Query' } });
  });

  test('field suggestions are cut for non-operators and kept for operators', async () => {
    const query = '{ agentz(first: 1) { edges { node { id } } } }';
    const asUser = await post(gw, { query }, bearer(owner));
    expect(asUser.body.errors?.[0]?.message).toBe('Cannot query field "agentz" on type "Query".');
    const asOperator = await post(gw, { query }, bearer(operator));
    expect(asOperator.body.errors?.[0]?.message).toMatch(/Did you mean "agent" or "agents"\?/);
  });

  test('GraphiQL is served to browsers', async () => {
    const page = await gw.yoga.fetch('http://gateway.test/graphql', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('GraphiQL');
  });

  test('depth beyond the limit is refused without naming the limit', async () => {
    const query = `{ ${'me { '.repeat(15)}id${' }'.repeat(15)} }`;
    const messages = ((await post(gw, { query }, bearer(owner))).body.errors ?? []).map((error) => error.message);
    expect(messages).toEqual(['Syntax Error: Query validation error.']); // graphql-armor, limits not exposed
  });

  test('too many aliases are refused without naming the limit', async () => {
    const query = `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: tenant { id }`).join(' ')} }`;
    const response = await post(gw, { query }, bearer(owner));
    expect(response.body.errors?.map((error) => error.message)).toEqual(['Syntax Error: Query validation error.']);
  });

  test('an operation whose page sizes multiply beyond the cost limit is refused', async () => {
    const expensive = `{ ${Array.from({ length: 4 }, (_, i) => `a${i}: agents(first: 100) { edges { node { id name description image status config createdAt updatedAt } } }`).join(' ')} }`;
    const response = await post(gw, { query: expensive }, bearer(owner));
    expect(response.body.errors?.map((error) => error.message)).toEqual(['Operation too expensive: ask for fewer items']);
    const cheap = '{ agents(first: 100) { edges { node { id name } } } }';
    expect((await post(gw, { query: cheap }, bearer(owner))).body.errors).toBeUndefined();
  });

  test('cost counts page sizes given as variables', async () => {
    const lists = ['a', 'b', 'c', 'd'].map(
      (alias) => `${alias}: agents(first: $n) { edges { node { id name description image status config } } }`,
    );
    const query = `query ($n: Int) { ${lists.join(' ')} }`;
    expect((await post(gw, { query, variables: { n: 5 } }, bearer(owner))).body.errors).toBeUndefined();
    expect((await post(gw, { query, variables: { n: 100 } }, bearer(owner))).body.errors?.[0]?.message).toBe(
      'Operation too expensive: ask for fewer items',
    );
  });

  test('a batch larger than the limit is refused', async () => {
    const batch = Array.from({ length: 6 }, () => ({ query: '{ __typename }' }));
    const response = await gw.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    expect(response.status).toBe(413);
  });

  test('a body over the request limit is refused with 413 before it is parsed, declared or not', async () => {
    const huge = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(DEFAULT_MAX_REQUEST_BYTES) } });
    const declared = await gw.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(huge)) },
      body: huge,
    });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { errors: { message: string }[] }).errors[0]?.message).toBe('Request body too large');
    // Without a Content-Length (chunked), the body is counted as it is read.
    const counted = await gw.yoga.fetch('http://gateway.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: huge,
    });
    expect(counted.status).toBe(413);
    // Just under the limit is read and answered.
    const fits = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(DEFAULT_MAX_REQUEST_BYTES - 100) } });
    expect((await post(gw, JSON.parse(fits))).status).toBe(200);
  });

  test('over HTTP: a declared length over the limit is refused unread, a chunked body as soon as it passes it', async () => {
    const server = createServer((request, response) => void gw.yoga(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    const headers = { 'content-type': 'application/json' };
    try {
      const pad = 'x'.repeat(DEFAULT_MAX_REQUEST_BYTES);
      const declared = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query: '{ __typename }', variables: { pad } }) });
      expect(declared.status).toBe(413);
      const chunks = [JSON.stringify({ query: '{ __typename }', variables: { pad: '' } }).slice(0, -3), pad, '"}}'];
      const chunked = await fetch(url, {
        method: 'POST',
        headers,
        body: new ReadableStream({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(413);
      const small = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query: '{ __typename }' }) });
      expect(await small.json()).toEqual({ data: { __typename: 'Query' } });
    } finally {
      server.close();
    }
  });

  test('mutations are refused over GET', async () => {
    const query = encodeURIComponent('mutation { signUp(input: { tenantName: "g", owner: { email: "g@g.io", name: "G" } }) { token } }');
    const response = await gw.yoga.fetch(`http://gateway.test/graphql?query=${query}`, { headers: { 'x-graphql-csrf': '1' } });
    expect(response.status).toBe(405);
  });

  test('a GET without the CSRF header is refused; with it, a query runs', async () => {
    const query = encodeURIComponent('{ __typename }');
    expect((await gw.yoga.fetch(`http://gateway.test/graphql?query=${query}`)).status).toBe(403);
    expect((await gw.yoga.fetch(`http://gateway.test/graphql?query=${query}`, { headers: { 'x-graphql-csrf': '1' } })).status).toBe(200);
  });
});

describe('rate limits', () => {
  for (const store of ['memory', 'redis'] as const) {
    describe(`with ${store} counters`, () => {
      let gw: Gateway;
      let redis: Redis | undefined;
      beforeAll(async () => {
        redis = store === 'redis' ? new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379') : undefined;
        gw = await startGateway({ policy: { tenantRateLimitPerMinute: 5, apiKeyRateLimitPerMinute: 3, redis } });
      });
      afterAll(async () => {
        await gw?.close();
        redis?.disconnect();
      });

      test('a tenant past its limit gets RATE_LIMITED with 429 and Retry-After; another tenant is unaffected', async () => {
        const a = await gw.seed.tenant(); // signUp itself is anonymous: not counted against the tenant
        const b = await gw.seed.tenant();
        const results = [];
        for (let i = 0; i < 6; i++) results.push(await gw.execute(Me, {}, { token: a.ownerToken }));
        expect(results.slice(0, 5).every((result) => !result.errors)).toBe(true);
        const refused = results[5];
        expect(refused?.status).toBe(429);
        expect(refused?.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
        expectNoErrors(await gw.execute(Me, {}, { token: b.ownerToken }));
        // The first refusal of the window is audited, once, even though the operation rolled back.
        const tenantId = Buffer.from(a.id, 'base64').toString().split(':')[1];
        const { rows } = await adminQuery(
          gw.database.adminUrl,
          "select outcome, detail->>'limit' as limit from audit_events where tenant_id = $1 and action = 'rateLimit.exceeded'",
          [tenantId],
        );
        expect(rows).toEqual([{ outcome: 'DENIED', limit: 'tenant' }]);
      });

      test('an API key has its own, lower limit', async () => {
        const acme = await gw.seed.tenant();
        const { key } = await acme.apiKey();
        const codes = [];
        for (let i = 0; i < 4; i++) codes.push(errorCodes(await gw.execute(ListAgents, { first: 1 }, { token: key }))[0]);
        expect(codes).toEqual([undefined, undefined, undefined, 'RATE_LIMITED']);
      });

      test('operations are counted, not HTTP requests: a batch of three uses three', async () => {
        const acme = await gw.seed.tenant();
        const batch = Array.from({ length: 3 }, () => ({ query: '{ me { id } }' }));
        const first = await gw.yoga.fetch('http://gateway.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${acme.ownerToken}` },
          body: JSON.stringify(batch),
        });
        expect(((await first.json()) as unknown[]).length).toBe(3);
        const second = await gw.yoga.fetch('http://gateway.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${acme.ownerToken}` },
          body: JSON.stringify(batch),
        });
        const codes = ((await second.json()) as { errors?: { extensions?: { code?: string } }[] }[]).map(
          (result) => result.errors?.[0]?.extensions?.code,
        );
        expect(codes).toEqual([undefined, undefined, 'RATE_LIMITED']);
      });
    });
  }

  test('Agents (typed) still works under default limits', async () => {
    const gw = await startGateway();
    try {
      const acme = await gw.seed.tenant();
      expectNoErrors(await gw.execute(Agents, { first: 1 }, { token: acme.ownerToken }));
    } finally {
      await gw.close();
    }
  });
});
