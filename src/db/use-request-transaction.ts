import { type DocumentNode, type ExecutionArgs, type GraphQLError, getOperationAST } from 'graphql';

import type { Plugin } from 'graphql-yoga';
import type { Context, RequestContext } from '../context.ts';
import { unauthenticated } from '../shared/errors.ts';
import { enterAgentRequest, enterUserRequest } from './request-scope.ts';

class RollbackForErrors extends Error {}
class TokenNotLive extends Error {}

export interface RequestTransactionOptions {
  /** Runs in the transaction after an error-free execution, before commit; if it throws, nothing commits. */
  beforeCommit?: (ctx: Context, args: ExecutionArgs) => Promise<void>;
  /** Runs after a rollback for errors, outside the rolled-back transaction (the audit trail records refusals here). */
  afterRollback?: (ctx: Context, args: ExecutionArgs, result: { errors?: readonly GraphQLError[] }) => Promise<void>;
  /** Benchmarks only: see ContextDeps.withoutSessionCheck. */
  withoutUserTokenCheck?: boolean;
}

/**
 * Runs each operation's execution in one database transaction on the request's EntityManager:
 * one `begin; set_config(…, true)` per request instead of one per query, and a single unit of
 * work for a mutation and its audit event. GraphQL does not abort an operation when a resolver
 * throws, so a result carrying any error is rolled back: nothing half-done is committed.
 * A query's unit of work is cleared before commit: a read never writes, and the commit skips
 * computing change sets for every entity it loaded. A user's or an agent's transaction opens with
 * its token's liveness check (`enterUserRequest`, `enterAgentRequest`): a revoked token executes
 * nothing and is answered 401.
 */
export function useRequestTransaction(options: RequestTransactionOptions = {}): Plugin<RequestContext> {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const ctx = args.contextValue as Context;
        let result: Awaited<ReturnType<typeof executeFn>> | undefined;
        try {
          await ctx.em.transactional(async (em) => {
            // A token is live only while its user (active, same version, live session) or its agent
            // (same generation) still says so: checked here, in the request's own transaction, in
            // the statement that sets its RLS settings.
            if (!(await tokenIsLive(em, ctx.principal, options.withoutUserTokenCheck))) throw new TokenNotLive();
            ctx.em = em;
            result = await executeFn(args);
            if (result && 'errors' in result && result.errors?.length) throw new RollbackForErrors();
            if (getOperationAST(args.document as DocumentNode, args.operationName)?.operation === 'query') em.clear();
            await options.beforeCommit?.(ctx, args);
          });
        } catch (error) {
          if (error instanceof TokenNotLive) {
            ctx.log.info({ credential: 'token' }, 'authentication refused');
            throw unauthenticated();
          }
          if (!(error instanceof RollbackForErrors)) throw error;
          if (result && 'errors' in result) await options.afterRollback?.(ctx, args, result);
        }
        return result as Awaited<ReturnType<typeof executeFn>>;
      });
    },
  };
}

function tokenIsLive(em: Context['em'], principal: Context['principal'], skipUsers = false): Promise<boolean> | boolean {
  if (principal.kind === 'agent') return enterAgentRequest(em, principal);
  if (principal.kind === 'user' && !skipUsers) return enterUserRequest(em, principal);
  return true;
}
