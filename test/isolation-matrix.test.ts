import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tenantSchemaName } from '../src/db/request-scope.ts';
import { decodeGlobalId, encodeGlobalId } from '../src/shared/global-id.ts';
import { newId } from '../src/shared/ids.ts';
import { ExportAgentMemory, WipeAgentMemory } from './memory-operations.ts';
import { agentWithToken } from './memory-support.ts';
import { type Execute, type Gateway, type GraphQLResponse, startGateway } from './support/gateway.ts';
import {
  DeleteAgentRecord,
  GetAgent,
  GrantSupportAccess,
  ListAgents,
  NodeById,
  RevokeApiKey,
  UpdateAgentRecord,
} from './support/operations.ts';

/**
 * Every principal × every operation × own / foreign / missing target, for every pairing of tiers:
 * the caller's tenant and the foreign tenant are each STANDARD (shared tables) or ENTERPRISE (own schema). The expected outcome of a
 * foreign target is always exactly the response for a missing one: same code, same shape.
 */
type Principal = 'OWNER' | 'ADMIN' | 'MEMBER' | 'VIEWER' | 'KEY_READ' | 'KEY_WRITE' | 'SUPPORT' | 'OPERATOR' | 'AGENT' | 'ANONYMOUS';
type Target = 'own' | 'foreign' | 'missing';
type Outcome = 'ok' | 'null' | 'NOT_FOUND' | 'FORBIDDEN' | 'UNAUTHENTICATED' | 'PERSISTED_QUERY_ONLY';

const PRINCIPALS: Principal[] = [
  'OWNER',
  'ADMIN',
  'MEMBER',
  'VIEWER',
  'KEY_READ',
  'KEY_WRITE',
  'SUPPORT',
  'OPERATOR',
  'AGENT',
  'ANONYMOUS',
];
const READERS: Principal[] = ['OWNER', 'ADMIN', 'MEMBER', 'VIEWER', 'KEY_READ', 'KEY_WRITE', 'SUPPORT'];
const WRITERS: Principal[] = ['OWNER', 'ADMIN', 'MEMBER', 'KEY_WRITE'];
const KEY_MANAGERS: Principal[] = ['OWNER', 'ADMIN'];

interface Operation {
  name: string;
  /** In the trusted-documents manifest: the only operations API keys may run. */
  persisted: boolean;
  allowed: Principal[];
  /** What an allowed principal gets for a foreign or missing target. */
  absent: Outcome;
  run: (execute: Execute, token: string | undefined, targets: Targets, target: Target) => Promise<GraphQLResponse<unknown>>;
}

interface Targets {
  agentId: (target: Target) => Promise<string>;
  apiKeyId: (target: Target) => Promise<string>;
}

const operations: Operation[] = [
  {
    name: 'agent(id)',
    persisted: true,
    allowed: READERS,
    absent: 'NOT_FOUND',
    run: async (execute, token, t, target) => execute(GetAgent, { id: await t.agentId(target) }, { token }),
  },
  {
    name: 'node(id)',
    persisted: false,
    allowed: READERS,
    absent: 'null',
    run: async (execute, token, t, target) => execute(NodeById, { id: await t.agentId(target) }, { token }),
  },
  {
    name: 'updateAgent',
    persisted: true,
    allowed: WRITERS,
    absent: 'NOT_FOUND',
    run: async (execute, token, t, target) =>
      execute(UpdateAgentRecord, { input: { id: await t.agentId(target), name: `renamed-${newId()}` } }, { token }),
  },
  {
    name: 'deleteAgent',
    persisted: true,
    allowed: WRITERS,
    absent: 'NOT_FOUND',
    run: async (execute, token, t, target) => execute(DeleteAgentRecord, { id: await t.agentId(target) }, { token }),
  },
  {
    name: 'exportAgentMemory',
    persisted: false,
    allowed: KEY_MANAGERS,
    absent: 'NOT_FOUND',
    run: async (execute, token, t, target) => execute(ExportAgentMemory, { agentId: await t.agentId(target) }, { token }),
  },
  {
    name: 'wipeAgentMemory',
    persisted: false,
    allowed: KEY_MANAGERS,
    absent: 'NOT_FOUND',
    run: async (execute, token, t, target) => execute(WipeAgentMemory, { agentId: await t.agentId(target) }, { token }),
  },
  {
    name: 'revokeApiKey',
    persisted: false,
    allowed: KEY_MANAGERS,
    absent: 'NOT_FOUND',
    run: async (execute, token, t, target) => execute(RevokeApiKey, { id: await t.apiKeyId(target) }, { token }),
  },
];

function expected(operation: Operation, principal: Principal, target: Target): Outcome {
  if (principal === 'ANONYMOUS') return 'UNAUTHENTICATED';
  if (principal.startsWith('KEY_') && !operation.persisted) return 'PERSISTED_QUERY_ONLY';
  if (!operation.allowed.includes(principal)) return 'FORBIDDEN';
  return target === 'own' ? 'ok' : operation.absent;
}

