import { createServer, type Server } from 'node:http';
import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery, validateSchema } from 'graphql';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { can } from '../src/auth/actions.ts';
import type { UserRole } from '../src/auth/principal.ts';
import { buildSchema } from '../src/schema.ts';
import { type Gateway, startGateway } from './support/gateway.ts';

const ROOT_FIELDS =
  '{ __schema { queryType { fields(includeDeprecated: true) { name } } mutationType { fields(includeDeprecated: true) { name } } types { name fields(includeDeprecated: true) { name } } } }';

interface Schema {
  queryType: { fields: { name: string }[] };
  mutationType: { fields: { name: string }[] };
  types: { name: string; fields: { name: string }[] | null }[];
}

let gw: Gateway;
let server: Server;
let origin: string;
beforeAll(async () => {
  gw = await startGateway();
  server = createServer((request, response) => void gw.yoga(request, response));
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((closed) => server?.close(closed));
  await gw?.close();
});

async function post(query: string, token?: string) {
  const response = await fetch(`${origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: { __schema: Schema } | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function introspect(token: string): Promise<Schema> {
  const answer = await post(ROOT_FIELDS, token);
  expect(answer.errors).toBeUndefined();
  return (answer.data as { __schema: Schema }).__schema;
}
const names = (fields: { name: string }[]) => fields.map((field) => field.name).sort();
const fieldsOf = (schema: Schema, type: string) => names(schema.types.find((each) => each.name === type)?.fields ?? []);

/** Root fields whose resolver scope is one action of the catalogue: the role sees each exactly when the catalogue grants it. */
function expectedRootFields(role: UserRole, root: 'Query' | 'Mutation'): { shown: string[]; hidden: string[] } {
  const schema = buildSchema();
  const type = root === 'Query' ? schema.getQueryType() : schema.getMutationType();
  const shown: string[] = [];
  const hidden: string[] = [];
  for (const [name, field] of Object.entries(type?.getFields() ?? {})) {
    const scopes = (field.extensions as { pothosOptions?: { authScopes?: unknown } }).pothosOptions?.authScopes as
      | { can?: string }
      | undefined;
    if (typeof scopes !== 'object' || Object.keys(scopes).length !== 1 || !scopes.can) continue;
    (can({ kind: 'user', tenantId: 't', userId: 'u', role }, scopes.can as never) ? shown : hidden).push(name);
  }
  return { shown, hidden };
}

describe('introspection by role', () => {
  test('a viewer, an owner and an operator see different schemas, each matching the action catalogue', async () => {
    const acme = await gw.seed.tenant();
    const viewer = await acme.member('VIEWER');
    const schemas = {
      VIEWER: await introspect(viewer.token),
      OWNER: await introspect(acme.ownerToken),
      operator: await introspect(await gw.operator.token()),
    };
    for (const role of ['VIEWER', 'OWNER'] as const) {
      const queries = names(schemas[role].queryType.fields);
      const mutations = names(schemas[role].mutationType.fields);
      const expectedQueries = expectedRootFields(role, 'Query');
      const expectedMutations = expectedRootFields(role, 'Mutation');
      expect(queries).toEqual(expect.arrayContaining(expectedQueries.shown));
      expect(mutations).toEqual(expect.arrayContaining(expectedMutations.shown));
      for (const hidden of expectedQueries.hidden) expect(queries).not.toContain(hidden);
      for (const hidden of expectedMutations.hidden) expect(mutations).not.toContain(hidden);
    }
    // Spot checks, in words: a viewer reads agents but neither writes them nor sees their credentials or the API keys.
    expect(names(schemas.VIEWER.queryType.fields)).toEqual(expect.arrayContaining(['agents', 'me', 'tenant']));
    expect(names(schemas.VIEWER.mutationType.fields)).not.toContain('createAgent');
    expect(fieldsOf(schemas.VIEWER, 'Agent')).not.toContain('credentials');
    expect(schemas.VIEWER.types.map((type) => type.name)).not.toContain('ApiKey');
    // An owner sees its tenant's administration, never the platform's.
    expect(names(schemas.OWNER.mutationType.fields)).toEqual(expect.arrayContaining(['createAgent', 'createApiKey', 'setAuditRetention']));
    expect(fieldsOf(schemas.OWNER, 'Agent')).toContain('credentials');
    expect(names(schemas.OWNER.queryType.fields)).not.toContain('platformTenants');
    expect(names(schemas.OWNER.mutationType.fields)).not.toContain('freezeTenant');
    // The operator sees everything: the whole schema.
    const full = buildSchema();
    expect(names(schemas.operator.queryType.fields)).toEqual(Object.keys(full.getQueryType()?.getFields() ?? {}).sort());
    expect(schemas.operator.types.length).toBe(Object.keys(full.getTypeMap()).length);
    expect(schemas.VIEWER.types.length).toBeLessThan(schemas.OWNER.types.length);
    expect(schemas.OWNER.types.length).toBeLessThan(schemas.operator.types.length);
  });

  test('GraphiQL’s own introspection query gives a viewer a valid schema (its docs panel builds it)', async () => {
    const acme = await gw.seed.tenant();
    const viewer = await acme.member('VIEWER');
    const answer = (await post(getIntrospectionQuery({ inputValueDeprecation: true }), viewer.token)) as {
      data?: unknown;
      errors?: unknown;
    };
    expect(answer.errors).toBeUndefined();
    const schema = buildClientSchema(answer.data as IntrospectionQuery);
    expect(validateSchema(schema)).toEqual([]);
    expect(Object.keys(schema.getQueryType()?.getFields() ?? {})).toContain('agents');
    expect(schema.getType('ApiKey')).toBeUndefined();
  });

  test('a user’s introspection runs alone; API keys and anonymous callers get none', async () => {
    const acme = await gw.seed.tenant();
    const mixed = await post('{ tenant { name } __type(name: "ApiKey") { name } }', acme.ownerToken);
    expect(mixed.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
      ['FORBIDDEN', 'Send introspection in an operation of its own'],
    ]);
    const viewer = await acme.member('VIEWER');
    // __type of a type the role cannot reach is null, as for a type that does not exist.
    expect(await post('{ __type(name: "ApiKey") { name } }', viewer.token)).toEqual({ data: { __type: null } });
    const { key } = await acme.apiKey();
    // An API key runs published documents only; an anonymous caller may send a document, but no introspection.
    expect((await post(ROOT_FIELDS, key)).errors?.map((error) => error.extensions?.code)).toEqual(['PERSISTED_QUERY_ONLY']);
    expect((await post(ROOT_FIELDS)).errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
  });
});

describe('GraphiQL, offline', () => {
  test('the page names only same-origin assets, and each one is served by the gateway', async () => {
    const page = await fetch(`${origin}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    const references = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(references.length).toBeGreaterThanOrEqual(3);
    for (const reference of references) {
      expect(reference).toMatch(/^\/[^/]/);
      const asset = await fetch(new URL(reference, origin));
      expect(asset.status, reference).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, reference).toBeGreaterThan(1_000);
    }
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('Authorization');
  });

  test('in a browser with no network beyond the gateway, GraphiQL renders and shows how to set the token', async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const elsewhere: string[] = [];
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(origin) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
        elsewhere.push(url);
        return route.abort();
      });
      await page.goto(`${origin}/graphql`);
      await page.locator('.graphiql-query-editor').first().waitFor({ timeout: 20_000 });
      await expect.poll(() => page.locator('.graphiql-query-editor').first().textContent(), { timeout: 20_000 }).toContain('Authorization');
      expect(elsewhere).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
