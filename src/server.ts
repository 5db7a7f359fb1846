import type { MikroORM } from '@mikro-orm/postgresql';
import type { GraphQLSchema } from 'graphql';
import { createYoga } from 'graphql-yoga';
import type { Keyring } from './auth/keyring.ts';
import type { TokenIssuer } from './auth/tokens.ts';
import { createContextFactory, type RequestContext } from './context.ts';
import { useRequestTransaction } from './db/use-request-transaction.ts';
import { auditTrail } from './modules/audit/audit-trail.ts';
import { buildSchema } from './schema.ts';
import { badInput, internalError, isGraphQLError } from './shared/errors.ts';
import type { Logger } from './shared/logger.ts';
import { useRequestLog } from './shared/use-request-log.ts';

export interface ServerDeps {
  orm: MikroORM;
  tokens: TokenIssuer;
  /** The keyring's audit signing key (reports, retention checkpoints). */
  auditKey: Keyring['auditKey'];
  log: Logger;
  /** Tests only: build the schema without wall 1 to show the other walls hold alone. */
  disableScopeAuth?: boolean;
}

/** Builds the gateway from its dependencies; no globals, so every test builds its own. */
export function createServer(deps: ServerDeps) {
  const schema: GraphQLSchema = buildSchema({ disableScopeAuth: deps.disableScopeAuth ?? false });
  const log = deps.log.child({ component: 'graphql' });
  return createYoga<Record<string, never>, RequestContext>({
    schema,
    context: createContextFactory(deps),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: {
      debug: (...args) => log.debug({ args }, 'yoga'),
      info: (...args) => log.info({ args }, 'yoga'),
      warn: (...args) => log.warn({ args }, 'yoga'),
      error: (...args) => log.error({ args }, 'yoga'),
    },
    maskedErrors: {
      maskError(error, message) {
        const original = isGraphQLError(error) ? (error.originalError ?? error) : error;
        if (isGraphQLError(original)) return original;
        // Pothos rejects malformed connection arguments and IDs of the wrong type with a validation error.
        if (original instanceof Error && original.name === 'PothosValidationError') return badInput(original.message.slice(0, 200));
        log.error({ err: original }, 'unexpected error');
        return internalError(message);
      },
    },
    plugins: [useRequestLog(), useRequestTransaction(auditTrail)],
  });
}
