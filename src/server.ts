import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import type { GraphQLError } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import { principalOf } from './auth/authenticate.ts';
import { type ContextDeps, createContextFactory, type RequestContext } from './context.ts';
import { databaseBusyError } from './db/database-faults.ts';
import { useRequestTransaction } from './db/use-request-transaction.ts';
import { auditTrail, recordRefusedInput } from './modules/audit/audit-trail.ts';
import { useAuditedRefusals } from './modules/audit/use-audited-refusals.ts';
import type { RateLimits } from './modules/policy/rate-limits.ts';
import { useCostLimit } from './modules/policy/use-cost-limit.ts';
import { useInputSanitising } from './modules/policy/use-input-sanitising.ts';
import { useOperatorEndpoints } from './modules/policy/use-operator-endpoints.ts';
import { useRateLimit } from './modules/policy/use-rate-limit.ts';
import { useRequestBodyLimit } from './modules/policy/use-request-body-limit.ts';
import { useSchemaPrivacy } from './modules/policy/use-schema-privacy.ts';
import { useTrustedDocuments } from './modules/policy/use-trusted-documents.ts';
import { useCommittedTenantPolicies } from './modules/tenants/tenant-policy-watcher.ts';
import { useDeletionGrace } from './modules/tenants/use-deletion-grace.ts';
import { buildSchema } from './schema.ts';
import { badInput, internalError, isGraphQLError } from './shared/errors.ts';
import type { Readiness } from './shared/readiness.ts';
import { useObservability } from './shared/use-observability.ts';

export interface PolicyOptions {
  /** See useTrustedDocuments: who may send operations outside the manifest. */
  mode: 'development' | 'production';
  tenantRateLimitPerMinute: number;
  apiKeyRateLimitPerMinute: number;
  /** Shared rate-limit counters across replicas. */
  redis?: Redis;
  /** Highest operation cost (see useCostLimit); default 3,000: one 100-item page of ten fields costs about 1,200. */
  maxCost?: number;
  /** Largest request body in bytes, answered with 413 beyond; default DEFAULT_MAX_REQUEST_BYTES. */
  maxRequestBytes?: number;
  /** Self-service sign-up (see SignUpPolicy); default `open` in development, `invite` in production. */
  signUp?: 'open' | 'invite' | 'closed';
  /** Sign-ups per client address per hour; default 10. */
  signUpPerIpPerHour?: number;
  /** Longest document in characters, refused before parsing; default DEFAULT_MAX_DOCUMENT_CHARACTERS. */
  maxDocumentCharacters?: number;
}

/**
 * 10,000 characters: five times GraphiQL's introspection query (about 2,100), fifty times the
 * longest trusted document; a comment or an operation name can no longer make a document of any
 * length (comments are not tokens, so the token limit alone does not bound them).
 */
export const DEFAULT_MAX_DOCUMENT_CHARACTERS = 10_000;

/**
 * 4 MiB: room for the largest memory value a tenant may allow (1 MiB) in a request, far below
 * yoga's own default (25 MB), which would let every request make the gateway buffer and parse 25 MB.
 */
export const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** What each request's context is built from (see ContextDeps), plus the request policies. */
export interface ServerDeps extends ContextDeps {
  policy: PolicyOptions;
  /** The per-tenant limits, shared with the agent channel's memory requests (built from `policy`). */
  rateLimits: RateLimits;
  /** Tests only: build the schema without wall 1 to show the other walls hold alone. */
  disableScopeAuth?: boolean;
  /** What `/readyz` answers (draining, database, freeze feed); absent: the access gate alone. */
  readiness?: Readiness;
  /** Benchmarks only: drop the request policies (trusted documents, limits, rate limits, CSRF) to measure their cost. */
  withoutPolicies?: boolean;
}

/** graphql-armor's refusals carry no code of their own: they get the one of every other document refusal. */
const codeRefusal = [
  (_context: unknown, error: GraphQLError) => {
    const extensions = error.extensions as Record<string, unknown>;
    extensions.code ??= 'GRAPHQL_VALIDATION_FAILED';
  },
];

/** Limits whose messages never disclose the threshold. Depth and tokens leave room for GraphiQL's introspection. */
const armor = EnvelopArmorPlugin({
  maxDepth: { n: 12, exposeLimits: false, ignoreIntrospection: true, onReject: codeRefusal },
  maxAliases: { n: 15, exposeLimits: false, onReject: codeRefusal },
  maxDirectives: { n: 20, exposeLimits: false, onReject: codeRefusal },
  maxTokens: { n: 4_000, exposeLimits: false, onReject: codeRefusal },
  costLimit: { enabled: false }, // replaced by useCostLimit, which knows page sizes
  blockFieldSuggestion: { enabled: false }, // per principal in useSchemaPrivacy
});

