import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import type { GraphQLObjectType, GraphQLSchema } from 'graphql';
import { type Action, can } from './auth/actions.ts';
import { tenantOf } from './auth/principal.ts';
import { recordNodeMisses } from './modules/audit/index.ts';
import type { Context } from './request/context.ts';
import { forbidden, unauthenticated } from './shared/errors.ts';
import { decodeGlobalId, encodeGlobalId } from './shared/global-id.ts';
import { isUuid } from './shared/ids.ts';
import type { Secret } from './shared/secret.ts';

/**
 * Wall 1: resolver scopes. Query and Mutation carry the `nobody` scope at type level, so a root
 * field that forgets to declare its own scopes (with `skipTypeScopes`) is denied: default deny.
 * Object types check `sameTenant` on every instance, so even an object that slipped past the ORM
 * and RLS walls is not rendered to another tenant.
 *
 * Relay is listed before scope-auth so scope functions receive decoded global IDs.
 */
export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: {
    /** Anyone, including anonymous callers. Only onboarding uses it. */
    public: boolean;
    /** Never granted: the type-level default of Query and Mutation. */
    nobody: boolean;
    /** The principal may perform this action (see auth/actions.ts). */
    can: Action;
    /** The object belongs to the principal's own tenant. */
    sameTenant: string;
    /** The principal belongs to a tenant (user or API key). */
    tenantPrincipal: boolean;
  };
  Scalars: {
    ID: { Input: string; Output: string };
    DateTime: { Input: Date; Output: Date };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
    /** Write-only: a credential's value, a Secret from the moment it is parsed; never serialised. */
    CredentialValue: { Input: Secret; Output: never };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [RelayPlugin, ScopeAuthPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // Subscriptions are authorized when they are opened (and, per event, by src/modules/live).
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      public: true,
      nobody: false,
      can: (action) => can(ctx.principal, action),
      sameTenant: (tenantId) => tenantOf(ctx.principal) === tenantId,
      tenantPrincipal: tenantOf(ctx.principal) !== undefined,
    }),
    unauthorizedError: (_parent, ctx) => (ctx.principal.kind === 'anonymous' ? unauthenticated('Authentication required') : forbidden()),
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // A node the caller cannot see is null, like a missing one; each such id is audited as a refusal (recordNodeMisses).
    nodeQueryOptions: {
      skipTypeScopes: true,
      authScopes: { tenantPrincipal: true },
      resolve: async (_root, { id }, ctx, info, resolveNode) => {
        const node = isResolvable(info.schema, id) ? await resolveNode(id) : null;
        recordNodeMisses(ctx, 'node', [id], [node]);
        return node;
      },
    },
    nodesQueryOptions: {
      skipTypeScopes: true,
      authScopes: { tenantPrincipal: true },
      resolve: async (_root, args, ctx, info, resolveNodes) => {
        const { ids } = args;
        const known = ids.filter((id) => isResolvable(info.schema, id));
        // Pothos's resolveNodes loads `args.ids` whatever it is handed: only the resolvable ids may
        // reach a loader (a non-uuid id beside a good one was a 500).
        args.ids = known;
        const found = known.length > 0 ? await resolveNodes(known) : [];
        const nodes = ids.map((id) => (isResolvable(info.schema, id) ? (found[known.indexOf(id)] ?? null) : null));
        recordNodeMisses(ctx, 'nodes', ids, nodes);
        return nodes;
      },
    },
    decodeGlobalID: decodeGlobalId,
    encodeGlobalID: encodeGlobalId,
  },
});

/**
 * Every node's id is a uuid (newId()); any other id is a missing node, answered null like one,
 * before it reaches a loader (User's passed 'garbage' to Postgres: a 500, found by test/fuzz.test.ts).
 */
function isResolvable(schema: GraphQLSchema, id: { typename: string; id: string }): boolean {
  return isNodeType(schema, id.typename) && isUuid(id.id);
}

/**
 * Whether a global id's typename names an object type implementing Node. Any other name (the Node
 * interface itself, Query, a scalar, an unknown name) is a missing node, answered null like one;
 * handed to the relay plugin it raised a schema error, answered 500 (found by test/fuzz.test.ts).
 */
function isNodeType(schema: GraphQLSchema, typename: string): boolean {
  const type = schema.getType(typename);
  // By constructor name, not instanceof: under vitest the schema's copy of graphql may not be this file's.
  if (type?.constructor.name !== 'GraphQLObjectType') return false;
  return (type as GraphQLObjectType).getInterfaces().some((each) => each.name === 'Node');
}

builder.queryType({ authScopes: { nobody: true } });
builder.mutationType({ authScopes: { nobody: true } });
builder.subscriptionType({ authScopes: { nobody: true } });
