import type { Plugin } from 'graphql-yoga';
import type { Context, RequestContext } from '../context.ts';

/**
 * One log line per executed operation: name, principal kind, tenant, outcome and duration, with
 * the request id from the context's child logger. Never variables or headers: they may hold secrets.
 */
export function useRequestLog(): Plugin<RequestContext> {
  return {
    onExecute({ args }) {
      const started = performance.now();
      const ctx = args.contextValue as Context;
      return {
        onExecuteDone({ result }) {
          const errors = 'errors' in result ? (result.errors?.map((error) => error.extensions?.code ?? 'INTERNAL') ?? []) : [];
          ctx.log.info(
            { operation: args.operationName ?? 'anonymous', errors, ms: Math.round((performance.now() - started) * 10) / 10 },
            'operation executed',
          );
        },
      };
    },
  };
}