/** Builds the gateway from its dependencies; no globals, so every test builds its own. */
export function createServer(deps: ServerDeps) {
  const schema = buildSchema({ disableScopeAuth: deps.disableScopeAuth ?? false });
  const log = deps.log.child({ component: 'graphql' });
  const auth = { regions: deps.regions, tokens: deps.tokens, log: deps.log };
  // biome-ignore lint/suspicious/noExplicitAny: yoga, envelop and armor plugins differ only in their context type parameter.
  const policies: Plugin<any>[] = deps.withoutPolicies
    ? []
    : [
        useCodedCSRFPrevention(),
        useTrustedDocuments({ auth, mode: deps.policy.mode }),
        armor,
        useRateLimit(deps.rateLimits),
        useCostLimit({ maxCost: deps.policy.maxCost ?? 3_000, defaultPageSize: 20 }),
      ];
  return createYoga<Record<string, never>, RequestContext>({
    schema,
    context: createContextFactory(deps),
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/livez',
    landingPage: false,
    graphiql: { title: 'Fleetgate', defaultQuery: '# Send your token in the Headers tab: {"Authorization": "Bearer …"}\n' },
    batching: { limit: 5 },
    maxRequestBodySize: false, // useRequestBodyLimit below, without a stream per request
    logging: {
      debug: (...args) => log.debug({ args }, 'yoga'),
      info: (...args) => log.info({ args }, 'yoga'),
      warn: (...args) => log.warn({ args }, 'yoga'),
      // Yoga reports every GraphQL error here; the ones answered to a client on purpose are not server errors.
      error: (...args) => (args.every(isClientAnswer) ? log.debug({ args }, 'yoga') : log.error({ args }, 'yoga')),
    },
    maskedErrors: {
      maskError(error, message) {
        const original = isGraphQLError(error) ? (error.originalError ?? error) : error;
        if (isGraphQLError(original)) return original;
        // A lock held too long, a statement past its limit, no free connection: a fast 503, not a masked 500.
        const busy = databaseBusyError(original);
        if (busy) {
          log.warn({ err: original }, 'database busy');
          deps.metrics.databaseBusy.inc({ limit: String(busy.extensions.limit) });
          return busy;
        }
        // Pothos rejects malformed connection arguments and IDs of the wrong type with a validation error.
        if (original instanceof Error && original.name === 'PothosValidationError') return badInput(original.message.slice(0, 200));
        log.error({ err: original }, 'unexpected error');
        return internalError(message);
      },
    },
    plugins: [
      useRequestBodyLimit(deps.policy.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES),
      useOperatorEndpoints({ gate: deps.gate, metrics: deps.metrics, auth, readiness: deps.readiness }),
      useAuthenticateEarly(auth),
      useSchemaPrivacy(),
      useDeletionGrace(),
      ...policies,
      // Not a policy: without it, a NUL reaches Postgres and the request fails with a 500 and no audit trace.
      useInputSanitising({
        maxDocumentCharacters: deps.policy.maxDocumentCharacters ?? DEFAULT_MAX_DOCUMENT_CHARACTERS,
        onRefusal: recordRefusedInput,
      }),
      useObservability(deps.metrics),
      useAuditedRefusals({ auth, log: deps.log, metrics: deps.metrics }),
      useCommittedTenantPolicies(deps.gate.policies),
      useRequestTransaction({ ...auditTrail, withoutUserTokenCheck: deps.withoutSessionCheck }),
    ],
  });
}

/** Authenticates as soon as the parameters are parsed, so synchronous validation hooks know the principal. */
function useAuthenticateEarly(auth: Parameters<typeof principalOf>[1]): Plugin {
  return {
    async onParams({ request }) {
      await principalOf(request, auth).catch(() => undefined); // refused with 401 when the context is built
    },
  };
}

/** yoga's CSRF check, its refusal (403) given a code like every other refusal. */
function useCodedCSRFPrevention(): Plugin {
  const plugin = useCSRFPrevention({ requestHeaders: ['x-graphql-csrf'] });
  const check = plugin.onRequestParse;
  return {
    ...plugin,
    onRequestParse(payload) {
      try {
        return check?.(payload);
      } catch (error) {
        if (isGraphQLError(error)) (error.extensions as Record<string, unknown>).code ??= 'CSRF_HEADER_MISSING';
        throw error;
      }
    },
  };
}

function isClientAnswer(value: unknown): boolean {
  return isGraphQLError(value) && value.extensions?.code !== undefined && value.extensions.code !== 'INTERNAL_SERVER_ERROR';
}
