import type { ExecutionArgs } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context, RequestContext } from '../../request/context.ts';
import { auditTrail } from '../audit/audit-trail.ts';
import type { LiveUpdates } from './live-updates.ts';

/**
 * Hands this replica's live updates to every request's context (`ctx.live`), where the
 * subscription fields of live.schema.ts open their streams (without it, subscriptions answer
 * SERVICE_UNAVAILABLE), and puts a refused subscription on the record like a refused query: the
 * request transaction, which records those after its rollback, does not wrap subscriptions, so a
 * probe of another tenant's agent by subscription (NOT_FOUND) leaves the same DENIED event in the
 * caller's audit log.
 */
export function useLiveUpdates(live: LiveUpdates | undefined): Plugin<RequestContext> {
  return {
    onContextBuilding({ extendContext }) {
      if (live) extendContext({ live });
    },
    onSubscribe({ args }) {
      return {
        onSubscribeResult({ result }) {
          if (isAsyncIterable(result) || !result.errors?.length) return;
          const ctx = args.contextValue as Context;
          void auditTrail.afterRollback(ctx, args as ExecutionArgs, result).catch(() => undefined);
        },
      };
    },
  };
}
