/**
 * Child process: the `yoga-pg` peer. A bare graphql-yoga server with two hand-written resolvers,
 * `agents(first)` and the rename `updateAgent(input: { id, name })`, the least work that is still
 * correct and isolated: the same JWT check (jose, EdDSA, issuer, audience, required claims), then
 * one `pg` transaction as `fleetgate_app` that sets the RLS setting transaction-locally and reads
 * the page or renames the agent, every statement a named prepared statement (parsed once per
 * connection; Postgres settles on a generic plan after five runs). It reads and returns the columns
 * the bench asks for. No ORM, no scope plugin, no identity map, no audit (the write's database work
 * is PostGraphile's: the row's update under RLS).
 */
import { GraphQLError } from 'graphql';
import { createSchema, createYoga } from 'graphql-yoga';
import { jwtVerify } from 'jose';
import pg from 'pg';
import { openKeyring } from '../src/auth/keyring.ts';
import { decodeGlobalId, encodeGlobalId } from '../src/shared/global-id.ts';
import { isUuid } from '../src/shared/ids.ts';
import { childConfig, failChild, serveChild } from './child.ts';

interface FloorContext {
  tenantId: string;
}

interface AgentRow {
  id: string;
  name: string;
  status: string;
}

const typeDefs = /* GraphQL */ `
  type Query {
    agents(first: Int): AgentConnection!
  }
  type AgentConnection {
    edges: [AgentEdge!]!
    pageInfo: PageInfo!
  }
  type AgentEdge {
    cursor: String!
    node: Agent!
  }
  type PageInfo {
    hasNextPage: Boolean!
    endCursor: String
  }
  type Agent {
    id: ID!
    name: String!
    status: String!
  }
  type Mutation {
    updateAgent(input: UpdateAgentInput!): UpdateAgentPayload!
  }
  input UpdateAgentInput {
    id: ID!
    name: String!
  }
  type UpdateAgentPayload {
    agent: Agent!
  }
`;

/** Named statements: `pg` sends each one's Parse once per connection, then only Bind and Execute. */
const BEGIN = { name: 'peer_begin', text: 'BEGIN' };
const SET_TENANT = { name: 'peer_set_tenant', text: "SELECT set_config('app.tenant_id', $1, true)" };
/** `limit first + 1` as a Relay connection asks for (to know hasNextPage); `tenant_id = $1` as an application filter would. */
const PAGE = { name: 'peer_page', text: 'SELECT id, name, status FROM agents WHERE tenant_id = $1 ORDER BY id ASC LIMIT $2' };
/** The rename, as Fleetgate's lean write sets it: the name and `updated_at`, the tenant as an application filter would. */
const RENAME = {
  name: 'peer_rename',
  text: 'UPDATE agents SET name = $3, updated_at = now() WHERE id = $1 AND tenant_id = $2 RETURNING id, name, status',
};
const COMMIT = { name: 'peer_commit', text: 'COMMIT' };

async function main() {
  const config = childConfig();
  const keyring = await openKeyring(config.keyringDir);
  const pool = new pg.Pool({ connectionString: config.appUrl, max: config.poolSize });

  /** One statement in a transaction of its own, as the tenant. */
  async function inTenant(tenantId: string, statement: { name: string; text: string; values: unknown[] }): Promise<AgentRow[]> {
    const client = await pool.connect();
    try {
      await client.query(BEGIN);
      await client.query({ ...SET_TENANT, values: [tenantId] });
      const { rows } = await client.query<AgentRow>(statement);
      await client.query(COMMIT);
      return rows;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  const yoga = createYoga<object, FloorContext>({
    graphqlEndpoint: '/graphql',
    landingPage: false,
    context: async ({ request }) => {
      const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
      if (!token) throw unauthenticated();
      try {
        const { payload } = await jwtVerify(token, keyring.signingKey.publicKey, {
          algorithms: ['EdDSA'],
          issuer: 'fleetgate',
          audience: 'fleetgate-api',
          requiredClaims: ['exp', 'iat', 'sub'],
        });
        if (typeof payload.tid !== 'string') throw unauthenticated();
        return { tenantId: payload.tid };
      } catch {
        throw unauthenticated();
      }
    },
    schema: createSchema<FloorContext>({
      typeDefs,
      resolvers: {
        Query: {
          agents: async (_root: unknown, args: { first?: number | null }, ctx: FloorContext) => {
            const first = Math.min(Math.max(args.first ?? 20, 0), 100);
            const rows = await inTenant(ctx.tenantId, { ...PAGE, values: [ctx.tenantId, first + 1] });
            const page = rows.slice(0, first);
            return {
              edges: page.map((row) => ({ cursor: row.id, node: row })),
              pageInfo: { hasNextPage: rows.length > first, endCursor: page.at(-1)?.id ?? null },
            };
          },
        },
        Mutation: {
          updateAgent: async (_root: unknown, { input }: { input: { id: string; name: string } }, ctx: FloorContext) => {
            const { typename, id } = decodeGlobalId(input.id);
            if (typename !== 'Agent' || !isUuid(id)) throw noSuchAgent();
            const [agent] = await inTenant(ctx.tenantId, { ...RENAME, values: [id, ctx.tenantId, input.name] });
            if (!agent) throw noSuchAgent();
            return { agent };
          },
        },
        // The same Relay global id Fleetgate returns, so one response checker serves both servers.
        Agent: { id: (row: AgentRow) => encodeGlobalId('Agent', row.id) },
      },
    }),
  });
  await serveChild(yoga, () => pool.end());
}

function noSuchAgent() {
  return new GraphQLError('No such agent', { extensions: { code: 'NOT_FOUND' } });
}

function unauthenticated() {
  return new GraphQLError('Invalid or expired credentials', { extensions: { code: 'UNAUTHENTICATED' } });
}

main().catch(failChild('yoga-pg server'));
