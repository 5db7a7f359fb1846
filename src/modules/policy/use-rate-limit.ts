import type { Plugin } from 'graphql-yoga';
import type { Context, RequestContext } from '../../request/context.ts';
import type { RateLimits } from './rate-limits.ts';

/**
 * Counts GraphQL operations (a batch of five is five), not HTTP requests, against the principal's
 * tenant and API key (see RateLimits). Refusals are `RATE_LIMITED` with HTTP 429 and `Retry-After`.
 */
export function useRateLimit(limits: RateLimits): Plugin<RequestContext> {
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as Context;
      const refusal = await limits.admit(ctx.principal, { orm: ctx.region.orm, requestId: ctx.requestId, log: ctx.log });
      if (refusal) setResultAndStopExecution({ errors: [refusal] });
    },
  };
}
