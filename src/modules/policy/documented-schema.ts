import { MapperKind, mapSchema, pruneSchema } from '@graphql-tools/utils';
import type { GraphQLArgument, GraphQLField, GraphQLNamedType, GraphQLSchema } from 'graphql';
import { can } from '../../auth/actions.ts';
import { type Principal, tenantOf, type UserRole } from '../../auth/principal.ts';

/** A Pothos scope map (`{ can: 'agent.read' }`, `{ $all: { … } }`, `{ $any: { … } }`) or a function returning one. */
type Scopes = Record<string, unknown> | boolean | ((...args: unknown[]) => unknown);

const cache = new WeakMap<GraphQLSchema, Map<UserRole, GraphQLSchema>>();

/**
 * The schema a tenant user's introspection (GraphiQL's documentation) shows: only the fields the
 * user's role may use, and the types they reach. Built once per schema and role.
 *
 * Authorization decision: documentation follows the action catalogue (auth/actions.ts) through the
 * resolver scopes the schema itself declares, so it cannot drift from what runs. A field is shown
 * when its own scopes and the scopes of the object type it returns would let this role through:
 * `can` asks the catalogue for the role, `sameTenant` and `tenantPrincipal` hold (a user reads its
 * own tenant), `public` holds, `nobody` and any unknown scope do not (fail closed). A scope function
 * (decided per call from its arguments) is evaluated for the field's plainest call: no argument
 * given, input objects empty, e.g. `publishDocuments(input: { platform: false })`; one that throws
 * or answers asynchronously hides the field. Hiding a field is documentation only: the scopes still
 * decide every call, so a field shown by mistake still refuses, and one hidden by mistake still runs.
 */
export function documentedSchemaFor(schema: GraphQLSchema, role: UserRole): GraphQLSchema {
  let byRole = cache.get(schema);
  if (!byRole) {
    byRole = new Map();
    cache.set(schema, byRole);
  }
  let documented = byRole.get(role);
  if (!documented) {
    documented = filterByRole(schema, role);
    byRole.set(role, documented);
  }
  return documented;
}

function filterByRole(schema: GraphQLSchema, role: UserRole): GraphQLSchema {
  // Any tenant id stands for "the user's own tenant": only `sameTenant`/`tenantPrincipal` look at it.
  const principal: Principal = { kind: 'user', tenantId: 'documented', userId: 'documented', role };
  /** An object of the user's own tenant, as a type's scope function receives it. */
  const ownObject = { tenantId: principal.tenantId };
  const original = (typeName: string, fieldName: string) =>
    (schema.getType(typeName) as { getFields(): Record<string, GraphQLField<unknown, unknown>> }).getFields()[fieldName];
  // Root types carry the `nobody` default-deny scope; their fields decide for themselves (skipTypeScopes).
  const roots = new Set([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].map((type) => type?.name));
  const typeAllowed = (type: GraphQLNamedType | undefined) => {
    const scopes = type && !roots.has(type.name) ? pothosScopes(type.extensions) : undefined;
    return scopes === undefined || allows(evaluate(scopes, [ownObject, { principal }]), principal);
  };
  const filtered = mapSchema(schema, {
    // A type the role may not read is gone with every field that returns it (the Node interface would keep it otherwise).
    [MapperKind.OBJECT_TYPE]: (type) => (typeAllowed(type) ? type : null),
    [MapperKind.OBJECT_FIELD]: (config, fieldName, typeName) => {
      const field = original(typeName, fieldName);
      if (!field) return config;
      const scopes = pothosScopes(field.extensions);
      const fieldAllowed = scopes === undefined || allows(evaluate(scopes, [undefined, plainArgs(field.args), { principal }]), principal);
      return fieldAllowed && typeAllowed(namedTypeOf(field.type)) ? config : null;
    },
  });
  return pruneSchema(filtered);
}

function pothosScopes(extensions: unknown): Scopes | undefined {
  return (extensions as { pothosOptions?: { authScopes?: Scopes } } | undefined)?.pothosOptions?.authScopes;
}

/** A scope function's answer for these arguments; `false` when it throws or is asynchronous (fail closed). */
function evaluate(scopes: Scopes, args: unknown[]): unknown {
  if (typeof scopes !== 'function') return scopes;
  try {
    const answer = scopes(...args);
    return answer instanceof Promise ? false : answer;
  } catch {
    return false;
  }
}

/** Pothos semantics: a map passes when any of its scopes does (`$any`), or all of them under `$all`. */
function allows(scopes: unknown, principal: Principal): boolean {
  if (typeof scopes === 'boolean') return scopes;
  if (typeof scopes !== 'object' || scopes === null) return false;
  return anyOf(scopes as Record<string, unknown>, principal);
}

function anyOf(map: Record<string, unknown>, principal: Principal): boolean {
  return Object.entries(map).some(([scope, value]) => holds(scope, value, principal));
}

function holds(scope: string, value: unknown, principal: Principal): boolean {
  switch (scope) {
    case '$any':
      return typeof value === 'object' && value !== null && anyOf(value as Record<string, unknown>, principal);
    case '$all':
      return (
        typeof value === 'object' &&
        value !== null &&
        Object.entries(value as Record<string, unknown>).every(([each, inner]) => holds(each, inner, principal))
      );
    case 'public':
      return value === true;
    case 'can':
      return can(principal, value as Parameters<typeof can>[1]);
    case 'sameTenant':
    case 'tenantPrincipal':
      return tenantOf(principal) !== undefined;
    default:
      return false;
  }
}

/** The arguments of a call that gives none: input objects empty (so `input.platform` reads undefined), the rest absent. */
function plainArgs(args: readonly GraphQLArgument[]): Record<string, unknown> {
  return Object.fromEntries(
    args.filter((arg) => namedTypeOf(arg.type)?.constructor.name === 'GraphQLInputObjectType').map((arg) => [arg.name, {}]),
  );
}

/** The named type under lists and non-nulls; by shape, not instanceof (two copies of graphql under vitest). */
function namedTypeOf(type: unknown): GraphQLNamedType | undefined {
  let current = type as { ofType?: unknown; name?: string };
  while (current.ofType) current = current.ofType as typeof current;
  return current.name ? (current as GraphQLNamedType) : undefined;
}
