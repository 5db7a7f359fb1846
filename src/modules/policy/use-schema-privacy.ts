import type { ASTVisitor, DocumentNode, FieldNode, GraphQLSchema, ValidationContext } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Principal } from '../../auth/principal.ts';
import { settledPrincipalOf } from '../../request/authenticate.ts';
import { documentedSchemaFor } from './documented-schema.ts';

const SUGGESTION = / ?Did you mean .*\?$/;
const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

/**
 * Who sees which schema. Operators see all of it. A signed-in tenant user sees, by introspection
 * (GraphiQL's documentation), the fields its role may use and nothing else (documentedSchemaFor),
 * and sends introspection alone, never beside data fields, so the whole operation runs against
 * that smaller schema. Everyone else (anonymous callers, API keys, support grants, agents) gets no
 * introspection: `__schema` and `__type` are a FORBIDDEN validation error. For all but operators
 * "Did you mean …?" suggestions are cut from error messages, so probing field names teaches nothing.
 * `__typename` stays available to every client.
 */
export function useSchemaPrivacy(): Plugin {
  return {
    onValidate({ context, addValidationRule }) {
      const principal = principalOfContext(context);
      if (principal?.kind === 'operator') return;
      addValidationRule(principal?.kind === 'user' ? introspectionAlone : noIntrospection);
      return ({ result, setResult }) => {
        if (result.length === 0) return;
        setResult(
          result.map((error) => {
            if (!SUGGESTION.test(error.message)) return error;
            const masked = Object.create(Object.getPrototypeOf(error)) as typeof error;
            Object.assign(masked, error, { message: error.message.replace(SUGGESTION, '') });
            return masked;
          }),
        );
      };
    },
    onExecute({ args, executeFn, setExecuteFn }) {
      const principal = principalOfContext(args.contextValue);
      if (principal?.kind !== 'user' || !hasIntrospection(args.document)) return;
      const schema = documentedSchemaFor(args.schema as GraphQLSchema, principal.role);
      setExecuteFn((executionArgs) => executeFn({ ...executionArgs, schema }));
    },
  };
}

function principalOfContext(context: unknown): Principal | undefined {
  const request = (context as { request?: Request } | undefined)?.request;
  return request === undefined ? undefined : settledPrincipalOf(request);
}

/** Answers of hasIntrospection per parsed document: yoga's parse cache hands every request of one operation the same object. */
const introspecting = new WeakMap<DocumentNode, boolean>();

/** Whether a document asks `__schema` or `__type` anywhere: its operations and fragments, selection by selection. */
function hasIntrospection(document: DocumentNode): boolean {
  type Node = { kind: string; name?: { value: string }; selectionSet?: { selections: readonly Node[] } };
  const visit = (node: Node): boolean =>
    (node.kind === 'Field' && INTROSPECTION_FIELDS.has(node.name?.value ?? '')) || (node.selectionSet?.selections.some(visit) ?? false);
  let answer = introspecting.get(document);
  if (answer === undefined) {
    answer = (document.definitions as readonly Node[]).some(visit);
    introspecting.set(document, answer);
  }
  return answer;
}

/**
 * graphql's own NoSchemaIntrospectionCustomRule checks types with instanceof, which fails when two
 * copies of `graphql` are loaded (vitest); this one looks at field names only.
 */
function noIntrospection(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      if (INTROSPECTION_FIELDS.has(node.name.value)) {
        context.reportError(
          createGraphQLError('Introspection is not available to this principal', { nodes: [node], extensions: { code: 'FORBIDDEN' } }),
        );
      }
    },
  };
}

/**
 * A user's introspection runs against its role's schema, so it may not share an operation with
 * data fields (those would run against that schema too): an operation that asks both is refused.
 */
function introspectionAlone(context: ValidationContext): ASTVisitor {
  const schema = context.getSchema();
  const roots = new Set([schema.getQueryType()?.name, schema.getMutationType()?.name, schema.getSubscriptionType()?.name]);
  let introspection: FieldNode | undefined;
  let dataField = false;
  return {
    Field(node) {
      if (INTROSPECTION_FIELDS.has(node.name.value)) introspection ??= node;
      else if (node.name.value !== '__typename' && roots.has(context.getParentType()?.name)) dataField = true;
    },
    Document: {
      leave() {
        if (introspection && dataField) {
          context.reportError(
            createGraphQLError('Send introspection in an operation of its own', {
              nodes: [introspection],
              extensions: { code: 'FORBIDDEN' },
            }),
          );
        }
      },
    },
  };
}
