import type { ASTVisitor, ValidationContext } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { settledPrincipalOf } from '../../request/authenticate.ts';

const SUGGESTION = / ?Did you mean .*\?$/;

/**
 * Only operators see the schema: for everyone else introspection (`__schema`, `__type`) is a
 * validation error and "Did you mean …?" suggestions are cut from error messages, so probing
 * field names teaches nothing. `__typename` stays available to every client.
 */
export function useSchemaPrivacy(): Plugin {
  return {
    onValidate({ context, addValidationRule }) {
      const request = (context as { request?: Request }).request;
      const isOperator = request !== undefined && settledPrincipalOf(request)?.kind === 'operator';
      if (isOperator) return;
      addValidationRule(noIntrospection);
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
  };
}

/**
 * graphql's own NoSchemaIntrospectionCustomRule checks types with instanceof, which fails when two
 * copies of `graphql` are loaded (vitest); this one looks at field names only.
 */
function noIntrospection(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        context.reportError(
          createGraphQLError('Introspection is not available to this principal', { nodes: [node], extensions: { code: 'FORBIDDEN' } }),
        );
      }
    },
  };
}
