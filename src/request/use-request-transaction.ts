import type { IsolationLevel, PostgreSqlConnection } from '@mikro-orm/postgresql';
import { type DocumentNode, type ExecutionArgs, type GraphQLError, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type pg from 'pg';
import { LeanTransaction, leanOperationOf, UserTokenNotLive } from '../db/lean-transaction.ts';
import { enterAgentRequest, enterUserRequest } from '../db/request-scope.ts';
import { unauthenticated } from '../shared/errors.ts';
import type { Context, RequestContext, TestingSwitches } from './context.ts';

class RollbackForErrors extends Error {}
class TokenNotLive extends Error {}

export interface RequestTransactionOptions {
  /** Runs in the transaction after an error-free execution, before commit; if it throws, nothing commits. */
  beforeCommit?: (ctx: Context, args: ExecutionArgs) => Promise<void>;
  /** Runs after a rollback for errors, outside the rolled-back transaction (the audit trail records refusals here). */
  afterRollback?: (ctx: Context, args: ExecutionArgs, result: { errors?: readonly GraphQLError[] }) => Promise<void>;
  /** Benchmarks only: see TestingSwitches.withoutSessionCheck (read per request: bench/sessions.ts turns it on and off in one process). */
  testing?: Pick<TestingSwitches, 'withoutSessionCheck'>;
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
 *
 * A user's operation that the lean path serves in full (`leanOperationOf`: `agents` with fields of its
 * rows, or `updateAgent` of fields without effects beyond the row) opens no ORM transaction: each of
 * its statements is one round trip that carries the same settings and the same liveness check
 * (src/db/lean-transaction.ts); a write's transaction stays open until the answer is known, then
 * commits with its audit event, or rolls back when the answer carries any error. An operation that
 * sent nothing still checks the token before it is answered.
 */
export function useRequestTransaction(options: RequestTransactionOptions = {}): Plugin<RequestContext> {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn(async (args) => {
        const ctx = args.contextValue as Context;
        const lean =
          ctx.principal.kind === 'user' ? leanOperationOf(args.document, args.operationName, args.variableValues ?? {}) : undefined;
        if (ctx.principal.kind === 'user' && lean) {
          const transaction = new LeanTransaction(await poolOf(ctx), ctx.principal, ctx.tokenLiveness, {
            write: lean === 'mutation',
            withoutLivenessCheck: options.testing?.withoutSessionCheck,
          });
          ctx.lean = transaction;
          let result: Awaited<ReturnType<typeof executeFn>> | undefined;
          try {
            result = await executeFn(args);
            await (transaction.entered ? undefined : transaction.enter().catch(ignoreNotLive));
          } finally {
            // A write commits only an operation without errors, as the ORM path does (nothing for a read).
            await transaction.end(!transaction.refused && result !== undefined && !hasErrors(result));
          }
          if (transaction.refused) {
            ctx.log.info({ credential: 'token' }, 'authentication refused');
            throw unauthenticated();
          }
          // Refusals and failures are recorded as on the transaction path.
          if (hasErrors(result)) await options.afterRollback?.(ctx, args, result as { errors: readonly GraphQLError[] });
          return result;
        }
        let result: Awaited<ReturnType<typeof executeFn>> | undefined;
        try {
          await ctx.em.transactional(async (em) => {
            // A token is live only while its user (active, same version, live session) or its agent
            // (same generation) still says so: checked here, in the request's own transaction, in
            // the statement that sets its RLS settings.
            if (!(await tokenIsLive(em, ctx, options.testing?.withoutSessionCheck))) throw new TokenNotLive();
            ctx.em = em;
            result = await executeFn(args);
            if (hasErrors(result)) throw new RollbackForErrors();
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

/**
 * A transaction opened like a request's, outside an operation's execution (a subscription's set-up,
 * which useRequestTransaction does not wrap, and its later re-checks): the token's liveness is its
 * first statement, with the RLS settings; a token no longer live is answered UNAUTHENTICATED and
 * `work` never runs. `isolationLevel` REPEATABLE_READ makes every statement read the first one's
 * snapshot.
 */
export async function inTokenTransaction<T>(
  ctx: Pick<Context, 'em' | 'principal' | 'tokenLiveness'>,
  work: (em: Context['em']) => Promise<T>,
  options: { isolationLevel?: IsolationLevel } = {},
): Promise<T> {
  return ctx.em.transactional(async (em) => {
    if (!(await tokenIsLive(em, ctx))) throw unauthenticated();
    return work(em);
  }, options);
}

/** Whether an execution's result (not a stream: mutations and queries here) carries errors. */
function hasErrors(result: unknown): boolean {
  return (
    typeof result === 'object' && result !== null && 'errors' in result && ((result as { errors?: unknown[] }).errors?.length ?? 0) > 0
  );
}

function ignoreNotLive(error: unknown): void {
  if (!(error instanceof UserTokenNotLive)) throw error;
}

const pools = new WeakMap<object, pg.Pool>();

/** The ORM's own pool (its size, its timeouts, its clients): the lean path takes its connections from there. */
async function poolOf(ctx: Context): Promise<pg.Pool> {
  const connection = ctx.em.getConnection() as PostgreSqlConnection;
  let pool = pools.get(connection);
  if (!pool) {
    pool = (await connection.getNativeClient()) as unknown as pg.Pool;
    pools.set(connection, pool);
  }
  return pool;
}

function tokenIsLive(
  em: Context['em'],
  { principal, tokenLiveness }: Pick<Context, 'principal' | 'tokenLiveness'>,
  skipUsers = false,
): Promise<boolean> | boolean {
  if (principal.kind === 'agent') return enterAgentRequest(em, principal);
  if (principal.kind === 'user' && !skipUsers) return enterUserRequest(em, principal, tokenLiveness);
  return true;
}
