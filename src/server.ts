import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { GraphqlFetch } from './console/console-session.ts';
import { useConsole } from './console/serve-console.ts';
import { databaseBusyError } from './db/database-faults.ts';
import { auditTrail, recordRefusedInput, useAuditedRefusals } from './modules/audit/index.ts';
import { GRAPHIQL_OPTIONS, renderBundledGraphiQL, useGraphiQLAssets } from './modules/graphiql/index.ts';
import { type LiveUpdates, useLiveUpdates } from './modules/live/index.ts';
import {
  armor,
  DEFAULT_MAX_COST,
  DEFAULT_PAGE_SIZE,
  type RateLimits,
  type TrustedDocumentLookup,
  useCostLimit,
  useInputSanitising,
  useOperatorEndpoints,
  useRateLimit,
  useRequestBodyLimit,
  useSchemaPrivacy,
  useTrustedDocuments,
} from './modules/policy/index.ts';
import { useCommittedTenantPolicies, useDeletionGrace } from './modules/tenants/index.ts';
import { principalOf } from './request/authenticate.ts';
import { type ContextDeps, createContextFactory, type RequestContext } from './request/context.ts';
import { useCompiledReads } from './request/use-compiled-reads.ts';
import { useObservability } from './request/use-observability.ts';
import { useRequestTransaction } from './request/use-request-transaction.ts';
import { buildSchema } from './schema.ts';
import { badInput, internalError, isGraphQLError, withoutInternals } from './shared/errors.ts';
import type { Readiness } from './shared/readiness.ts';

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
export interface ServerDeps extends Omit<ContextDeps, 'documentCost'> {
  /** The published client apps' trusted documents (src/modules/documents). */
  documents: TrustedDocumentLookup;
  policy: PolicyOptions;
  /** The per-tenant limits, shared with the agent channel's memory requests (built from `policy`). */
  rateLimits: RateLimits;
  /** What `/readyz` answers (draining, database, freeze feed); absent: the access gate alone. */
  readiness?: Readiness;
  /** `false` (METRICS_ENABLED=false): requests record no metrics; the per-operation log line stays. Default true. */
  recordMetrics?: boolean;
  /** This replica's live updates (subscriptions); absent: subscriptions answer SERVICE_UNAVAILABLE. */
  live?: LiveUpdates;
}

/** Builds the gateway from its dependencies; no globals, so every test builds its own. */
export function createServer(deps: ServerDeps) {
  const schema = buildSchema({ disableScopeAuth: deps.testing?.disableScopeAuth ?? false });
  const log = deps.log.child({ component: 'graphql' });
  const documentCost = { maxCost: deps.policy.maxCost ?? DEFAULT_MAX_COST, defaultPageSize: DEFAULT_PAGE_SIZE };
  const auth = { regions: deps.regions, tokens: deps.tokens, log: deps.log };
  // biome-ignore lint/suspicious/noExplicitAny: yoga, envelop and armor plugins differ only in their context type parameter.
  const policies: Plugin<any>[] = deps.testing?.withoutPolicies
    ? []
    : [
        useCodedCSRFPrevention(),
        useTrustedDocuments({ auth, mode: deps.policy.mode, registry: deps.documents }),
        armor,
        useRateLimit(deps.rateLimits),
        useCostLimit(documentCost),
      ];
  // The console's session endpoints run its session operations through this server, every plugin included.
  const graphql: GraphqlFetch = (request, serverContext) => yoga.fetch(request, serverContext);
  const yoga = createYoga<Record<string, never>, RequestContext>({
    schema,
    context: createContextFactory({ ...deps, documentCost }),
    graphqlEndpoint: '/graphql',
    healthCheckEndpoint: '/livez',
    landingPage: false,
    graphiql: GRAPHIQL_OPTIONS,
    renderGraphiQL: renderBundledGraphiQL,
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
        if (isGraphQLError(original)) return withoutInternals(original);
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
      // The console's page and session endpoints, answered before any GraphQL handling.
      useConsole({ graphql, oidc: { keys: deps.oidc, regions: deps.regions, log: deps.log.child({ component: 'console' }) } }),
      useGraphiQLAssets(),
      useRequestBodyLimit(deps.policy.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES),
      useOperatorEndpoints({ gate: deps.gate, metrics: deps.metrics, auth, readiness: deps.readiness }),
      useAuthenticateEarly(auth),
      // First of the plugins around execution: graphql-jit replaces the execute function it is handed, so the others wrap it.
      useCompiledReads(log),
      useSchemaPrivacy(),
      useDeletionGrace(),
      ...policies,
      // Not a policy: without it, a NUL reaches Postgres and the request fails with a 500 and no audit trace.
      useInputSanitising({
        maxDocumentCharacters: deps.policy.maxDocumentCharacters ?? DEFAULT_MAX_DOCUMENT_CHARACTERS,
        onRefusal: recordRefusedInput,
      }),
      useObservability(deps.metrics, { recordMetrics: deps.recordMetrics ?? true }),
      useAuditedRefusals({ auth, log: deps.log, metrics: deps.metrics }),
      useCommittedTenantPolicies(deps.gate.policies),
      useLiveUpdates(deps.live),
      useRequestTransaction({ ...auditTrail, testing: deps.testing }),
    ],
  });
  return yoga;
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