function outcomeOf(response: GraphQLResponse<unknown>): Outcome {
  const code = response.errors?.[0]?.extensions?.code;
  if (code) return code as Outcome;
  const data = response.data as Record<string, unknown> | null | undefined;
  return data && Object.values(data).every((value) => value === null) ? 'null' : 'ok';
}

let gw: Gateway;
const tokens = new Map<Principal, string | undefined>();
let targets: Targets;
let foreignAgentId: string;

type Tier = 'STANDARD' | 'ENTERPRISE';
const PAIRINGS: { own: Tier; foreign: Tier }[] = [
  { own: 'STANDARD', foreign: 'STANDARD' },
  { own: 'ENTERPRISE', foreign: 'STANDARD' },
  { own: 'STANDARD', foreign: 'ENTERPRISE' },
];

describe.each(PAIRINGS)('own $own, foreign $foreign', ({ own, foreign }) => {
  let foreignTenantId: string;
  beforeAll(async () => {
    gw = await startGateway();
    const operator = (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal();
    const seed = (name: string, tier: Tier) => gw.seed.tenant(name, tier === 'ENTERPRISE' ? { enterpriseBy: operator } : {});
    const a = await seed('tenant-a', own);
    const b = await seed('tenant-b', foreign);
    foreignTenantId = decodeGlobalId(b.id).id;
    tokens.set('OWNER', a.ownerToken);
    for (const role of ['ADMIN', 'MEMBER', 'VIEWER'] as const) tokens.set(role, (await a.member(role)).token);
    tokens.set('KEY_READ', (await a.apiKey(['AGENTS_READ'])).key);
    tokens.set('KEY_WRITE', (await a.apiKey(['AGENTS_WRITE'])).key);
    const grant = await gw.execute(
      GrantSupportAccess,
      { input: { supportPrincipal: 'sam@support.example', reason: 'matrix', durationMinutes: 60 } },
      { token: a.ownerToken },
    );
    tokens.set('SUPPORT', grant.data?.grantSupportAccess.token);
    tokens.set('OPERATOR', (await gw.tokens.issue({ kind: 'operator', operatorId: 'op' })).reveal());
    tokens.set('AGENT', (await agentWithToken(gw, a)).token);
    tokens.set('ANONYMOUS', undefined);
    foreignAgentId = (await b.agent('b-private')).id;
    const foreignKeyId = (await b.apiKey()).id;
    targets = {
      // Own targets are fresh per case, so a delete in one case cannot change another's outcome.
      agentId: async (target) =>
        target === 'own' ? (await a.agent()).id : target === 'foreign' ? foreignAgentId : encodeGlobalId('Agent', newId()),
      apiKeyId: async (target) =>
        target === 'own' ? (await a.apiKey()).id : target === 'foreign' ? foreignKeyId : encodeGlobalId('ApiKey', newId()),
    };
  });
  afterAll(() => gw?.close());

  describe.each(operations)('$name', (operation) => {
    test.each(PRINCIPALS)('as %s', async (principal) => {
      const token = tokens.get(principal);
      const own = await operation.run(gw.execute, token, targets, 'own');
      const foreign = await operation.run(gw.execute, token, targets, 'foreign');
      const missing = await operation.run(gw.execute, token, targets, 'missing');

      expect(outcomeOf(own)).toBe(expected(operation, principal, 'own'));
      expect(outcomeOf(foreign)).toBe(expected(operation, principal, 'foreign'));
      // Indistinguishable: the whole foreign response equals the whole missing response.
      expect(foreign).toEqual(missing);
    });
  });

  test('tenant B’s agent survived every attempt unchanged', async () => {
    const b = await gw.execute(GetAgent, { id: foreignAgentId }, { token: tokens.get('OWNER') });
    expect(b.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const rows = await gw.orm.em.fork().getConnection().execute("select name from agents where name = 'b-private'");
    expect(rows).toEqual([]); // and the app role without a tenant sees nothing at all
    const admin = await import('./support/database.ts');
    const table = foreign === 'ENTERPRISE' ? `${tenantSchemaName(foreignTenantId)}.agents` : 'agents';
    const { rows: asSuperuser } = await admin.adminQuery(gw.database.adminUrl, `select name from ${table} where name = 'b-private'`);
    expect(asSuperuser).toEqual([{ name: 'b-private' }]);
  });

  test.each(READERS)('agents as %s lists only its own tenant’s agents', async (principal) => {
    const { data } = await gw.execute(ListAgents, { first: 100 }, { token: tokens.get(principal) });
    const ids = data?.agents.edges.map((edge) => edge.node.id) ?? [];
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).not.toContain(foreignAgentId);
  });
});
