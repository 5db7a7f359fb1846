import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context, RequestContext } from '../../request/context.ts';
import { wasCheckedBeforeExecution } from './checked-before-execution.ts';
import type { RateLimits } from './rate-limits.ts';

/**
 * Counts GraphQL operations (a batch of five is five), not HTTP requests, against the principal's
 * tenant and API key (see RateLimits); a subscription counts when it is opened. Refusals are
 * `RATE_LIMITED` with HTTP 429 and `Retry-After`.
 */
export function useRateLimit(limits: RateLimits): Plugin<RequestContext> {
  const admit = async (args: { contextValue: unknown }, refuse: (result: { errors: GraphQLError[] }) => void) => {
    const ctx = args.contextValue as Context;
    if (wasCheckedBeforeExecution(ctx)) return;
    const refusal = await limits.admit(ctx.principal, { orm: ctx.region.orm, requestId: ctx.requestId, log: ctx.log });
    if (refusal) refuse({ errors: [refusal] });
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => admit(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => admit(args, setResultAndStopExecution),
  };
}
