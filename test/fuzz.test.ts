import fc from 'fast-check';
import type { GraphQLField } from 'graphql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildSchema } from '../src/schema.ts';
import { uuidOf } from './support/audit.ts';
import { type Gateway, startGateway } from './support/gateway.ts';
import { documentFor, variablesFor } from './support/schema-arbitraries.ts';

/*
 * Property-based: every argument of every root field, generated from the schema, with hostile
 * content, by an owner, an operator and an anonymous caller. Whatever comes in:
 * - no 5xx, no INTERNAL_SERVER_ERROR, and every error carries a code;
 * - a refusal of the owner's request (a denial, refused input, a failed mutation) leaves an audit event;
 * - every log line is JSON.
 * `npm test` runs FUZZ_RUNS (default 4) cases per field with a fixed seed; `npm run fuzz` runs many more,
 * FUZZ_SEED picks another seed (a failure prints the seed and path to replay it).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 4);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_204);

const DENIALS = new Set(['FORBIDDEN', 'NOT_FOUND', 'UNAUTHENTICATED']);

type ErrorBody = { message: string; path?: unknown[]; extensions?: Record<string, unknown> };

let gw: Gateway;
let admin: pg.Client;
let tenantUuid: string;
let tokens: Record<'owner' | 'operator' | 'anonymous', string | undefined>;
let realIds: string[];
let logOffset = 0;

beforeAll(async () => {
  gw = await startGateway();
  admin = new pg.Client({ connectionString: gw.database.adminUrl });
  await admin.connect();
  const acme = await gw.seed.tenant();
  const other = await gw.seed.tenant();
  const [agent, foreignAgent] = [await acme.agent('fuzz-own'), await other.agent('fuzz-foreign')];
  tenantUuid = uuidOf(acme.id);
  tokens = { owner: acme.ownerToken, operator: await gw.operator.token(), anonymous: undefined };
  // Not the own tenant's id: an operator freezing or deleting it would leave the owner nothing to reach.
  realIds = [agent.id, foreignAgent.id, other.id, acme.ownerId];
});
afterAll(async () => {
  await admin?.end();
  await gw?.close();
});

async function refusalEvents(): Promise<number> {
  const { rows } = await admin.query("select count(*)::int as n from audit_events where tenant_id = $1 and outcome <> 'SUCCESS'", [
    tenantUuid,
  ]);
  return rows[0].n;
}

/** Log lines written since the last call: each must parse as JSON. */
function newLogLines(): string[] {
  const text = gw.logs();
  const fresh = text.slice(logOffset);
  logOffset = text.length;
  return fresh.split('\n').filter((line) => line.length > 0);
}

/** Whether this answer must have left an audit event for the owner's tenant. */
function mustBeAudited(operation: 'query' | 'mutation', errors: readonly ErrorBody[]): boolean {
  return errors.some((error) => {
    const code = String(error.extensions?.code);
    if (DENIALS.has(code)) return true;
    if (code === 'BAD_USER_INPUT' && typeof error.extensions?.field === 'string' && /: (contains|nested)/.test(error.message)) return true;
    return operation === 'mutation' && error.path !== undefined; // a mutation failed in its resolver
  });
}

const schema = buildSchema();
const roots = [
  ['query', schema.getQueryType()],
  ['mutation', schema.getMutationType()],
] as const;
const fields = roots.flatMap(([operation, type]) =>
  Object.values(type?.getFields() ?? {}).map((field) => [operation, field as GraphQLField<unknown, unknown>] as const),
);

describe('every field of the schema survives hostile arguments', () => {
  test('the schema offers fields to fuzz', () => {
    expect(fields.length).toBeGreaterThan(50);
  });

  test.each(
    fields.map(
      ([operation, field], index) => [`${operation === 'query' ? 'Query' : 'Mutation'}.${field.name}`, operation, field, index] as const,
    ),
  )(
    '%s',
    async (_name, operation, field, index) => {
      const document = documentFor(operation, field);
      const principal = fc.oneof(
        { weight: 6, arbitrary: fc.constant('owner' as const) },
        { weight: 2, arbitrary: fc.constant('operator' as const) },
        { weight: 1, arbitrary: fc.constant('anonymous' as const) },
      );
      await fc.assert(
        fc.asyncProperty(principal, variablesFor(field, realIds), async (who, variables) => {
          const before = who === 'owner' ? await refusalEvents() : 0;
          newLogLines();
          const token = tokens[who];
          const response = await gw.yoga.fetch('http://gateway.test/graphql', {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body: JSON.stringify({ query: document, variables }),
          });
          const body = (await response.json()) as { errors?: ErrorBody[] };
          const errors = body.errors ?? [];
          expect(response.status, JSON.stringify(body).slice(0, 500)).toBeLessThan(500);
          for (const error of errors) {
            expect(error.extensions?.code, error.message.slice(0, 300)).toEqual(expect.any(String));
            expect(error.extensions?.code, error.message.slice(0, 300)).not.toBe('INTERNAL_SERVER_ERROR');
          }
          if (who === 'owner' && mustBeAudited(operation, errors)) {
            expect(await refusalEvents(), JSON.stringify(errors).slice(0, 500)).toBeGreaterThan(before);
          }
          for (const line of newLogLines()) {
            expect(() => JSON.parse(line), line.slice(0, 300)).not.toThrow();
            expect(line).not.toMatch(/"msg":"(unexpected error|could not record)/);
          }
        }),
        { seed: SEED + index, numRuns: RUNS, endOnFailure: true },
      );
    },
    Math.max(30_000, RUNS * 1_500),
  );
});
