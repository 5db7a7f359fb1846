import type { Plugin } from 'graphql-yoga';
import { tenantOf } from '../auth/principal.ts';
import type { Context, RequestContext } from '../context.ts';
import type { Metrics } from './metrics.ts';

const DENIALS = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'TENANT_FROZEN', 'PERSISTED_QUERY_ONLY', 'RATE_LIMITED']);

/**
 * One log line and the counters per executed operation: name, principal kind, tenant, error
 * codes and duration, with the request id from the context's logger. Never variables or headers:
 * they may hold secrets.
 */
export function useObservability(metrics: Metrics): Plugin<RequestContext> {
  return {
    onExecute({ args }) {
      const started = performance.now();
      const ctx = args.contextValue as Context;
      return {
        onExecuteDone({ result }) {
          const codes = 'errors' in result ? (result.errors?.map((error) => String(error.extensions?.code ?? 'INTERNAL')) ?? []) : [];
          const tenant = tenantOf(ctx.principal) ?? ctx.principal.kind;
          metrics.operations.inc({ tenant, outcome: codes.length === 0 ? 'ok' : 'error' });
          for (const code of codes) {
            if (DENIALS.has(code)) metrics.denials.inc({ tenant, code });
            if (code === 'NOT_FOUND') metrics.crossTenantAttempts.inc({ tenant });
          }
          ctx.log.info(
            { operation: args.operationName ?? 'anonymous', errors: codes, ms: Math.round((performance.now() - started) * 10) / 10 },
            'operation executed',
          );
        },
      };
    },
  };
}
